"""The compare page's side-by-side section: one per-epoch view of two runs next to each other.

Pick a per-epoch view (a neuron heatmap, an embedding spectrum, ...) and where to look:
the same epoch for both runs (each shows its checkpoint nearest to it), or each run at its
own turn (the checkpoint nearest its detected turn onset, so runs that grok at different
times are seen at the same stage). The runs are the first two of the page's selection.
Each panel's heading names the run and the epoch it shows (and, at the turn, the turn's
own epoch); a run whose family lacks the view, whose turn was not found, or that lacks the
view's artifact at that checkpoint says so in its panel, with the command that makes it.
The panels are drawn by the explore page's own `panels.render_panel`, so they match it.

The panels follow the Explore page's option controls (neuron, head, probe, ...), each value
clamped to the run's own range, so both runs show the same neuron or head as the Explore page.
The two runs are picked in the section (left and right), from the page's selection; an empty
or stale pick falls back to the first (second) selected run. "same colour scale" (on by default)
gives both panels' k-th heatmap one z range, the union of the two (symmetric about zero where
the view centres its scale there), so equal colours mean equal values across the runs: each
panel's own range would make a weak run's pattern look as strong as a grokked one's.
"""

from __future__ import annotations

import logging

from dash import Input, Output, State, dcc, html, no_update

from workbench.core.view import get_view, list_views
from workbench.store import RunKey, Store
from workbench.ui.dashboard import data, options, panels
from workbench.ui.dashboard.colour_scale import shared_z
from workbench.ui.dashboard.labels import short_labels
from workbench.ui.dashboard.layout import GRAPH_CONFIG
from workbench.ui.dashboard.pages import StateField

__all__ = ["STATE", "AT_CHOICES", "section", "side_by_side", "register"]

log = logging.getLogger(__name__)
AT_CHOICES = ("epoch", "turn")
# a responsive graph first drawn while its panel is hidden (empty) collapses: its height is set from each figure's
_BLANK = {"data": [], "layout": {"xaxis": {"visible": False}, "yaxis": {"visible": False}, "height": 420}}
_VIEWS = tuple(v for v in panels.VIEWS if get_view(v).scope == "epoch")  # page order
_DEFAULT_VIEW = "neuron_heatmap" if "neuron_heatmap" in _VIEWS else (_VIEWS[0] if _VIEWS else None)
STATE = (StateField("side_view", "side-view", choices=tuple(list_views("epoch")), default=_DEFAULT_VIEW),
         StateField("side_at", "side-at", choices=AT_CHOICES, default="epoch"),
         StateField("side_epoch", "side-epoch", kind="int"),
         StateField("side_left", "side-run-0"), StateField("side_right", "side-run-1"),
         StateField("side_scale", "side-scale", choices=("shared", "own"), default="shared"))


def section(runs: list[dict]) -> html.Div:
    """The section's controls and its two panels; `runs`: every run's option, the pickers' options until
    the selection narrows them (a run picked in the URL must be among the options when it is restored, or
    the dropdown drops it)."""
    views = [{"label": v, "value": v, "title": get_view(v).description} for v in _VIEWS]
    return html.Div(id="side-section", children=[
        html.H3("Side by side: one per-epoch view of two selected runs"),
        html.Div("The neuron, head and other options are those set on the Explore page (each clamped to the "
                 "run's own range).", className="readout"),
        html.Div(className="compare-pickers", children=[
            dcc.Dropdown(id="side-run-0", placeholder="left: the first selected run", options=runs),
            dcc.Dropdown(id="side-run-1", placeholder="right: the second selected run", options=runs)]),
        html.Div(className="compare-pickers", children=[
            dcc.Dropdown(id="side-view", options=views, value=_DEFAULT_VIEW, clearable=False),
            html.Div([dcc.RadioItems(id="side-at", value="epoch", inline=True, options=[
                {"label": " same epoch ", "value": "epoch"}, {"label": " each at its own turn", "value": "turn"}]),
                dcc.RadioItems(id="side-scale", value="shared", inline=True, options=[
                    {"label": " same colour scale ", "value": "shared"}, {"label": " each its own", "value": "own"}]),
                dcc.Input(id="side-epoch", type="number", min=0, placeholder="epoch (default: the last)",
                          debounce=True)])]),
        html.Div(className="group-body", children=[_slot(i) for i in range(2)]),
    ])


def _slot(i: int) -> html.Div:
    return html.Div(id=f"side-panel-{i}", className="panel empty", children=[
        html.Div(id=f"side-head-{i}", className="msg-title side-head"),
        html.Div(id=f"side-msg-{i}", className="compare-msg"),
        dcc.Graph(id=f"side-fig-{i}", config=GRAPH_CONFIG, figure=_BLANK)])


def _epoch_for(store: Store, key: RunKey, at: str, epoch: object) -> tuple[int | None, str]:
    """(the checkpoint to show, what the heading adds), or (None, why there is none)."""
    epochs = data.epochs(store, key)
    if not epochs:
        return None, "no checkpoints yet"
    if at == "turn":
        turn = data.turn_epoch(store, key)
        if turn is None:
            return None, ("no turn detected" if data.markers_analyzed(store, key) else
                          f"turn not analyzed yet; run: workbench analyze {key.family}:{key.variant}")
        shown = data.nearest_epoch(epochs, turn)
        return shown, "the turn" if shown == round(turn) else f"the checkpoint nearest its turn at {round(turn)}"
    shown = data.nearest_epoch(epochs, epoch if epoch is not None else epochs[-1])
    return shown, "" if epoch is None or shown == epoch else f"the checkpoint nearest epoch {epoch}"


def _one(store: Store, key: RunKey, label: str, view: str, at: str, epoch: object, values: object = None) -> tuple:
    """(heading, message, figure, class, graph style) of one run's panel; `values`: the option controls'
    {key: value} (neuron, head, ...; untrusted, clamped to each run's own range)."""
    shown, note = _epoch_for(store, key, at, epoch)
    if shown is None:
        return label, note, no_update, "panel empty", no_update
    head = f"{label} · epoch {shown}" + (f" ({note})" if note else "")
    if view not in data.shown_views(store, key):
        return head, f"{key.family} runs have no {view} view", no_update, "panel empty", no_update
    fig, msg, cls, _ = panels.render_panel(store, view, panels.make_request(store, data.variant_id(key), shown, values))
    if "empty" in cls or fig is no_update:
        return head, msg, no_update, "panel empty", no_update
    return head, [], fig, "panel", {"height": f"{(fig.get('layout') or {}).get('height') or 420}px"}


def _selected(store: Store, vids: object) -> dict[str, RunKey]:
    """The page's selection as {variant id: key}, in order; unknown ids skipped (as the overlays do)."""
    keys: dict[str, RunKey] = {}
    for vid in vids if isinstance(vids, list) else []:
        try:
            key = data.resolve_variant(store, vid)
        except Exception:  # noqa: BLE001
            continue
        if key not in keys.values():
            keys[vid] = key
    return keys


def picked(store: Store, vids: object, picks: object = None) -> list[RunKey]:
    """The (up to) two runs to show: each pick (left, right) that is in the selection, the
    selection's first runs not already shown in place of a missing or stale one."""
    selected = _selected(store, vids)
    picks = (list(picks) if isinstance(picks, (list, tuple)) else [])[:2]
    chosen = [selected.get(p) if isinstance(p, str) else None for p in picks + [None] * (2 - len(picks))]
    rest = [k for k in selected.values() if k not in chosen]
    out: list[RunKey] = []
    for key in chosen:
        if key is None or key in out:
            key = rest.pop(0) if rest else None
        if key is not None:
            out.append(key)
    return out


def run_options(store: Store, vids: object) -> list[dict]:
    """The run pickers' options: the selected runs, by their short labels (the full spec on hover)."""
    selected = _selected(store, vids)
    labels = short_labels(list(selected.values()))
    return [{"label": labels[k], "value": vid, "title": f"{k.family}:{k.variant}"} for vid, k in selected.items()]


def side_by_side(store: Store, vids: object, view: object, at: object, epoch: object, picks: object = None,
                 scale: object = "shared", values: object = None) -> list:
    """Callback body: (heading, message, figure, class, graph style) for each of the two panels, flattened; the
    inputs are untrusted (an unknown view or run reads as none)."""
    keys = picked(store, vids, picks)
    view = view if view in _VIEWS else _DEFAULT_VIEW
    at = at if at in AT_CHOICES else "epoch"
    epoch = epoch if isinstance(epoch, int) and not isinstance(epoch, bool) and epoch >= 0 else None
    labels = short_labels(keys)
    out: list = []
    for i in range(2):
        if i < len(keys):
            out += _one(store, keys[i], labels[keys[i]], view, at, epoch, values)
        else:
            out += ["", "select two runs above to see them side by side", no_update, "panel empty", no_update]
    figs = (out[2], out[7])
    if scale != "own" and all(isinstance(f, dict) for f in figs):
        out[2], out[7] = shared_z(*figs)
    return out


def register(app, store: Store, path: str) -> None:
    """Attach the section's callback (idle while the compare page is hidden)."""
    outputs = [o for i in range(2) for o in (Output(f"side-head-{i}", "children"), Output(f"side-msg-{i}", "children"),
                                             Output(f"side-fig-{i}", "figure"), Output(f"side-panel-{i}", "className"),
                                             Output(f"side-fig-{i}", "style"))]

    @app.callback(Output("side-run-0", "options"), Output("side-run-1", "options"),
                  Input("compare-variants", "value"), Input("url", "pathname"))
    def _pickers(vids, pathname):
        if pathname != path:
            return no_update, no_update
        runs = run_options(store, vids)
        return runs, runs

    @app.callback(*outputs, Input("compare-variants", "value"), Input("side-view", "value"),
                  Input("side-at", "value"), Input("side-epoch", "value"), Input("side-run-0", "value"),
                  Input("side-run-1", "value"), Input("side-scale", "value"), Input("url", "pathname"),
                  *[State(options.control_id(o), "value") for o in options.CONTROLS])
    def _side(vids, view, at, epoch, left, right, scale, pathname, *values):
        if pathname != path:
            return [no_update] * len(outputs)
        try:
            return side_by_side(store, vids, view, at, epoch, [left, right], scale,
                                dict(zip([o.key for o in options.CONTROLS], values)))
        except Exception:  # never a 500: keep what the page shows
            log.exception("side by side failed")
            return [no_update] * len(outputs)
