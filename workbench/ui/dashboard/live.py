"""The explore page follows a run while it trains (issue 30 item 10): poll, grow the slider, say the progress.

Every few seconds the browser asks (`live-poll`, a dcc.Interval); the server reads the run's
status and its checkpoint list, both small files. When checkpoints were added the slider
grows: a user at the last checkpoint follows the newest one, anyone else keeps the epoch
shown. While the run trains, a line under the slider says its progress in epochs (the
status file counts epochs, not checkpoints), e.g. "training: epoch 1,200 of 3,000 (40%)".
"""

from __future__ import annotations

from dash import Input, Output, State, dcc, html, no_update

from workbench.core.errors import UserError
from workbench.store import Store
from workbench.ui.dashboard import data

__all__ = ["POLL_MS", "components", "poll", "register"]

POLL_MS = 4000  # how often the page asks; each answer reads two small files


def components() -> list:
    """The poll timer and the progress line (under the epoch slider)."""
    return [dcc.Interval(id="live-poll", interval=POLL_MS), html.Div(id="live-note", className="readout live-note")]


def _progress(store: Store, key) -> str:
    try:
        status = store.read_status(key)
    except Exception:  # a damaged status file: no progress line, the page still works
        return ""
    if not status or status.get("job") != "train" or status.get("state") == "done":
        return ""
    done, total = int(status.get("done") or 0), int(status.get("total") or 0)
    share = f" ({100 * done // total}%)" if total else ""
    return f"training: epoch {done:,} of {total:,}{share}"


def poll(store: Store, info: object, index: object, marks) -> tuple:
    """(epochs store, slider max, marks, value, note): what changed since the page drew `info`.

    Args:
        info: the browser's epochs store ({"vid", "epochs", "turn", ...}; untrusted);
        index: the slider position; marks: `callbacks.slider_marks`.
    Returns:
        no_update for every slider part when the run has no new checkpoint.
    """
    if not isinstance(info, dict):
        return no_update, no_update, no_update, no_update, ""
    try:
        key = data.resolve_variant(store, info.get("vid"))
    except UserError:
        return no_update, no_update, no_update, no_update, ""
    note = _progress(store, key)
    shown, now = info.get("epochs") if isinstance(info.get("epochs"), list) else [], data.epochs(store, key)
    if now == shown:
        return no_update, no_update, no_update, no_update, note
    last = isinstance(index, int) and not isinstance(index, bool) and index == len(shown) - 1
    keep = shown[index] if isinstance(index, int) and 0 <= index < len(shown) else None
    value = len(now) - 1 if last or keep not in now else now.index(keep)
    turn = data.turn_epoch(store, key)
    turn_mark = data.nearest_epoch(now, turn) if turn is not None else None
    turn = round(turn) if turn is not None else None
    return ({**info, "epochs": now, "turn": turn}, max(len(now) - 1, 0), marks(now, turn_mark, turn), value, note)


def register(app, store: Store, marks) -> None:
    """Attach the poll to the explore page; `marks` is the slider's marks function (callbacks.slider_marks)."""
    @app.callback(Output("epochs", "data", allow_duplicate=True), Output("epoch", "max", allow_duplicate=True),
                  Output("epoch", "marks", allow_duplicate=True), Output("epoch", "value", allow_duplicate=True),
                  Output("live-note", "children"), Input("live-poll", "n_intervals"), State("epochs", "data"),
                  State("epoch", "value"), prevent_initial_call=True)
    def _poll(_, info, index):
        try:
            return poll(store, info, index, marks)
        except Exception:  # never a 500 from a timer: try again next time
            return no_update, no_update, no_update, no_update, no_update
