"""The runs page: every variant in the store and the progress of jobs running on them,
then the jobs started from the page (workbench.ui.dashboard.jobs_panel).

Rows come from the run index (workbench.store.index), as `workbench list` reads them: a poll
stats each run and re-reads only the runs whose files changed, instead of every run's
metrics, status and folders every 2 s. Progress is each run's status.json (job, state,
done, total, updated), which `workbench train` and `workbench analyze` rewrite atomically;
a job whose process is gone reads "interrupted", one silent for 2 minutes "stale".
"""

from __future__ import annotations

import math
import time

from dash import Input, Output, dash_table, dcc, html, no_update

from workbench.store import RunKey, Store, index
from workbench.store.record import job_state
from workbench.ui.dashboard import data, jobs_panel
from workbench.ui.dashboard.pages import Page, register_page

__all__ = ["run_rows", "layout", "register", "REFRESH_MS"]

REFRESH_MS = 2000  # how often the open runs page polls status.json
_STALE_S = 120  # a "running" job silent this long is shown as stale (killed, or on another machine)


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    if seconds < 90:
        return f"{max(seconds, 0):.0f}s ago"
    return f"{seconds / 60:.0f}m ago" if seconds < 5400 else f"{seconds / 3600:.1f}h ago"


def _number(value: object) -> float | None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    return float(value) if ok else None


def _progress(status: dict | None) -> tuple[str, str]:
    """(job text, age text) from an index row's status (status.json as written; types checked)."""
    if not isinstance(status, dict):
        return "", ""
    done, total, updated = (_number(status.get(k)) for k in ("done", "total", "updated"))
    age = time.time() - updated if updated is not None else None
    state = job_state(status)  # "running" from a process that has died reads "interrupted"
    if state == "running" and (age is None or age > _STALE_S):
        state = "stale"
    frac = f" {done:g}/{total:g}" if done is not None and total else ""
    pct = f" ({100 * done / total:.0f}%)" if frac else ""
    return f"{status.get('job', '')} {state}{frac}{pct}".strip(), _age(age)


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
    for row in index.run_rows(store):
        key = RunKey(row["family"], row["variant"])
        ckpts = row["checkpoints"]
        job, updated = _progress(row["status"])
        damaged = row["damaged_record"] or row["damaged"]
        rows.append({
            "id": data.variant_id(key), "family": key.family, "variant": key.variant,
            "epochs": _int(row["metrics"].get("epoch", 0)),  # the last epoch in metrics.npz
            "checkpoints": f"{len(ckpts)}" + (f" ({ckpts[0]}–{ckpts[-1]})" if ckpts else ""),
            # a count in the cell (twenty names made every row ~470 px tall); the names on hover
            "analyzers": len(row["analyzers"]), "analyzer_names": ", ".join(row["analyzers"]) or "none",
            "job": job or ("damaged files (hover)" if damaged else ""), "damaged": damaged or "",
            "updated": updated,
        })
    return rows


def tooltips(rows: list[dict]) -> list[dict]:
    """The table's hover text per row: the analyzers done, and what is wrong with a damaged run."""
    return [{"analyzers": row["analyzer_names"], **({"job": row["damaged"]} if row["damaged"] else {})}
            for row in rows]


_COLUMNS = [("family", "Family"), ("variant", "Variant"), ("epochs", "Epochs trained"),
            ("checkpoints", "Checkpoints"), ("job", "Job"), ("updated", "Updated"), ("analyzers", "Analyzers done (hover)")]


def layout(store: Store, launch: bool = False, token: str | None = None) -> html.Div:
    """The runs page's body; `launch`: whether it may start jobs, `token`: the server's
    launch token the page sends back (jobs_panel)."""
    return html.Div(children=[
        html.H2("Runs"),
        html.Div(f"store: {store.root}", className="readout"),
        dcc.Interval(id="runs-refresh", interval=REFRESH_MS, disabled=True),
        dash_table.DataTable(
            id="runs-table", columns=[{"id": c, "name": n} for c, n in _COLUMNS], data=[],
            sort_action="native", style_table={"overflowX": "auto"}, tooltip_duration=None,
            style_cell={"textAlign": "left", "fontSize": 13, "whiteSpace": "normal", "maxWidth": "420px"},
            # a variant is one long word ("p=53,seed=0,..."): it breaks anywhere rather than be cut off
            style_data_conditional=[{"if": {"column_id": "variant"}, "wordBreak": "break-all"}]),
        html.Div("Click a row to explore that run.", className="readout"),
        jobs_panel.layout(launch, token),
    ])


def register(app, store: Store, launch: bool = False, token: str | None = None) -> None:
    """Attach the runs page's callbacks: poll only while the page is shown; jobs (workbench.ui.dashboard.jobs_panel)."""
    jobs_panel.register(app, store, launch, token)

    @app.callback(Output("runs-refresh", "disabled"), Input("url", "pathname"))
    def _poll(pathname):
        return pathname != "/runs"

    @app.callback(Output("runs-table", "data"), Output("runs-table", "tooltip_data"),
                  Input("runs-refresh", "n_intervals"), Input("url", "pathname"))
    def _rows(_, pathname):
        if pathname != "/runs":
            return no_update, no_update
        rows = run_rows(store)
        return rows, tooltips(rows)


PAGE = register_page(Page("runs", "/runs", "Runs", layout=lambda site: layout(site.store, site.launch, site.token),
                          callbacks=lambda app, site: register(app, site.store, site.launch, site.token),
                          run_tables=("runs-table",), order=30))
