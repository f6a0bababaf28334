"""The Runs page's jobs: start train / extend / analyze / sweep jobs, watch and cancel them.

A job runs in its own worker process (workbench.ui.jobs), never in a request thread, and is
recorded in the store's run index; the table below the form polls the index with the
runs table and shows queued, running (with progress), done, failed, cancelled and crashed
jobs, each with a link to its log (`/jobs/<id>/log`). Launching is a server-side switch:
`serve` turns it on only when the dashboard listens on loopback (`workbench dashboard
--launch off` keeps it off there too); when off, the form is replaced by a note and the
start and cancel callbacks refuse, whatever the browser sends.
"""

from __future__ import annotations

import sqlite3
import time

from dash import Input, Output, State, dash_table, dcc, html, no_update
from flask import Response

from workbench.core.errors import UserError
from workbench.store import Store
from workbench.store.jobs import cancel, list_jobs
from workbench.ui.jobs import KINDS, submit

__all__ = ["layout", "register", "job_rows"]

_COLUMNS = [("id", "Job"), ("kind", "Kind"), ("target", "Target"), ("state", "State"), ("progress", "Progress"),
            ("started", "Started"), ("log", "Log"), ("cancel", ""), ("note", "Note")]
_FIELDS = ("job-target", "job-recipe", "job-epochs", "job-schedule", "job-extra", "job-analyzers")
_OPTION_OF = {"job-recipe": "recipe", "job-epochs": "epochs", "job-schedule": "schedule",
              "job-extra": "extra_epochs", "job-analyzers": "analyzers"}  # form field -> job_argv option
_LOG_TAIL = 200_000  # bytes of a log the page shows (the end, where progress and errors are)


def _when(t: float | None) -> str:
    return time.strftime("%H:%M:%S", time.localtime(t)) if t else ""


def job_rows(store: Store) -> list[dict]:
    """The jobs table's rows, newest first."""
    try:
        jobs = list_jobs(store)
    except (UserError, sqlite3.Error) as err:  # an unusable or busy index: the page says so, never a 500
        return [{"id": 0, "kind": "", "target": "", "state": "", "note": str(err)}]
    rows = []
    for job in jobs:
        done = job["progress"]
        rows.append({"id": job["id"], "kind": job["kind"], "target": job["target"], "state": job["state"],
                     "progress": f"{done[0]:g}/{done[1]:g} ({100 * done[0] / done[1]:.0f}%)" if done else "",
                     "started": _when(job["started"] or job["created"]),
                     "log": f"[log](/jobs/{job['id']}/log)" if store.has_job_log(job["id"]) else "",
                     "cancel": "cancel" if job["state"] in ("queued", "running") else "", "note": job["error"] or ""})
    return rows


def _form() -> html.Div:
    def field(fid: str, hint: str, width: str = "180px") -> dcc.Input:
        return dcc.Input(id=fid, type="text", placeholder=hint, debounce=False, style={"width": width, "margin": "2px"})

    return html.Div(id="job-form", children=[
        dcc.RadioItems(id="job-kind", options=[{"label": f" {k} ", "value": k} for k in KINDS], value="train",
                       inline=True, style={"margin": "4px 0"}),
        field("job-target", "variant, e.g. modular_addition:p=53 (sweep: family:p=97|101,seed=0-3)", "420px"),
        field("job-recipe", "recipe: lr=3e-3, weight_decay=0.5"),
        field("job-epochs", "epochs", "80px"),
        field("job-schedule", "checkpoints 0:3000:100", "170px"),
        field("job-extra", "extend by N epochs", "140px"),
        field("job-analyzers", "analyzers: all or a,b", "170px"),
        html.Button("Start job", id="job-start", n_clicks=0, style={"margin": "2px 6px"}),
        html.Div(id="job-message", className="readout"),
    ])


def layout(launch: bool) -> html.Div:
    """The jobs section: the form (or why launching is off) and the jobs table."""
    off = html.Div("Starting jobs from this page is off (the dashboard is not on loopback, or was started with "
                   "--launch off); start them with the workbench command.", className="readout")
    return html.Div(id="jobs-section", children=[
        html.H3("Jobs"),
        _form() if launch else off,
        dash_table.DataTable(
            id="jobs-table", columns=[{"id": c, "name": n, "presentation": "markdown"} if c == "log" else
                                      {"id": c, "name": n} for c, n in _COLUMNS], data=[],
            markdown_options={"link_target": "_blank"}, style_table={"overflowX": "auto"},
            style_cell={"textAlign": "left", "fontSize": 13, "whiteSpace": "normal", "maxWidth": "420px"},
            style_data_conditional=[{"if": {"column_id": "cancel", "filter_query": "{cancel} = cancel"},
                                     "color": "#b00020", "cursor": "pointer", "textDecoration": "underline"}]),
    ])


def _log(store: Store, job_id: int) -> Response:
    try:
        text = store.job_log_tail(job_id, _LOG_TAIL)
    except UserError:  # not a job id
        text = None
    if text is None:
        return Response(f"no log for job {job_id}\n", status=404, mimetype="text/plain")
    return Response(text, mimetype="text/plain")


def register(app, store: Store, launch: bool) -> None:
    """The jobs table's polling, the start and cancel callbacks (refusing when launching is off), the log route."""
    app.server.add_url_rule("/jobs/<int:job_id>/log", "job_log", lambda job_id: _log(store, job_id))

    started = [Input("job-message", "children")] if launch else []  # a new job shows at once

    @app.callback(Output("jobs-table", "data"), Input("runs-refresh", "n_intervals"), Input("url", "pathname"),
                  *started)
    def _jobs(_, pathname, *__):
        return job_rows(store) if pathname == "/runs" else no_update

    if not launch:
        return

    @app.callback(Output("job-message", "children"), Input("job-start", "n_clicks"), Input("jobs-table", "active_cell"),
                  State("job-kind", "value"), *(State(f, "value") for f in _FIELDS), prevent_initial_call=True)
    def _start_or_cancel(clicks, cell, kind, target, *values):
        from dash import ctx

        if ctx.triggered_id == "jobs-table":
            return _cancel(store, cell)
        options = {_OPTION_OF[f]: v for f, v in zip(_FIELDS[1:], values) if v}
        try:
            job_id = submit(store, str(kind), str(target or ""), options)
        except (UserError, sqlite3.Error, OSError) as err:
            return f"not started: {err}"
        return f"job {job_id} started ({kind} {target})"


def _cancel(store: Store, cell: object):
    if not (isinstance(cell, dict) and cell.get("column_id") == "cancel" and isinstance(cell.get("row_id"), int)):
        return no_update
    job_id = cell["row_id"]
    return f"job {job_id} cancelled" if cancel(store, job_id) else no_update
