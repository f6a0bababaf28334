"""The per-input trace across training (trace_history): one input's computation, checkpoint by checkpoint.

Six panels over epochs. Top: every traced input's correct-class logit and rank at the last
stage, train solid and test dashed side by side. Then, for the chosen input (`input`): its
correct-class logit after each residual stage, each head's attention from the answer position
to the operands, the top neurons' direct contributions to its correct logit (labelled with the
frequency each neuron writes), and its final-stage projection on each key frequency. The turn
(dashed and dotted grey) and the input's key-frequency emergence (green) are marked on every panel.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from renderers._axis import TRAINING_AXIS, over_training
from renderers._style import COLORS, EPOCH_AXIS, EPOCH_HOVER, LOG_AXIS, diverging_heatmap, epoch_scatter, freq_label, line, styled, subplots
from renderers._validate import option_index, require, same_length
from renderers.trajectories import _turns, mark_turn
from workbench.core.view import ViewOption, register_view

__all__ = ["render_trace", "TRACE_INPUT", "PROBE"]

TRACE_INPUT = ViewOption("input", "Traced input", axis="row", key="trace_input",
                         help="which traced input the lower panels follow: its row in the probe's trace (train first)")
PROBE = ViewOption("probe", "Probe", kind="name", names="probes", default="canonical",
                   help="whose trace to draw: a named probe of this family (`workbench probe list`), or the "
                        "canonical probe's 4 train and 4 test pairs")
N_TOP = 12  # neurons shown: the largest |contribution| at the last checkpoint
_P = "trace_history."
_DASH = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")


def _label(inputs: np.ndarray, is_train: np.ndarray, row: int) -> str:
    return "+".join(str(int(v)) for v in inputs[row]) + (" (train)" if is_train[row] else " (test)")


def _custom(epochs: np.ndarray) -> np.ndarray:
    return np.asarray(epochs).astype(int)[:, None]


def _all_inputs(fig: go.Figure, a: dict) -> None:
    """Row 1: each input's last-stage correct logit and rank, train solid, test dashed."""
    for r in range(len(a["inputs"])):
        split = "train" if a["is_train"][r] else "test"
        style = {"color": COLORS[split], "dash": "solid" if split == "train" else "dash", "width": 1.2}
        name = _label(a["inputs"], a["is_train"], r)
        for col, values, fmt in ((1, a["correct_logit"][:, r, -1], ".3g"), (2, a["rank"][:, r, -1] + 1, "d")):
            fig.add_trace(line(x=a["epochs"], y=values, name=name, legendgroup=split, showlegend=False, line=style,
                               customdata=_custom(a["epochs"]),
                               hovertemplate=f"{name}<br>{EPOCH_HOVER}<br>%{{y:{fmt}}}<extra></extra>"), 1, col)


def _chosen(fig: go.Figure, a: dict, r: int) -> None:
    """Rows 2-3: the chosen input's stages, attention, neurons and key projections."""
    x, custom = a["epochs"], _custom(a["epochs"])
    for s, stage in enumerate(a["stages"]):
        fig.add_trace(epoch_scatter(x=x, y=a["correct_logit"][:, r, s], name=f"after {stage}", customdata=custom,
                                    legendgroup="stage", hovertemplate=f"after {stage}<br>{EPOCH_HOVER}<br>"
                                    "logit %{y:.3g}<extra></extra>"), 2, 1)
    pos = [str(p) for p in a["pos_names"]]
    for h, head in enumerate(a["head_names"]):
        for j, target in enumerate(p for p in pos if p in ("a", "b")):
            y = a["attention"][:, r, h, pos.index(target)]
            fig.add_trace(line(x=x, y=y, name=f"{head} → {target}", legendgroup="attn", customdata=custom,
                               line={"dash": _DASH[j % len(_DASH)]},
                               hovertemplate=f"{head} attends to {target}<br>{EPOCH_HOVER}<br>%{{y:.2f}}<extra></extra>"),
                          2, 2)
    contrib = a["neuron_contrib"][:, r, :]  # [epoch, neuron]
    top = np.argsort(-np.abs(contrib[-1]))[:N_TOP]
    names = [f"n{int(n)} ({freq_label(a['neuron_freq'][n])})" for n in top]
    cells = np.broadcast_to(custom[None, :, :], (len(top), len(x), 1))  # [neuron, epoch, 1]
    fig.add_trace(diverging_heatmap(z=contrib[:, top].T, x=x, y=names, colorbar={"len": 0.28, "y": 0.14, "x": 0.465, "thickness": 12},
                                    customdata=cells, hovertemplate=f"%{{y}}<br>{EPOCH_HOVER}<br>"
                                    "contribution %{z:.3g}<extra></extra>"), 3, 1)
    for k, freq in enumerate(a["key_freqs"]):
        fig.add_trace(epoch_scatter(x=x, y=a["key_projection"][:, r, -1, k], name=f"key {freq_label(freq)}",
                                    customdata=custom, legendgroup="key", hovertemplate=f"key {freq_label(freq)}"
                                    f"<br>{EPOCH_HOVER}<br>norm %{{y:.3g}}<extra></extra>"), 3, 2)


def _arrays(arrays: dict) -> dict:
    """The trace_history arrays (prefixed when the view has its turn source too), checked."""
    view = "trace"
    get = (lambda k, dims: require(arrays, _P + k, dims, view)) if _P + "epochs" in arrays else \
        (lambda k, dims: require(arrays, k, dims, view))
    a = {k: get(k, d) for k, d in (("epochs", ("epoch",)), ("inputs", ("row", "operand")), ("is_train", ("row",)),
                                   ("stages", ("stage",)), ("head_names", ("head",)), ("pos_names", ("pos",)),
                                   ("key_freqs", ("key",)), ("neuron_freq", ("neuron",)),
                                   ("correct_logit", ("epoch", "row", "stage")), ("rank", ("epoch", "row", "stage")),
                                   ("attention", ("epoch", "row", "head", "pos")),
                                   ("neuron_contrib", ("epoch", "row", "neuron")),
                                   ("key_projection", ("epoch", "row", "stage", "key")),
                                   ("emergence_epoch", ("row",)))}
    same_length(view, "epoch", epochs=a["epochs"], correct_logit=a["correct_logit"], attention=a["attention"])
    same_length(view, "row", inputs=a["inputs"], is_train=a["is_train"], emergence=a["emergence_epoch"])
    return a


@register_view("trace", scope="trajectory", sources=("trace_history", "turn"), options=(TRACE_INPUT, PROBE, *TRAINING_AXIS),
               group="output", order=40, wide=True, click="epoch")
@over_training
def render_trace(arrays: dict, *, input: int = 0, probe: str | None = None) -> go.Figure:
    """One input's computation across training: logit lens, attention, top neurons, key-frequency projection.

    Args:
        arrays: trace_history's summary (optionally with "trace_history." prefixes and the turn's
            "turn.turn_onset_epoch", "turn.turn_midpoint_epoch").
        input: the traced input (row) the lower four panels follow.
        probe: which probe's arrays these are (the store read them; unused here).
    Returns:
        A 3x2 figure over epochs with the turn and the input's key-frequency emergence marked.
    """
    a = _arrays(arrays)
    r = option_index(input, len(a["inputs"]), "trace", "input")
    name = _label(a["inputs"], a["is_train"], r)
    fig = subplots(3, 2, vertical_spacing=0.12, horizontal_spacing=0.07, subplot_titles=(  # titles wrap: room for 3 lines
        "all inputs: correct logit (train solid, test dashed)", "rank of the correct class + 1 (1 = top)",
        f"{name}: correct-class logit after each stage", f"{name}: attention from the answer position",
        f"{name}: top neurons' contribution to the correct logit", f"{name}: projection on key frequencies"))
    _all_inputs(fig, a)
    _chosen(fig, a, r)
    mark_turn(fig, _turns(arrays))
    emerged = int(a["emergence_epoch"][r])
    if emerged >= 0:
        fig.add_vline(x=emerged, line_color=COLORS["restricted"], line_dash="dot", row="all", col="all")
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", name=f"key frequencies emerge {emerged}",
                                 line={"color": COLORS["restricted"], "dash": "dot"}, customdata=[[emerged]],
                                 hovertemplate=f"key frequencies emerge<br>{EPOCH_HOVER}<extra></extra>"))
    fig.update_xaxes(**EPOCH_AXIS)
    fig.update_yaxes(**LOG_AXIS, dtick=1, row=1, col=2)  # decades only: a rank's minor ticks crowd the panel
    return styled(fig, f"Trace of {name} across training ({len(a['inputs'])} inputs traced)", height=1180,
                  legend={"y": -0.08}, margin={"l": 60, "r": 20, "t": 120, "b": 50})
