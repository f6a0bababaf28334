"""The runs page: every variant in the store and the progress of jobs running on them,
then the jobs started from the page (workbench.dashboard.jobs_panel).

Progress comes from each run's status.json (job, state, done, total, updated), which
`workbench train` and `workbench analyze` rewrite atomically; a dcc.Interval polls it
while the page is open.
"""

from __future__ import annotations

import numpy as np
from dash import Input, Output, dash_table, dcc, html, no_update

from workbench.dashboard import data, jobs_panel
from workbench.store import Store

__all__ = ["run_rows", "layout", "register", "REFRESH_MS"]

REFRESH_MS = 2000  # how often the open runs page polls status.json
_STALE_S = 120  # a "running" job silent this long is shown as stale (killed, or on another machine)


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    if seconds < 90:
        return f"{max(seconds, 0):.0f}s ago"
    return f"{seconds / 60:.0f}m ago" if seconds < 5400 else f"{seconds / 3600:.1f}h ago"


def _progress(status: dict | None) -> tuple[str, str]:
    """(job text, age text) from a checked status (see `data.status`)."""
    if not status:
        return "", ""
    done, total, state = status["done"], status["total"], status["state"]
    if state == "running" and (status["age_s"] is None or status["age_s"] > _STALE_S):
        state = "stale"
    frac = f" {done:g}/{total:g}" if done is not None and total else ""
    pct = f" ({100 * done / total:.0f}%)" if frac else ""
    return f"{status['job']} {state}{frac}{pct}".strip(), _age(status["age_s"])


def _int(value: object) -> int | str:
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError, OverflowError):  # a damaged metrics file
        return "?"


def run_rows(store: Store) -> list[dict]:
    """One row per run: epochs trained, checkpoints, analyzers done, job progress.

    Args:
        store: the store.
    Returns:
        Dicts keyed by the runs table's column ids, plus "id" (the variant id).
    """
    rows = []
    for key in store.runs():
        epochs = np.asarray((data.metrics(store, key) or {}).get("epoch", ())).reshape(-1)
        ckpts = store.checkpoint_epochs(key)
        job, updated = _progress(data.status(store, key))
        rows.append({
            "id": data.variant_id(key), "family": key.family, "variant": key.variant,
            "epochs": _int(epochs[-1]) if epochs.size else 0,
            "checkpoints": f"{len(ckpts)}" + (f" ({ckpts[0]}–{ckpts[-1]})" if ckpts else ""),
            "analyzers": ", ".join(store.analyzers_done(key)), "job": job, "updated": updated,
        })
    return rows


_COLUMNS = [("family", "Family"), ("variant", "Variant"), ("epochs", "Epochs trained"),
            ("checkpoints", "Checkpoints"), ("job", "Job"), ("updated", "Updated"), ("analyzers", "Analyzers done")]


def layout(store: Store, launch: bool = False) -> html.Div:
    """The runs page (hidden until the URL is /runs); `launch`: whether it may start jobs."""
    return html.Div(id="page-runs", className="page hidden", children=[
        html.H2("Runs"),
        html.Div(f"store: {store.root}", className="readout"),
        dcc.Interval(id="runs-refresh", interval=REFRESH_MS, disabled=True),
        dash_table.DataTable(
            id="runs-table", columns=[{"id": c, "name": n} for c, n in _COLUMNS], data=[],
            sort_action="native", style_table={"overflowX": "auto"},
            style_cell={"textAlign": "left", "fontSize": 13, "whiteSpace": "normal", "maxWidth": "420px"}),
        html.Div("Click a row to explore that run.", className="readout"),
        jobs_panel.layout(launch),
    ])


def register(app, store: Store, launch: bool = False) -> None:
    """Attach the runs page's callbacks: poll only while the page is shown; jobs (workbench.dashboard.jobs_panel)."""
    jobs_panel.register(app, store, launch)

    @app.callback(Output("runs-refresh", "disabled"), Input("url", "pathname"))
    def _poll(pathname):
        return pathname != "/runs"

    @app.callback(Output("runs-table", "data"), Input("runs-refresh", "n_intervals"), Input("url", "pathname"))
    def _rows(_, pathname):
        return run_rows(store) if pathname == "/runs" else no_update
