"""The Runs page's jobs: start train / extend / analyze / sweep jobs, watch and cancel them.

A job runs in its own worker process (workbench.ui.jobs), never in a request thread, and is
recorded in the store's run index; the table below the form polls the index with the
runs table and shows queued, starting, running (with progress), done, failed, interrupted, cancelled
and crashed jobs, each with a link to its log (`/jobs/<id>/log`). The form (labelled
fields per kind: workbench.ui.dashboard.launch_form) becomes a typed request
(`workbench.ui.jobs.from_form`): a value of the wrong type, or one the command would
refuse, is a message under the form.

Launching is a server-side switch: `serve` turns it on only when the dashboard listens on
loopback (`workbench dashboard --launch off` keeps it off there too); when off, the form
is replaced by a note and the start and cancel callbacks answer with a refusal, whatever
the browser sends. When on, the page carries the server's secret launch token (a
`dcc.Store`, as Jupyter puts its XSRF token in the page), and start and cancel refuse a
request that does not send it back: only a page this server served can launch.
"""

from __future__ import annotations

import sqlite3
import time

from dash import Input, Output, State, dash_table, dcc, html, no_update
from flask import Response, jsonify

from workbench.core.errors import UserError
from workbench.store import Store
from workbench.store.jobs import ACTIVE, cancel, list_jobs
from workbench.ui.dashboard import launch_form
from workbench.ui.dashboard.guard import callback_output, token_ok
from workbench.ui.jobs import FIELDS, KINDS, from_form, progress_text, submit

__all__ = ["layout", "register", "job_rows"]

_COLUMNS = [("id", "Job"), ("kind", "Kind"), ("target", "Target"), ("state", "State"), ("progress", "Progress"),
            ("started", "Started"), ("log", "Log"), ("cancel", ""), ("note", "Note")]
_INPUT_OF = {f: f"job-{f.replace('_', '-')}" for f in FIELDS}  # request field -> the form's input id
_OFF = "not started: starting jobs from this page is off on this server (not on loopback, or --launch off)"
_LOG_TAIL = 200_000  # bytes of a log the page shows (the end, where progress and errors are)


def _when(t: float | None) -> str:
    return time.strftime("%H:%M:%S", time.localtime(t)) if t else ""


def job_rows(store: Store, launch: bool = True) -> list[dict]:
    """The jobs table's rows, newest first (a cancel link on active jobs when `launch`)."""
    try:
        jobs = list_jobs(store)
    except (UserError, sqlite3.Error) as err:  # an unusable or busy index: the page says so, never a 500
        return [{"id": 0, "kind": "", "target": "", "state": "", "note": str(err)}]
    rows = []
    for job in jobs:
        rows.append({"id": job["id"], "kind": job["kind"], "target": job["target"], "state": job["state"],
                     "progress": progress_text(job),
                     "started": _when(job["started"] or job["created"]),
                     "log": f"[log](/jobs/{job['id']}/log)" if store.has_job_log(job["id"]) else "",
                     "cancel": "cancel" if launch and job["state"] in ACTIVE else "", "note": job["error"] or ""})
    return rows


def _form(store: Store) -> html.Div:
    # the fields come on the first visit to the Runs page (`_fields`), not with the layout, so that its
    # run picker lists the runs trained since the page loaded (the app is one page, loaded once); ~130
    # components fewer on the other pages, which did not measurably change an epoch step (bench/RESULTS.md)
    return html.Div(id="job-form", children=[
        html.Div(id="job-fields"),
        html.Button("Start job", id="job-start", n_clicks=0, style={"margin": "2px 6px"}),
        html.Div(id="job-message", className="readout"),
    ])


def layout(launch: bool, token: str | None = None, store: Store | None = None) -> html.Div:
    """The jobs section: the form (or why launching is off), the jobs table, and (when
    launching is on) the server's launch token that start and cancel send back."""
    off = html.Div(id="job-message", className="readout", children=(
        "Starting jobs from this page is off (the dashboard is not on loopback, or was started with "
        "--launch off); start them with the workbench command."))
    return html.Div(id="jobs-section", children=[
        html.H3("Jobs"),
        dcc.Store(id="launch-token", data=token if launch else None),
        _form(store) if launch and store is not None else off,
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


def register(app, store: Store, launch: bool, token: str | None = None) -> None:
    """The jobs table's polling, the start and cancel callbacks (refusing without the page's
    launch token), the log route; with launching off, start and cancel requests (a page from
    before a restart, or a crafted one) are answered with a refusal in the page."""
    app.server.add_url_rule("/jobs/<int:job_id>/log", "job_log", lambda job_id: _log(store, job_id))
    started = [Input("job-message", "children")] if launch else []  # a new job shows at once

    @app.callback(Output("jobs-table", "data"), Input("runs-refresh", "n_intervals"), Input("url", "pathname"),
                  *started)
    def _jobs(_, pathname, *__):
        return job_rows(store, launch) if pathname == "/runs" else no_update

    if not launch:
        app.server.before_request(_refuse_when_off)  # the callbacks are not registered: their form is not there
        return

    launch_form.register(app, store)

    @app.callback(Output("job-fields", "children"), Input("url", "pathname"), State("job-fields", "children"))
    def _fields(pathname, shown):
        return launch_form.form(store) if pathname == "/runs" and not shown else no_update

    @app.callback(Output("job-message", "children"), Input("job-start", "n_clicks"), State("job-kind", "value"),
                  *(State(_INPUT_OF[f], "value") for f in FIELDS), State("launch-token", "data"),
                  prevent_initial_call=True)
    def _start(clicks, kind, *values):
        *fields, sent = values
        if not token_ok(token, sent):
            return "not started: this page's launch token is missing or stale; reload the page"
        try:
            kind, request = from_form(kind, dict(zip(FIELDS, fields)))
            job_id, started = submit(store, kind, request)
        except (UserError, sqlite3.Error, OSError) as err:
            return f"not started: {err}"
        return f"job {job_id} {'started' if started else 'queued (it starts when a running job ends)'} ({kind})"

    @app.callback(Output("job-message", "children", allow_duplicate=True), Input("jobs-table", "active_cell"),
                  State("launch-token", "data"), prevent_initial_call=True)
    def _cancel_cell(cell, sent):
        if not (isinstance(cell, dict) and cell.get("column_id") == "cancel" and isinstance(cell.get("row_id"), int)):
            return no_update
        if not token_ok(token, sent):
            return "not cancelled: this page's launch token is missing or stale; reload the page"
        return _cancel(store, cell["row_id"])


def _refuse_when_off():
    """A start or cancel request to a server with launching off: the refusal, as a Dash update of the message."""
    output = callback_output()
    if output is None or not output.startswith("job-message.children"):
        return None
    return jsonify({"multi": True, "response": {"job-message": {"children": _OFF}}})


def _cancel(store: Store, job_id: int) -> str:
    try:
        return f"job {job_id} cancelled" if cancel(store, job_id) else f"job {job_id} is not queued or running"
    except (UserError, sqlite3.Error) as err:
        return f"not cancelled: {err}"
