"""`workbench list`'s table and `--json`: one aligned row per run that fits 120 columns.

A row names the family, the run's short label (what differs from the family's defaults,
workbench.core.variant.short_label; cut with '…' to the width left), its state, epochs
done of planned, final test accuracy and turn onset, and its tags and note (their start); a damaged run's row is
followed by a line naming the file and the problem. `--long` keeps the full
spec lines (workbench.query.listing.format_row); `--json` gives scripts `run_record(row)`
per run, whose keys are stable (documented in `JSON_KEYS`).
"""

from __future__ import annotations

import math

from workbench.core.variant import short_label
from workbench.store.record import job_state

__all__ = ["run_table", "run_record", "run_state", "JSON_KEYS", "WIDTH"]

WIDTH = 120  # columns the table fits
_LABEL_MIN = 16  # the label column keeps this many characters however wide the rest
JSON_KEYS = {  # `workbench list --json`: each run's keys (stable; a value a run lacks is null)
    "family": "the family's name",
    "variant": "the run's name in the store: every param, `key=value,...`",
    "spec": "family:variant, what `workbench train/analyze/render` take",
    "label": "the short label: the params that differ from the family's defaults",
    "state": "done, stopped (fewer epochs than planned), training, analyzing, interrupted or damaged",
    "epochs": "planned epochs", "epochs_done": "the last checkpoint's epoch", "checkpoints": "how many",
    "metrics": "final train/test loss and accuracy ({name: number}); NaN is null",
    "markers": "epoch markers ({name: epoch}, e.g. turn_onset_epoch)", "headlines": "analyzers' one-line findings",
    "analyzers": "names of the analyzers run", "config": "the named config it was trained from",
    "progress": "[done, total] of the job running on it (epochs, or checkpoints analyzed), else null",
    "tags": "the run's tags", "note": "the run's free-text note",
    "damaged": "the file that could not be read and why, or null",
}


def run_state(row: dict) -> str:
    """'training', 'analyzing', 'interrupted', 'done', 'stopped' or 'damaged' for an index row."""
    if row.get("damaged_record") or row.get("damaged"):
        return "damaged"
    status = row.get("status") or {}
    state = job_state(status) if status else ""
    if state == "running":
        return {"train": "training", "analyze": "analyzing"}.get(status.get("job"), str(status.get("job")))
    if state == "interrupted":
        return "interrupted"
    ckpts = row.get("checkpoints") or []
    return "done" if ckpts and row.get("epochs") is not None and ckpts[-1] >= row["epochs"] else "stopped"


def _clean(value):
    """JSON has no NaN: a missing metric (a family without a test split) is null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    return value


def run_record(row: dict) -> dict:
    """The run as `workbench list --json` gives it (keys: JSON_KEYS)."""
    ckpts, state, status = row.get("checkpoints") or [], run_state(row), row.get("status") or {}
    live = state in ("training", "analyzing") and all(isinstance(status.get(k), (int, float)) for k in ("done", "total"))
    return _clean({"progress": [status["done"], status["total"]] if live else None,
        "family": row["family"], "variant": row["variant"], "spec": row.get("spec") or f"{row['family']}:{row['variant']}",
        "label": short_label(row["family"], row["variant"]), "state": state, "epochs": row.get("epochs"),
        "epochs_done": ckpts[-1] if ckpts else None, "checkpoints": len(ckpts), "metrics": row.get("metrics") or {},
        "markers": row.get("markers") or {}, "headlines": row.get("headlines") or {},
        "analyzers": row.get("analyzers") or [], "config": row.get("config"), "tags": row.get("tags") or [],
        "note": row.get("note") or None, "damaged": row.get("damaged_record") or row.get("damaged")})


def _cells(rec: dict) -> list[str]:
    acc, turn = rec["metrics"].get("test_acc"), rec["markers"].get("turn_onset_epoch")
    label = rec["label"].partition(":")[2] if ":" in rec["label"] else "(defaults)"
    epoch = rec["progress"][0] if rec["state"] == "training" and rec["progress"] else rec["epochs_done"] or 0
    done = f"{epoch:g}/{rec['epochs'] if rec['epochs'] is not None else '?'}"
    return [rec["family"], label, rec["state"], done, f"{acc:.3f}" if isinstance(acc, (int, float)) else "-",
            str(turn) if turn is not None else "-", " ".join([",".join(rec["tags"])] * bool(rec["tags"])
                                                             + [f'"{rec["note"]}"'] * bool(rec["note"]))]


_HEAD = ["FAMILY", "RUN", "STATE", "EPOCH", "TEST ACC", "TURN", "TAGS/NOTE"]
_RIGHT = {3, 4, 5}  # columns aligned right (numbers)


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"


def run_table(rows: list[dict], width: int = WIDTH) -> list[str]:
    """The table's lines (header first) for index rows; every row at most `width` characters (the
    line naming a damaged run's file under its row is whole)."""
    cells = [_HEAD] + [_cells(run_record(r)) for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(_HEAD))]
    widths[6] = min(widths[6], 24)  # many tags, a long note: their start (--long and --json give them whole)
    rest = sum(widths) - widths[1] + 2 * (len(widths) - 1)
    widths[1] = max(_LABEL_MIN, min(widths[1], width - rest))
    widths[0] = min(widths[0], max(6, width - (rest - widths[0]) - widths[1]))
    full = max(len(c[6]) for c in cells)  # tags and note take what the label left
    widths[6] = max(widths[6], min(full, width - (sum(widths) - widths[6]) - 2 * (len(widths) - 1)))
    out = []
    for row, why in zip(cells, [None] + [r.get("damaged_record") or r.get("damaged") for r in rows]):
        parts = [_cut(c, w).rjust(w) if i in _RIGHT else _cut(c, w).ljust(w) for i, (c, w) in enumerate(zip(row, widths))]
        out.append("  ".join(parts).rstrip()[:width])
        if why:  # which file and what is wrong with it, under the row, whole (a path is no use cut)
            out.append(f"    damaged: {why}")
    return out
