"""Save the explore page's layout as a report view (issue 31 item 4), from the Reports page.

The layout is what the URL holds for the explore page: its run (else the run it opens with),
epoch, open groups and controls (neuron, head, probe, ...). The open groups' views that apply
to the run become the spec's views, in the page's order: a per-epoch view at the epoch shown,
each view with the values of the controls it follows. The spec is saved in the store under a
new name (workbench.query.report_specs) and shown at once.

Saving writes into the store, so it is guarded as starting a job is: besides the Host and
Origin checks every request passes (guard), the request must carry the server's launch token,
which only its own pages hold, and which a server that may not launch jobs does not have.
"""

from __future__ import annotations

from dash import Input, Output, State, dcc, html, no_update

from workbench.core.errors import UserError
from workbench.core.probes import CANONICAL
from workbench.core.view import get_view
from workbench.query.report_specs import layout_spec, save_spec_text, spec_names
from workbench.query.views import PROBE_OPTION, run_spec, run_views
from workbench.store import RunKey, Store
from workbench.ui.dashboard import data, guard
from workbench.ui.dashboard.groups import GROUPS
from workbench.ui.dashboard.layout import STATE as EXPLORE_STATE
from workbench.ui.dashboard.pages import Site
from workbench.ui.dashboard.state import parse_state

__all__ = ["layout", "register", "layout_views", "save_layout", "OFF"]

OFF = "saving report views from this page is off (start the dashboard with --launch on, on loopback)"
_BOX = {"display": "flex", "gap": "0.6em", "alignItems": "center", "flexWrap": "wrap", "marginTop": "0.8em"}


def layout(site: Site) -> html.Div:
    """The form: a name, a title, the Save button and its message (and the token it sends back)."""
    return html.Div([
        html.Span("Save the Explore page's layout as a report view:", style={"fontWeight": 600}),
        dcc.Input(id="reports-save-name", placeholder="name, e.g. my_turn", style={"width": "12em"}),
        dcc.Input(id="reports-save-title", placeholder="title (default: the run)", style={"width": "20em"}),
        html.Button("Save", id="reports-save", n_clicks=0, disabled=not site.token),
        html.Span("" if site.token else OFF, id="reports-save-message", style={"color": "#555"}),
        dcc.Store(id="reports-token", data=site.token),
    ], id="reports-save-box", style=_BOX)


def _option_values(view: str, state: dict) -> dict:
    """The values of the controls `view` follows that the URL holds, as a spec's views item takes them."""
    out = {}
    for option in get_view(view).options:
        if option.control and option.key in state:
            value = state[option.key]
            if option.name != PROBE_OPTION or value != CANONICAL:
                out[option.name] = value
    return out


def layout_views(store: Store, key: RunKey, state: dict) -> list[dict]:
    """The spec views of the explore layout in `state` (parse_state of its URL) for run `key`."""
    shown = state.get("groups") or [g.gid for g in GROUPS if g.open]
    applies = set(run_views(store, key))
    views = []
    for group in (g for g in GROUPS if g.gid in shown):
        for panel in (p for p in group.panels if p.view in applies):
            at = {"epoch": state["epoch"]} if panel.per_epoch and "epoch" in state else {}
            views.append({"view": panel.view, **at, **_option_values(panel.view, state)})
    return views


def save_layout(store: Store, name: str, title: str, search: str) -> tuple[str, RunKey]:
    """Save the explore layout in URL query `search` as report spec `name`; (the line saying so, its run).
    Raises UserError (one line) for a bad or taken name, a run this store lacks, or no view to save."""
    if not name:
        raise UserError("give the report view a name (letters, digits, '_', '-', '.')")
    state = parse_state(search, EXPLORE_STATE)
    key = data.resolve_variant(store, state["variant"]) if "variant" in state else data.default_run(store)
    if key is None:
        raise UserError("the store has no run to save a layout of")
    views = layout_views(store, key, state)
    if not views:
        raise UserError("the Explore page shows no view of this run: open a group first")
    spec = run_spec(key)
    text = layout_spec(title.strip() or f"Explore layout: {spec}", spec, views)
    save_spec_text(store, name, text, f"report spec {name!r}", replace=False)
    return f"saved report spec {name!r} ({len(views)} views of {spec}); it is shown below", key


def register(app, site: Site) -> None:
    """Attach the Save callback: it writes only with the page's launch token (none: saving is off)."""
    @app.callback(Output("reports-save-message", "children"), Output("reports-spec", "options"),
                  Output("reports-spec", "value", allow_duplicate=True),
                  Output("reports-run", "value", allow_duplicate=True),
                  Input("reports-save", "n_clicks"), State("reports-save-name", "value"),
                  State("reports-save-title", "value"), State("url", "search"), State("reports-token", "data"),
                  prevent_initial_call=True)
    def _save(clicks, name, title, search, sent):
        if not clicks:
            return no_update, no_update, no_update, no_update
        if not site.token:
            return f"not saved: {OFF}", no_update, no_update, no_update
        if not guard.token_ok(site.token, sent):
            return "not saved: this page's launch token is missing or stale; reload the page", *[no_update] * 3
        try:
            said, key = save_layout(site.store, str(name or "").strip(), str(title or ""), str(search or ""))
        except UserError as err:
            return f"not saved: {err}", no_update, no_update, no_update
        options = [{"label": f"{n} ({w})", "value": n} for n, w in spec_names(site.store).items()]
        return said, options, str(name).strip(), data.variant_id(key)  # the saved spec, shown on its own run
