"""The runs page: run management as W&B users expect it, then the jobs started from the page.

The table (workbench.ui.dashboard.runs_table) lists every run in the store with its final
metrics, turn, headline, a sparkline of test accuracy, tags and note, job progress, and a
cell per action (workbench.ui.dashboard.run_actions: open, compare, analyze, extend,
resume); a click on a tag or note cell opens their editor. The box above it filters runs
with `workbench list --where`'s language, its error one line under it. Rows come from the
run index, as `workbench list` reads them: a poll stats each run and re-reads only the
runs whose files changed. The jobs section below is workbench.ui.dashboard.jobs_panel.
"""

from __future__ import annotations

from dash import Input, Output, State, dash_table, dcc, html, no_update

from workbench.core.errors import UserError
from workbench.store import Store
from workbench.ui.dashboard import jobs_panel, run_actions
from workbench.ui.dashboard.pages import Page, StateField, register_page
from workbench.ui.dashboard.runs_table import (ACTIONS, add_sparkline_route, cell_widths, columns, family_styles,
                                               run_rows, tooltips)
from workbench.ui.dashboard.state import parse_state

__all__ = ["run_rows", "tooltips", "layout", "register", "REFRESH_MS", "STATE"]

# how often the open runs page polls the index. Not 2 s: while a run trains every poll changes the
# table, and at 2 s the page's dropdowns (the form's family and config pickers, the sidebar's run
# picker: Dash loads them lazily) never rendered on the loaded 2-core VM (on main too); at 5 s they
# render in ~11 s, as with no run training.
REFRESH_MS = 5000
STATE = (StateField("where", "runs-where"),)  # the filter travels in the URL
_LABEL = {"display": "block", "fontWeight": 600, "marginTop": "6px"}
_WHERE_HINT = "filter, e.g. test_acc>0.9 and tag=baseline, or family=least_action (workbench list --where)"


def _controls() -> html.Div:
    return html.Div(className="runs-controls", children=[
        dcc.Input(id="runs-where", type="text", debounce=True, placeholder=_WHERE_HINT, style={"width": "560px"}),
        html.Span("Extend by ", style={"marginLeft": "18px"}),
        dcc.Input(id="runs-extend", type="text", value="1000", style={"width": "70px"}),
        html.Span(" epochs"),
        html.Div(id="runs-where-msg", className="readout option-note"),
    ])


def _editor() -> html.Div:
    return html.Div(id="annot-editor", style={"display": "none"}, children=[
        dcc.Store(id="annot-run"),
        html.Div(id="annot-title", style={"fontWeight": 600, "overflowWrap": "anywhere"}),
        html.Label("Tags (words, separated by blanks or commas)", style=_LABEL),
        dcc.Input(id="annot-tags", type="text", style={"width": "420px"}),
        html.Label("Note", style=_LABEL),
        dcc.Textarea(id="annot-note", style={"width": "620px", "height": "60px"}),
        html.Button("Save tags and note", id="annot-save", n_clicks=0),
        html.Div(id="annot-msg", className="readout"),
    ])


def layout(store: Store, launch: bool = False, token: str | None = None) -> html.Div:
    """The runs page's body; `launch`: whether it may start jobs and edit tags, `token`: the
    server's launch token the page sends back (jobs_panel)."""
    actions = ACTIONS if launch else ("open", "compare")  # no launching: no launch cells
    return html.Div(children=[
        html.H2("Runs"),
        html.Div(f"store: {store.root}", className="readout"),
        dcc.Interval(id="runs-refresh", interval=REFRESH_MS, disabled=True),
        _controls(),
        dash_table.DataTable(
            id="runs-table", columns=columns(actions), data=[], sort_action="native", tooltip_duration=None,
            markdown_options={"link_target": "_self"}, style_table={"overflowX": "auto"},
            style_cell={"textAlign": "left", "fontSize": 13, "whiteSpace": "normal", "padding": "2px 5px"},
            style_header={"fontWeight": 600}, style_cell_conditional=cell_widths(),
            style_data_conditional=family_styles([k.family for k in store.runs()]),
            css=[{"selector": ".dash-cell-value p", "rule": "margin: 0"}]),  # a sparkline's row as tall as text
        html.Div("Click a run's name (or open) to explore it, compare to add it to the compare page, analyze or "
                 "extend / resume to start that job, its tags and note to edit them." if launch else "Click a run's name (or open) to explore it; compare adds it to "
                 "the compare page.", className="readout"),
        html.Div(id="runs-action-msg", className="readout"),
        _editor(),
        jobs_panel.layout(launch, token, store),
    ])


def register(app, store: Store, launch: bool = False, token: str | None = None) -> None:
    """Attach the runs page's callbacks: poll only while the page is shown; row actions
    (run_actions); jobs (jobs_panel); the sparkline route."""
    jobs_panel.register(app, store, launch, token)
    run_actions.register(app, store, launch, token)
    add_sparkline_route(app, store)

    @app.callback(Output("runs-where", "value"), Input("url", "search"), State("url", "pathname"),
                  State("runs-where", "value"))
    def _restore(search, pathname, shown):
        # Only on this page, and only a change: the query also changes when another page is opened (the
        # navigation links carry it), and an answer here, even the same value, fires the table's callback.
        # (The explore page's epoch steps rewrite the address with replaceState, which does not fire this.)
        where = parse_state(search, STATE).get("where", no_update) if pathname == "/runs" else no_update
        return no_update if where == shown else where

    @app.callback(Output("runs-refresh", "disabled"), Input("url", "pathname"))
    def _poll(pathname):
        return pathname != "/runs"

    @app.callback(Output("runs-table", "data"), Output("runs-table", "tooltip_data"), Output("runs-where-msg", "children"),
                  Input("runs-refresh", "n_intervals"), Input("url", "pathname"), Input("runs-where", "value"))
    def _rows(_, pathname, where):
        if pathname != "/runs":
            return no_update, no_update, no_update
        try:
            rows = run_rows(store, where if isinstance(where, str) else None)
        except UserError as err:  # a malformed filter: the rows stay, the message says why
            return no_update, no_update, f"filter not applied: {err}"
        return rows, tooltips(rows), f"{len(rows)} runs match" if where and where.strip() else ""


PAGE = register_page(Page("runs", "/runs", "Runs", layout=lambda site: layout(site.store, site.launch, site.token),
                          callbacks=lambda app, site: register(app, site.store, site.launch, site.token),
                          state=STATE, order=30))
