"""The Reports page: a report spec (workbench.query.report_specs) shown for one run of the store.

Pick a spec (shipped or saved) and a run; the page shows the spec's title and prose, then each
view in the spec's order with its prose, as the offline `workbench report --spec` does
(workbench.ui.report_views builds both). A spec or run that cannot be shown says why in one line.
Above them, a form saves the Explore page's layout as a new spec (save_view).
"""

from __future__ import annotations

from dash import Input, Output, dcc, html, no_update

from workbench.core.errors import UserError
from workbench.query.report_specs import load_spec, spec_names
from workbench.store import Store
from workbench.ui.dashboard import data, save_view
from workbench.ui.dashboard.layout import variant_options
from workbench.ui.dashboard.pages import Page, Site, StateField, register_page
from workbench.ui.dashboard.state import parse_state
from workbench.ui.report import Omissions
from workbench.ui.report_views import spec_items

__all__ = ["layout", "register", "render_spec", "PAGE", "STATE"]

PATH = "/reports"
STATE = (StateField("report", "reports-spec"), StateField("report_run", "reports-run"))
_GRAPH = {"displaylogo": False, "responsive": True}


def layout(site: Site) -> html.Div:
    store = site.store
    names = spec_names(store)
    runs = variant_options(store)
    return html.Div([
        html.Div([
            html.Label("Report spec", htmlFor="reports-spec"),
            dcc.Dropdown(id="reports-spec", options=[{"label": f"{n} ({w})", "value": n} for n, w in names.items()],
                         value=next(iter(names), None), clearable=False, style={"minWidth": "320px"}),
            html.Label("Run", htmlFor="reports-run"),
            dcc.Dropdown(id="reports-run", options=runs, value=runs[-1]["value"] if runs else None, clearable=False,
                         style={"minWidth": "420px"}),
        ], style={"display": "flex", "gap": "1em", "alignItems": "center", "flexWrap": "wrap"}),
        save_view.layout(site),
        html.Div(id="reports-body", style={"marginTop": "1em"}),
    ])


def _item(item) -> html.Div:  # a workbench.ui.report_views.SpecItem
    parts = [html.H3(item.head)]
    parts += [html.P(item.prose)] if item.prose else []
    parts.append(html.P(item.desc, className="desc", style={"color": "#666"}))
    parts.append(dcc.Graph(figure=item.figure, config=_GRAPH) if item.figure is not None
                 else html.P(item.note, style={"color": "#666"}))
    return html.Div(parts)


def render_spec(store: Store, name: str | None, vid: str | None) -> list:
    """The page body for spec `name` on run `vid`: title, prose and views, or one line saying why not."""
    if not name or not vid:
        return [html.P("Pick a report spec and a run (`workbench report --specs` lists the specs).")]
    try:
        _, spec = load_spec(store, str(name))
        key = data.resolve_variant(store, vid)
        items = spec_items(store, spec, store.read_variant(key).spec, Omissions())
    except UserError as err:
        return [html.P(str(err), style={"color": "#b00020"})]
    prose = [html.P(p) for p in spec.prose.split("\n\n") if p.strip()]
    return [html.H2(spec.title), *prose, *[_item(i) for i in items]]


def register(app, site: Site) -> None:
    """Attach the page's callbacks: the spec and run from the URL, the body (idle while the page is
    hidden), and saving the Explore layout."""
    store = site.store
    save_view.register(app, site)

    @app.callback(*[Output(f.component, f.prop) for f in STATE], Input("url", "search"))
    def _restore(search):
        state = parse_state(search, STATE)
        return tuple(state.get(f.key, no_update) for f in STATE)

    @app.callback(Output("reports-body", "children"), Input("reports-spec", "value"), Input("reports-run", "value"),
                  Input("url", "pathname"))
    def _show(name, vid, pathname):
        return render_spec(store, name, vid) if pathname == PATH else no_update


PAGE = register_page(Page("reports", PATH, "Reports", layout=layout, callbacks=register, state=STATE, order=25))
