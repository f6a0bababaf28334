"""Explore-page server callbacks as plain functions (importable, testable), plus their wiring.

Two server callbacks drive the page:

- `controls`: on load (from the URL) or when the variant changes, set the slider to the
  run's checkpoints and restore epoch, neuron, head and open groups;
- the panels callback: one request per change of epoch, neuron, head, variant, open
  groups or the panels on screen, answering for every open panel on screen that changed
  (see `panels.update_panels`; the browser reports what is on screen, `clientside.py`); then
  a background thread renders the neighbouring checkpoints (`prefetch`), so the next
  step of a scrub finds them cached.

Everything else (readout, clicks, group toggles, URL, export) runs in the browser
(`clientside.py`). Every input is untrusted: bad values get a valid default or no update.
"""

from __future__ import annotations

import logging
import math

from dash import Input, Output, State, ctx, no_update
from dash.exceptions import PreventUpdate

from workbench.core.errors import UserError
from workbench.query.views import run_views
from workbench.store import RunKey, Store
from workbench.ui.dashboard import data, panels
from workbench.ui.dashboard.groups import GROUPS, panel_id
from workbench.ui.dashboard.labels import export_name
from workbench.ui.dashboard.prefetch import Prefetcher
from workbench.ui.dashboard.state import parse_state
from workbench.ui.dashboard.values import as_int, epoch_at, select_index

__all__ = ["slider_marks", "controls", "panel_outputs", "register", "CONTROL_OUTPUTS"]

log = logging.getLogger(__name__)
_MAX_LABELS = 8  # epoch-slider marks that carry a text label; the rest are ticks only
_GIDS = tuple(g.gid for g in GROUPS)
CONTROL_OUTPUTS = ("variant", "min", "max", "marks", "value", "epochs", "neuron", "neuron_max", "head", "head_max",
                   "groups")  # the order of the controls callback's outputs


def slider_marks(epochs: list[int], turn: int | None, label: int | None = None) -> dict:
    """Marks at each slider position (a checkpoint); a few carry the epoch, the turn is in red:
    at checkpoint `turn`, the one nearest the turn, labelled with the turn's own epoch `label`."""
    if not epochs:
        return {}
    step = max(1, math.ceil(len(epochs) / _MAX_LABELS))
    labelled = set(range(0, len(epochs), step)) | {len(epochs) - 1}
    t = epochs.index(turn) if turn in epochs else None
    if t is not None:  # keep the turn's label clear of its neighbours' labels
        labelled = {i for i in labelled if abs(i - t) >= max(1, step * 0.75)}
    marks: dict = {str(i): (str(e) if i in labelled else "") for i, e in enumerate(epochs)}
    if t is not None:
        marks[str(t)] = {"label": f"turn {turn if label is None else label}",
                         "style": {"color": "#d62728", "fontWeight": "bold"}}
    return marks


def _pick_variant(store: Store, *candidates: object) -> RunKey:
    for vid in candidates:
        try:
            return data.resolve_variant(store, vid)
        except UserError:
            continue
    runs = store.runs()
    if not runs:
        raise PreventUpdate  # the page's banner says what to run
    return runs[0]


def _pick_epoch(store: Store, key: RunKey, epochs: list[int], wanted: object, keep: object) -> int | None:
    """The URL's epoch, else the epoch shown before when this run has it, else the latest analyzed."""
    if as_int(wanted) is not None:
        return data.nearest_epoch(epochs, as_int(wanted))
    if as_int(keep) in epochs:
        return as_int(keep)
    return data.latest_analyzed(store, key)


def controls(store: Store, search: object, vid: object, trigger: object, current: dict) -> tuple:
    """Controls callback body: the slider for a run, and the state restored from the URL.

    Args:
        store: the served store; search: the URL query; vid: the picker's value;
        trigger: "url", "variant" or None (first load, treated like "url");
        current: the browser's "epoch" (slider position), "epochs" (its epochs store),
            "neuron", "head" (all untrusted).
    Returns:
        Values in CONTROL_OUTPUTS order; groups is `no_update` unless the URL names them.
    Raises:
        PreventUpdate: when the store has no runs.
    """
    state = parse_state(search) if trigger in (None, "url") else {}
    key = _pick_variant(store, state.get("variant"), vid)
    epochs = data.epochs(store, key)
    shown = current.get("epochs") if isinstance(current.get("epochs"), dict) else {}
    at = _pick_epoch(store, key, epochs, state.get("epoch"), epoch_at(current.get("epoch"), shown.get("epochs")))
    turn = data.turn_epoch(store, key)
    turn_mark = data.nearest_epoch(epochs, turn) if turn is not None else None
    n_neurons, n_heads = panels.control_limits(store, key)
    groups = [g for g in state["groups"] if g in _GIDS] if "groups" in state else no_update
    new_vid = data.variant_id(key)
    applies = set(run_views(store, key))  # groups with no view for this run's family are hidden
    shown_groups = [g.gid for g in GROUPS if any(p.view in applies for p in g.panels)]
    turn = round(turn) if turn is not None else None  # the onset itself: the readout and the mark say it
    return (new_vid if new_vid != vid else no_update, 0, max(len(epochs) - 1, 0), slider_marks(epochs, turn_mark, turn),
            epochs.index(at) if at in epochs else 0,
            {"vid": new_vid, "epochs": epochs, "turn": turn, "groups": shown_groups},
            select_index(state.get("neuron", current.get("neuron")), limit=n_neurons),
            n_neurons - 1 if n_neurons else None,
            select_index(state.get("head", current.get("head")), limit=n_heads), n_heads - 1 if n_heads else None,
            groups)


def panel_outputs(store: Store, vid: object, index: object, epochs: object, neuron: object, head: object,
                  groups: object, drawn: object, prefetcher: Prefetcher | None = None, visible: object = None,
                  log_x: object = None) -> list:
    """Panels callback body: every panel's (figure, message, class) and the new drawn record.

    Args:
        vid: the picker's value; index: the slider position; epochs: the browser's epochs store;
        neuron, head: the inputs' values; groups: ids of open groups; drawn: what each panel shows
        (all untrusted); prefetcher: if given, it renders the neighbouring checkpoints afterwards;
        visible: ids of the panels on screen (untrusted; anything but a list, or one holding "*", means all);
        log_x: the log-x checklist's value (["log"]: every curve over training on a log x axis).
    Raises:
        PreventUpdate: for a variant that is not a run of the store.
    """
    listed = epochs.get("epochs") if isinstance(epochs, dict) else None
    try:
        req = panels.make_request(store, vid, epoch_at(index, listed), neuron, head, log_x)
    except UserError:
        raise PreventUpdate from None
    open_groups = {g for g in groups if isinstance(g, str)} if isinstance(groups, list) else set()
    shown = {v for v in visible if isinstance(v, str)} if isinstance(visible, list) and "*" not in visible else None
    outputs, new_drawn = panels.update_panels(store, req, open_groups, drawn, shown)
    new_drawn["_query"] = {"variant": req["vid"], "epoch": "" if req["at"] is None else req["at"],
                           "neuron": req["neuron"], "head": req["head"]}
    new_drawn["_name"] = export_name(req["key"], "panels", req["at"])
    if isinstance(visible, list) and "*" in visible:  # a batch export's request: it waits for this answer
        new_drawn["_all"] = next((v for v in visible if isinstance(v, str) and v != "*"), "")
    if prefetcher is not None:
        prefetcher.submit(store, req, panels.shown_per_epoch(store, req, open_groups, shown))
    return [*outputs, new_drawn]


def _safe(body, fallback):
    """Run a callback body; PreventUpdate passes, any other error is logged and answered with `fallback`."""
    try:
        return body()
    except PreventUpdate:
        raise
    except Exception:  # never a 500: the page keeps what it shows
        log.exception("dashboard callback failed")
        return fallback


def _register_controls(app, store: Store) -> None:
    outputs = [Output("variant", "value"), Output("epoch", "min"), Output("epoch", "max"), Output("epoch", "marks"),
               Output("epoch", "value"), Output("epochs", "data"), Output("neuron", "value"), Output("neuron", "max"),
               Output("head", "value"), Output("head", "max"), Output("groups", "data")]

    @app.callback(*outputs, Input("url", "search"), Input("variant", "value"), State("epoch", "value"),
                  State("epochs", "data"), State("neuron", "value"), State("head", "value"))
    def _controls(search, vid, index, epochs, neuron, head):
        trigger = ctx.triggered_id if ctx.triggered_id in ("url", "variant") else None
        current = {"epoch": index, "epochs": epochs, "neuron": neuron, "head": head}
        return _safe(lambda: controls(store, search, vid, trigger, current), [no_update] * len(outputs))


def _register_panels(app, store: Store) -> None:
    prefetcher = Prefetcher()
    outputs = []
    for view in panels.VIEWS:
        outputs += [Output(panel_id(view), "figure"), Output(f"msg-{view}", "children"),
                    Output(f"panel-{view}", "className")]
    outputs.append(Output("drawn", "data"))

    @app.callback(*outputs, Input("variant", "value"), Input("epoch", "value"), Input("neuron", "value"),
                  Input("head", "value"), Input("groups", "data"), Input("visible", "data"), Input("log-x", "value"),
                  State("epochs", "data"), State("drawn", "data"),
                  running=[(Output("panels", "className"), "busy", ""),
                           (Output("busy-note", "className"), "busy-note on", "busy-note")])
    def _panels(vid, index, neuron, head, groups, visible, log_x, epochs, drawn):
        return _safe(lambda: panel_outputs(store, vid, index, epochs, neuron, head, groups, drawn, prefetcher,
                                           visible, log_x),
                     [no_update] * len(outputs))


def register(app, store: Store) -> None:
    """Attach the explore page's server callbacks to `app`, serving `store`."""
    _register_controls(app, store)
    _register_panels(app, store)
