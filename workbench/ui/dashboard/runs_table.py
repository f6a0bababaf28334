"""The Runs page's table, as W&B users expect a runs table: one row per run with its final
metrics, turn, headline, a sparkline of test accuracy, its tags and note, and per-row actions.

Everything comes from the run index (workbench.store.index, as `workbench list` reads it):
a poll stats each run and re-reads only the runs whose files changed. The filter is the
`--where` language of `workbench list` (workbench.query.where); a clause it refuses is its
one-line message under the box, and the table keeps its rows. The sparkline is a small SVG
served by `/runs/spark.svg?run=<id>&v=<version>`, drawn from the run's metrics table (two
columns of metrics.npz, never a checkpoint); `v` changes as the run trains, so the browser
fetches a new one only then. Progress is each run's status.json; a job whose process is
gone reads "interrupted", one silent for 2 minutes "stale".
"""

from __future__ import annotations

import math
import time

import numpy as np
from flask import Response, request

from workbench.core.errors import MissingFile, UserError
from workbench.query.listing import select_rows
from workbench.query.run_table import run_record
from workbench.store import RunKey, Store
from workbench.store.record import job_state
from workbench.ui.dashboard import data
from workbench.ui.dashboard.labels import family_colour, short_labels

__all__ = ["run_rows", "tooltips", "columns", "family_styles", "sparkline_svg", "add_sparkline_route", "cell_widths", "ACTIONS",
           "SPARK_PATH"]

SPARK_PATH = "/runs/spark.svg"
ACTIONS = ("open", "compare", "analyze", "train")  # the row's action cells, in order ("train": extend or resume)
_STALE_S = 120  # a "running" job silent this long is shown as stale (killed, or on another machine)
_SPARK_W, _SPARK_H, _SPARK_POINTS = 96, 22, 120  # the sparkline's size (px) and most points drawn
_HEADLINE = 40  # characters of a headline in its cell (the whole one on hover)
_NOTE = 60  # characters of a note in its cell (the whole one on hover)


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


def _headline(headlines: dict) -> str:
    """The first headline as 'name value', cut to _HEADLINE characters."""
    if not headlines:
        return ""
    name, value = next(iter(headlines.items()))
    text = f"{name.replace('_', ' ')} {value}"
    return text if len(text) <= _HEADLINE else text[:_HEADLINE - 1] + "…"


def _actions(state: str, analyzable: bool) -> dict:
    """The row's action cells: the action's name where it applies, blank where it does not
    (extend a finished run, resume a stopped or interrupted one: one column, never both)."""
    train = "extend" if state == "done" else "resume" if state in ("stopped", "interrupted") else ""
    return {"open": "open", "compare": "compare", "analyze": "analyze" if analyzable else "", "train": train}


def _state(state: str, job: str, damaged: object) -> str:
    """The run's state, with its job's progress while one runs or was cut off."""
    if damaged:
        return "damaged (hover)"
    progress = job.partition(" ")[2].partition(" ")[2]  # "train running 120/300 (40%)" -> "120/300 (40%)"
    return f"{state} {progress}" if state in ("training", "analyzing", "interrupted") and progress else state


def _metric_cells(rec: dict) -> dict:
    metrics, markers = rec["metrics"], rec["markers"]
    return {"test_acc": _number(metrics.get("test_acc")), "train_loss": _number(metrics.get("train_loss")),
            "test_loss": _number(metrics.get("test_loss")), "turn": markers.get("turn_onset_epoch"),
            "headline": _headline(rec["headlines"])}


def _row(row: dict) -> dict:
    key, rec = RunKey(row["family"], row["variant"]), run_record(row)
    ckpts = row.get("checkpoints") or []
    job, updated = _progress(row.get("status"))
    damaged = row.get("damaged_record") or row.get("damaged")
    label = rec["label"].partition(":")[2].replace(",", ", ") if ":" in rec["label"] else "(defaults)"  # wraps at commas
    vid, epoch = data.variant_id(key), _int((row.get("metrics") or {}).get("epoch", 0))  # metrics.npz's last epoch
    return {
        "id": vid, "family": key.family, "variant": key.variant, "label": label, "spec": rec["spec"],
        "state": _state(rec["state"], job, damaged), "epochs": epoch,
        "checkpoints": f"{len(ckpts)}" + (f" ({ckpts[0]}–{ckpts[-1]})" if ckpts else ""),
        **_metric_cells(rec), "headlines": "\n".join(f"{k}: {v}" for k, v in rec["headlines"].items()),
        "curve": f"![test accuracy]({SPARK_PATH}?run={_quote(vid)}&v={epoch}-{len(ckpts)})" if not damaged else "",
        "tags": ", ".join(rec["tags"]), "note": rec["note"] or "",
        "annotations": " ".join([f"#{t}" for t in rec["tags"]] + [_cut(rec["note"] or "", _NOTE)]).strip(),
        "analyzers": len(row.get("analyzers") or []), "analyzer_names": ", ".join(row.get("analyzers") or []) or "none",
        "job": job or ("damaged files (hover)" if damaged else ""), "damaged": damaged or "", "updated": updated,
        **_actions(rec["state"], bool(ckpts) and not damaged)}


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")


def run_rows(store: Store, where: str | None = None) -> list[dict]:
    """One row per run (those `where` keeps, in the `--where` language): label (what differs
    among its family's runs in the table; a family's only run: from the family's defaults), state, epochs,
    final metrics, turn, headline, sparkline, tags, note, job progress and the row's actions.

    Args:
        store: the store; where: a filter clause, or None for every run.
    Returns:
        Dicts keyed by the table's column ids, plus "id" (the variant id).
    Raises:
        UserError: a malformed clause, or one naming a field no run has (one line).
    """
    rows, _ = select_rows(store, where.strip() or None if where else None)
    return _relabel([_row(row) for row in rows])


def _relabel(rows: list[dict]) -> list[dict]:
    """A family's runs in the table named by what differs among them (their seeds, say), not
    from the family's defaults, where a study's runs all differ in the same ten params."""
    by_family: dict[str, list[dict]] = {}
    for row in rows:
        by_family.setdefault(row["family"], []).append(row)
    for members in (m for m in by_family.values() if len(m) > 1):
        labels = short_labels([RunKey(r["family"], r["variant"]) for r in members])
        for row in members:
            named = [p for p in labels[RunKey(row["family"], row["variant"])].split(",") if not p.startswith("no ")]
            row["label"] = ", ".join(named) or "(defaults)"  # within a family a param not named is its default
    return rows


def tooltips(rows: list[dict]) -> list[dict]:
    """The table's hover text per row: the full spec, headlines, note, analyzers, and what is
    wrong with a damaged run."""
    return [{"label": row["spec"], "family": row["spec"], "state": row["damaged"] or row["job"] or row["state"],
             **({"headline": row["headlines"]} if row["headlines"] else {}),
             **({"annotations": f"tags: {row['tags'] or 'none'}\nnote: {row['note'] or 'none'}"}),
             "analyzers": row["analyzer_names"], **({"job": row["damaged"]} if row["damaged"] else {})} for row in rows]


_NUMBER = {"type": "numeric"}
_COLUMNS = [("family", "Family", {}), ("label", "Run (hover: spec)", {}), ("state", "State", {}),
            ("epochs", "Epoch", _NUMBER),
            ("test_acc", "Test acc", {**_NUMBER, "format": {"specifier": ".3f"}}),
            ("train_loss", "Train loss", {**_NUMBER, "format": {"specifier": ".1e"}}),
            ("test_loss", "Test loss", {**_NUMBER, "format": {"specifier": ".1e"}}),
            ("turn", "Turn", _NUMBER), ("curve", "Test acc", {"presentation": "markdown"}),
            ("headline", "Headline", {}), ("annotations", "Tags, note ✎", {})]
_WIDTHS = {"family": 118, "label": 190, "state": 96, "epochs": 52, "test_acc": 48, "train_loss": 52, "test_loss": 52,
           "turn": 44, "curve": 100, "headline": 130, "annotations": 130}  # px: the table fits 1440 px with the sidebar


def columns(actions: tuple[str, ...] = ACTIONS) -> list[dict]:
    """The table's columns: data, then one narrow cell per action in `actions`."""
    return ([{"id": c, "name": n, **extra} for c, n, extra in _COLUMNS]
            + [{"id": a, "name": "", "sortable": False} for a in actions])


def cell_widths() -> list[dict]:
    """style_cell_conditional entries: each data column's width, action cells narrow and small."""
    return ([{"if": {"column_id": c}, "width": f"{w}px", "maxWidth": f"{w}px", "minWidth": f"{min(w, 60)}px"}
             for c, w in _WIDTHS.items()]
            + [{"if": {"column_id": "family"}, "fontSize": 11, "overflow": "hidden", "textOverflow": "ellipsis"},
               {"if": {"column_id": "label"}, "overflowWrap": "anywhere"},
               {"if": {"column_id": list(ACTIONS)}, "fontSize": 12, "padding": "2px 3px"}])


def family_styles(families: list[str]) -> list[dict]:
    """style_data_conditional entries: each family's cell in its badge colour, and action cells as links."""
    return ([{"if": {"column_id": "family", "filter_query": f'{{family}} = "{f}"'}, "color": "#fff",
              "backgroundColor": family_colour(f, families), "fontWeight": 600} for f in sorted(set(families))]
            + [{"if": {"column_id": a}, "color": "#1a5fb4", "cursor": "pointer", "textDecoration": "underline"}
               for a in ACTIONS]
            + [{"if": {"column_id": ["epochs", "test_acc", "train_loss", "test_loss", "turn"]}, "whiteSpace": "nowrap"},
               {"if": {"column_id": "label"}, "cursor": "pointer", "color": "#1a5fb4"},
               {"if": {"column_id": "annotations"}, "cursor": "pointer"}])


# ------------------------------------------------------------------ sparkline
def sparkline_svg(epochs: np.ndarray, acc: np.ndarray) -> str:
    """A tiny SVG line of accuracy (0..1, fixed scale: runs compare by eye) over epochs; a blank
    box for a run with no finite accuracy (a family without a test split)."""
    ok = np.isfinite(acc) & np.isfinite(epochs)
    epochs, acc = epochs[ok].astype(float), np.clip(acc[ok].astype(float), 0, 1)
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{_SPARK_W}" height="{_SPARK_H}" '
            f'viewBox="0 0 {_SPARK_W} {_SPARK_H}">')
    if len(acc) < 2 or epochs[-1] <= epochs[0]:
        return head + "</svg>"
    if len(acc) > _SPARK_POINTS:
        pick = np.linspace(0, len(acc) - 1, _SPARK_POINTS).round().astype(int)
        epochs, acc = epochs[pick], acc[pick]
    x = (epochs - epochs[0]) / (epochs[-1] - epochs[0]) * (_SPARK_W - 2) + 1
    y = (1 - acc) * (_SPARK_H - 2) + 1
    points = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(x, y))
    return (head + f'<line x1="0" x2="{_SPARK_W}" y1="1" y2="1" stroke="#ddd" stroke-width="1"/>'
            f'<polyline fill="none" stroke="#2ca02c" stroke-width="1.5" points="{points}"/></svg>')


def _spark(store: Store) -> Response:
    try:
        key = data.resolve_variant(store, request.args.get("run"))
        arrays = store.read_metrics(key, keys=("epoch", "test_acc"))
        svg = sparkline_svg(np.asarray(arrays["epoch"]), np.asarray(arrays["test_acc"]))
    except (UserError, MissingFile, KeyError):  # not a run, no metrics yet, no test accuracy: a blank box
        svg = sparkline_svg(np.zeros(0), np.zeros(0))
    return Response(svg, mimetype="image/svg+xml", headers={"Cache-Control": "max-age=3600"})


def add_sparkline_route(app, store: Store) -> None:
    """Serve the sparklines (GET: the guard's Host check applies, nothing changes state)."""
    app.server.add_url_rule(SPARK_PATH, "run_sparkline", lambda: _spark(store))
