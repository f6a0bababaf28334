"""Explore-page server callbacks as plain functions (importable, testable), plus their wiring.

Two server callbacks drive the page:

- `controls`: on load (from the URL) or when the variant changes, set the slider to the
  run's checkpoints, restore the epoch, the option controls and open groups, and show the
  controls that some view of the run takes, with the run's ranges;
- the panels callback: one request per change of epoch, an option control, variant, open
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
from workbench.store import RunKey, Store
from workbench.ui.dashboard import curves, data, options, panels
from workbench.ui.dashboard.groups import GROUPS, panel_id
from workbench.ui.dashboard.labels import export_name
from workbench.ui.dashboard.layout import STATE
from workbench.ui.dashboard.prefetch import Prefetcher
from workbench.ui.dashboard.state import parse_state
from workbench.ui.dashboard.values import as_int, epoch_at

__all__ = ["slider_marks", "controls", "panel_outputs", "register", "CONTROL_OUTPUTS"]

log = logging.getLogger(__name__)
_MAX_LABELS = 8  # epoch-slider marks that carry a text label; the rest are ticks only
_LABEL_ROOM = 215  # px between the slider's first and last mark centres in the sidebar (measured: 217)
_CHAR_PX, _GAP_PX = 8, 6  # a label's estimated width: 7-7.6 px a character measured, and room between labels
_GIDS = tuple(g.gid for g in GROUPS)
# the order of the controls callback's outputs: then, per option control, its value and its box's style
# (and a name control's entries)
CONTROL_OUTPUTS = ("variant", "min", "max", "marks", "value", "epochs", "ranges", "groups",
                   *(f"{o.key}{part}" for o in options.CONTROLS
                     for part in ("", "_box", *(("_names",) if o.kind == "name" else ()))))


def slider_marks(epochs: list[int], turn: int | None, label: int | None = None) -> dict:
    """Marks at each slider position (a checkpoint); a few carry the epoch, the turn is in red:
    at checkpoint `turn`, the one nearest the turn, labelled with the turn's own epoch `label`.

    A label is kept only where its estimated width clears every label already kept (the turn
    first, then the last and first checkpoints, then evenly spaced ones), so labels never
    collide, whatever the width of the turn's label (issue 30 item 5)."""
    if not epochs:
        return {}
    t = epochs.index(turn) if turn in epochs else None
    texts = {i: str(e) for i, e in enumerate(epochs)}
    if t is not None:
        texts[t] = f"turn {turn if label is None else label}"
    fits = max(2, min(_MAX_LABELS, _LABEL_ROOM // (_CHAR_PX * len(str(max(epochs))) + _GAP_PX)))
    step, last = max(1, math.ceil((len(epochs) - 1) / (fits - 1))), len(epochs) - 1
    kept: list[tuple[float, float]] = []  # (centre, half width) in px along the track
    labelled = set()
    for i in ([t] if t is not None else []) + [last, 0] + list(range(step, last, step)):
        centre, half = _LABEL_ROOM * i / max(last, 1), (_CHAR_PX * len(texts[i]) + _GAP_PX) / 2
        if i not in labelled and all(abs(centre - c) >= half + h for c, h in kept):
            kept.append((centre, half))
            labelled.add(i)
    marks: dict = {str(i): (texts[i] if i in labelled else "") for i in range(len(epochs))}
    if t is not None and t in labelled:
        marks[str(t)] = {"label": texts[t], "style": {"color": "#d62728", "fontWeight": "bold"}}
    return marks


def _pick_variant(store: Store, *candidates: object) -> RunKey:
    for vid in candidates:
        try:
            return data.resolve_variant(store, vid)
        except UserError:
            continue
    key = data.default_run(store)
    if key is None:
        raise PreventUpdate  # the page's banner says what to run
    return key


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
        current: the browser's "epoch" (slider position), "epochs" (its epochs store) and
            "options" ({control key: value}) (all untrusted).
    Returns:
        Values in CONTROL_OUTPUTS order; groups is `no_update` unless the URL names them.
    Raises:
        PreventUpdate: when the store has no runs.
    """
    state = parse_state(search, STATE) if trigger in (None, "url") else {}
    key = _pick_variant(store, state.get("variant"), vid)
    epochs = data.epochs(store, key)
    shown = current.get("epochs") if isinstance(current.get("epochs"), dict) else {}
    at = _pick_epoch(store, key, epochs, state.get("epoch"), epoch_at(current.get("epoch"), shown.get("epochs")))
    turn = data.turn_epoch(store, key)
    turn_mark = data.nearest_epoch(epochs, turn) if turn is not None else None
    groups = [g for g in state["groups"] if g in _GIDS] if "groups" in state else no_update
    new_vid = data.variant_id(key)
    applies = set(data.shown_views(store, key))  # groups with no view for this run's family are hidden
    shown_groups = [g.gid for g in GROUPS if any(p.view in applies for p in g.panels)]
    turn = round(turn) if turn is not None else None  # the onset itself: the readout and the mark say it
    ranges = options.ranges(store, key)
    return (new_vid if new_vid != vid else no_update, 0, max(len(epochs) - 1, 0), slider_marks(epochs, turn_mark, turn),
            epochs.index(at) if at in epochs else 0,
            {"vid": new_vid, "epochs": epochs, "turn": turn, "groups": shown_groups,
             "marked": data.markers_analyzed(store, key)}, ranges, groups,
            *_control_values(state, current.get("options"), ranges))


def _control_values(state: dict, current: object, ranges: dict) -> list:
    """Per option control: its value (the URL's, else the one shown; the browser then clamps it to
    the run's range with a note, `options.CLAMP_JS`) and its box's style (hidden when no view of
    the run takes it); a name control also gets the names the run offers, in the same answer (a
    dropdown drops a value its entries lack)."""
    current = current if isinstance(current, dict) else {}
    out = []
    for option in options.CONTROLS:
        out += [options.asked(option, state.get(option.key, current.get(option.key))),
                {} if option.key in ranges else {"display": "none"}]
        if option.kind == "name":
            out.append(options.name_options(option, ranges))
    return out


def panel_outputs(store: Store, vid: object, index: object, epochs: object, values: object,
                  groups: object, drawn: object, prefetcher: Prefetcher | None = None, visible: object = None,
                  chart: object = None) -> list:
    """Panels callback body: every panel's (figure, message, class) and the new drawn record.

    Args:
        vid: the picker's value; index: the slider position; epochs: the browser's epochs store;
        values: the option controls' values, {control key: value}; groups: ids of open groups;
        drawn: what each panel shows (all untrusted); prefetcher: if given, it renders the
        neighbouring checkpoints afterwards;
        visible: ids of the panels on screen (untrusted; anything but a list, or one holding "*", means all);
        chart: the chart controls' values, {"smooth", "scale", "x"} (curves.py; untrusted).
    Raises:
        PreventUpdate: for a variant that is not a run of the store.
    """
    listed = epochs.get("epochs") if isinstance(epochs, dict) else None
    try:
        req = panels.make_request(store, vid, epoch_at(index, listed), values, chart)
    except UserError:
        raise PreventUpdate from None
    open_groups = {g for g in groups if isinstance(g, str)} if isinstance(groups, list) else set()
    shown = {v for v in visible if isinstance(v, str)} if isinstance(visible, list) and "*" not in visible else None
    outputs, new_drawn = panels.update_panels(store, req, open_groups, drawn, shown)
    new_drawn["_query"] = {"variant": req["vid"], "epoch": "" if req["at"] is None else req["at"], **req["options"],
                           **curves.query(req["curves"])}
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


def _option_outputs() -> list:
    return [out for o in options.CONTROLS for cid in [options.control_id(o)]
            for out in (Output(cid, "value", allow_duplicate=True), Output(f"{cid}-box", "style"),
                        *([Output(cid, "options")] if o.kind == "name" else []))]


def _register_controls(app, store: Store) -> None:
    outputs = [Output("variant", "value"), Output("epoch", "min"), Output("epoch", "max"), Output("epoch", "marks"),
               Output("epoch", "value"), Output("epochs", "data"), Output("option-ranges", "data"),
               Output("groups", "data"), *_option_outputs()]
    keys = [o.key for o in options.CONTROLS]

    @app.callback(*outputs, Input("url", "search"), Input("variant", "value"), State("epoch", "value"),
                  State("epochs", "data"), *[State(options.control_id(o), "value") for o in options.CONTROLS],
                  prevent_initial_call="initial_duplicate")
    def _controls(search, vid, index, epochs, *values):
        trigger = ctx.triggered_id if ctx.triggered_id in ("url", "variant") else None
        current = {"epoch": index, "epochs": epochs, "options": dict(zip(keys, values))}
        return _safe(lambda: controls(store, search, vid, trigger, current), [no_update] * len(outputs))


def _register_panels(app, store: Store) -> None:
    prefetcher = Prefetcher()
    outputs = []
    for view in panels.VIEWS:
        outputs += [Output(panel_id(view), "figure"), Output(f"msg-{view}", "children"),
                    Output(f"panel-{view}", "className")]
    outputs.append(Output("drawn", "data"))
    keys = [o.key for o in options.CONTROLS]

    @app.callback(*outputs, Input("variant", "value"), Input("epoch", "value"), Input("groups", "data"),
                  Input("visible", "data"), Input("curve-smooth", "value"), Input("curve-scale", "value"),
                  Input("curve-x", "value"), *[Input(options.control_id(o), "value") for o in options.CONTROLS],
                  State("epochs", "data"), State("drawn", "data"),
                  running=[(Output("panels", "className"), "busy", ""),
                           (Output("busy-note", "className"), "busy-note on", "busy-note")])
    def _panels(vid, index, groups, visible, smooth, scale, x, *rest):
        values, (epochs, drawn) = dict(zip(keys, rest[:len(keys)])), rest[len(keys):]
        chart = {"smooth": smooth, "scale": scale, "x": x}
        return _safe(lambda: panel_outputs(store, vid, index, epochs, values, groups, drawn, prefetcher, visible,
                                           chart),
                     [no_update] * len(outputs))


def register(app, store: Store) -> None:
    """Attach the explore page's server callbacks to `app`, serving `store`."""
    _register_controls(app, store)
    _register_panels(app, store)
