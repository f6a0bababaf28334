"""The dashboard's shell, built from the page registry (`pages.py`): nothing here names a page.

The sidebar holds the navigation (one link per page) and each page's own controls, shown
only with their page; the main column holds every page's body. All pages stay in the
layout and are shown or hidden by the URL's path, so every callback always has its
components (each page's callbacks skip work while it is hidden). The URL's query holds
the state every page declares, written by the browser whenever it changes (and carried
by the navigation links); a click on a row of a table a page declares as listing runs
opens that run on the page at "/".
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

from dash import Input, Output, ctx, dcc, html, no_update

from workbench.ui.dashboard.layout import store_problem
from workbench.ui.dashboard.pages import Site, list_pages, page_at, state_fields

__all__ = ["layout", "register", "row_link"]


def _sidebar(site: Site, pages: list) -> html.Div:
    links = [dcc.Link(p.title, href=p.path, id=f"nav-{p.name}") for p in pages]
    return html.Div(id="sidebar", children=[
        html.H3("Workbench", style={"margin": "4px 0 8px"}),
        html.Div(links, className="nav"),
        *[html.Div(p.sidebar(site), id=f"{p.name}-controls") for p in pages if p.sidebar is not None],
        dcc.Store(id="url-written"),
    ])


def layout(site: Site):
    """The app's layout: a function, so that a reload picks up runs trained since the server started."""
    def build():
        pages = list_pages()
        home = page_at("/")
        problem = store_problem(site.store)
        return html.Div(id="shell", children=[
            dcc.Location(id="url", refresh=False),
            _sidebar(site, pages),
            html.Div(id="main", className="no-runs" if problem else "", children=[
                html.Div(problem, id="banner", className="banner", style={} if problem else {"display": "none"}),
                *[html.Div(p.layout(site), id=f"page-{p.name}", className="page" if p is home else "page hidden")
                  for p in pages]]),
            html.Button("☰", id="sidebar-toggle", n_clicks=0, title="show/hide controls"),
            dcc.Store(id="export-done"),
        ])

    return build


def row_link(active_cell: object) -> str | None:
    """'?variant=<id>' for a clicked table cell whose row id is a variant id, else None.

    The id is validated again by the page that opens it before anything is read.
    """
    row = active_cell.get("row_id") if isinstance(active_cell, dict) else None
    return f"?{urlencode({'variant': row})}" if isinstance(row, str) else None


def _register_routing(app, pages: list) -> None:
    with_sidebar = [p for p in pages if p.sidebar is not None]

    @app.callback(*[Output(f"page-{p.name}", "className") for p in pages],
                  *[Output(f"{p.name}-controls", "style") for p in with_sidebar], Input("url", "pathname"))
    def _pages(pathname):
        shown = page_at(pathname)
        return (*["page" if p is shown else "page hidden" for p in pages],
                *[{} if p is shown else {"display": "none"} for p in with_sidebar])

    tables = [t for p in pages for t in p.run_tables]
    if tables:
        @app.callback(Output("url", "pathname"), Output("url", "search"),
                      *[Input(t, "active_cell") for t in tables], prevent_initial_call=True)
        def _open_row(*cells):
            search = row_link(ctx.triggered[0]["value"] if ctx.triggered else None)
            return (page_at("/").path, search) if search else (no_update, no_update)


def _register_url(app, pages: list) -> None:
    fields = state_fields()
    inputs = []
    for f in fields:
        inputs.append(Input(f.component, f.prop))
        if f.kind == "epoch":  # a slider's position, and the store listing the epoch at each position
            inputs.append(Input(f.positions, "data"))
    spec = [[f.key, f.kind, f.default] for f in fields]
    paths = [p.path for p in pages]
    app.clientside_callback(
        "function (path, ...values) { return window.workbench.writeUrl(%s, %s, path, ...values); }"
        % (json.dumps(spec), json.dumps(paths)),
        Output("url-written", "data"), *[Output(f"nav-{p.name}", "href") for p in pages],
        Input("url", "pathname"), *inputs)


def register(app, site: Site) -> None:
    """Attach the shell's callbacks and every page's own."""
    pages = list_pages()
    _register_routing(app, pages)
    _register_url(app, pages)
    app.clientside_callback(
        "function(n) { return (n || 0) % 2 ? 'collapsed' : ''; }",
        Output("shell", "className"), Input("sidebar-toggle", "n_clicks"))
    for page in pages:
        page.callbacks(app, site)
