"""Views of the least-action study (issue 12): the output function's 2-D power spectrum and
its smoothness over training, the routed network's gates (dominant head per input, entropy
and head usage over training), and training curves with weight norm and smoothness."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from renderers._axis import TRAINING_AXIS, over_training
from renderers._style import (
    COLORS,
    EPOCH_AXIS,
    EPOCH_HOVER,
    LOG_AXIS,
    epoch_scatter,
    sequential_heatmap,
    square_axes,
    styled,
    subplots,
)
from renderers._validate import require, same_length
from renderers.trajectories import _turns, mark_turn  # the turn marks, drawn as on loss_curves
from workbench.core.view import register_view

__all__ = ["render_output_spectrum", "render_smoothness", "render_smoothness_both", "render_routing_heatmap",
           "render_routing_trajectory", "render_training_curves"]

HEAD_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
               "#bcbd22", "#17becf")  # one colour per routing head, in every routing figure
LAYER_DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")  # one line style per block
REFERENCE = {"target": "#2ca02c", "chance": "#7f7f7f", "max": "#7f7f7f"}


def _custom(epochs: np.ndarray) -> np.ndarray:
    return np.asarray(epochs).astype(int)[:, None]  # [epoch, 1]: customdata[0] = epoch


def _head_color(h: int) -> str:
    return HEAD_COLORS[h % len(HEAD_COLORS)]


def _reference_line(fig: go.Figure, y: float, label: str, color: str, **where) -> None:
    """A dotted horizontal reference (a layout shape, not a trace) labelled at its right end."""
    if np.isfinite(y):
        fig.add_hline(y=y, line_dash="dot", line_color=color, annotation_text=label,
                      annotation_position="top right", annotation_font_color=color, **where)


# ----------------------------------------------------------------------------- spectrum
@register_view("output_spectrum", scope="epoch", sources=("spectral_smoothness",), group="spectrum", order=10)
def render_output_spectrum(arrays: dict) -> go.Figure:
    """2-D power spectrum of the output function, the low-frequency square and the smoothness score.

    Args:
        arrays: spectral_smoothness artifact: power [k_a, k_b] (zero frequency at the centre),
            smoothness, target, chance, cutoff (scalars), indexing (what the grid's axes index).
    Returns:
        A log10-power heatmap over signed frequencies with the low-frequency square outlined.
    """
    view = "output_spectrum"
    power = require(arrays, "power", ("component", "component"), view).astype(np.float64)
    score, target, chance = (float(require(arrays, k, (), view)) for k in ("smoothness", "target", "chance"))
    cutoff = max(1, int(round(float(arrays.get("cutoff", max(1, len(power) // 8))))))
    axes = str(arrays.get("indexing", "a, b"))
    axes = axes if "," in axes else "a, b"
    first, second = (s.strip() for s in axes.split(",", 1))
    k = np.arange(len(power)) - len(power) // 2  # fftshift's signed frequencies
    logp = np.log10(np.maximum(power, 1e-12 * max(power.max(), 1e-30)))
    fig = go.Figure(sequential_heatmap(z=logp, x=k, y=k, colorbar={"title": "log10 power"},
                                       hovertemplate=f"k along {first} %{{y}}, k along {second} %{{x}}<br>"
                                                     "log10 power %{z:.2f}<extra></extra>"))
    fig.add_shape(type="rect", x0=-cutoff - 0.5, x1=cutoff + 0.5, y0=-cutoff - 0.5, y1=cutoff + 0.5,
                  line={"color": "white", "width": 2})
    fig.update_xaxes(title_text=f"frequency along {second}")
    fig.update_yaxes(title_text=f"frequency along {first}")
    square_axes(fig, len(k), len(k))
    fig.update_xaxes(range=[k[0] - 0.5, k[-1] + 0.5])
    fig.update_yaxes(range=[k[-1] + 0.5, k[0] - 0.5])
    title = (f"Output-function power spectrum over ({axes}): smoothness {score:.3f} "
             f"(exact target {target:.3f}, chance {chance:.3f}; white square: |k| ≤ {cutoff}, constant excluded)")
    return styled(fig, title, height=560, margin={"l": 60, "r": 20, "t": 60, "b": 50})


@register_view("smoothness", scope="trajectory", sources=("smoothness_trajectory",), options=TRAINING_AXIS, group="spectrum", order=20,
               click="epoch")
@over_training
def render_smoothness(arrays: dict) -> go.Figure:
    """Spectral smoothness of the output function over training, beside the exact target and chance.

    Args:
        arrays: smoothness_trajectory summary: epochs, smoothness [epoch]; target, chance (scalars).
    Returns:
        One line per checkpoint with dotted reference lines at the target's score and chance.
    """
    view = "smoothness"
    epochs = require(arrays, "epochs", ("epoch",), view)
    score = require(arrays, "smoothness", ("epoch",), view)
    target, chance = (float(require(arrays, k, (), view)) for k in ("target", "chance"))
    same_length(view, "epoch", epochs=epochs, smoothness=score)
    fig = go.Figure(epoch_scatter(x=epochs, y=score, customdata=_custom(epochs), name="smoothness",
                                  line={"color": COLORS["test"]},
                                  hovertemplate=f"{EPOCH_HOVER}<br>smoothness %{{y:.3f}}<extra></extra>"))
    _reference_line(fig, target, f"exact target {target:.3f}", REFERENCE["target"])
    _reference_line(fig, chance, f"chance {chance:.3f}", REFERENCE["chance"])
    fig.update_xaxes(**EPOCH_AXIS)
    fig.update_yaxes(title_text="low-frequency share of power", range=[0, 1.05])
    return styled(fig, "Spectral smoothness of the output function over training", showlegend=False)


@register_view("smoothness_both", scope="trajectory", sources=("smoothness_trajectory", "metrics"), options=TRAINING_AXIS,
               group="spectrum", order=25, wide=True, click="epoch", replaces=("smoothness",))
@over_training
def render_smoothness_both(arrays: dict) -> go.Figure:
    """Both smoothness definitions over training, with their references, above test accuracy.

    Args:
        arrays: "smoothness_trajectory.<k>": epochs, smoothness, smoothness_study, smoothness_study_soft
            [epoch]; target, chance, study_target, study_null_mean, study_dc_floor (scalars);
            "metrics.epoch", "metrics.test_acc" [eval].
    Returns:
        Top: ours (phasor, DC out) and the study's (argmax / expected class index, DC in), dotted
        references (each one's exact target, our chance, the study's random-label mean and a
        constant prediction's 1.0). Bottom: test accuracy. The title says what it does not measure.
    """
    view, src = "smoothness_both", "smoothness_trajectory"
    epochs = require(arrays, f"{src}.epochs", ("epoch",), view)
    series = {k: require(arrays, f"{src}.{k}", ("epoch",), view)
              for k in ("smoothness", "smoothness_study", "smoothness_study_soft")}
    ref = {k: float(require(arrays, f"{src}.{k}", (), view))
           for k in ("target", "chance", "study_target", "study_null_mean", "study_dc_floor")}
    same_length(view, "epoch", epochs=epochs, **series)
    m_epoch, test = (require(arrays, f"metrics.{k}", ("epoch",), view) for k in ("epoch", "test_acc"))
    same_length(view, "evaluation", epoch=m_epoch, test_acc=test)
    fig = subplots(2, 1, shared_xaxes=True, row_heights=[0.65, 0.35], vertical_spacing=0.08)
    for key, name, color in (("smoothness", "ours (phasor, DC out)", COLORS["test"]),
                             ("smoothness_study", "study (argmax class index, DC in)", COLORS["train"]),
                             ("smoothness_study_soft", "study soft (expected class index)", COLORS["sin"])):
        fig.add_trace(epoch_scatter(x=epochs, y=series[key], customdata=_custom(epochs), name=name, line={"color": color},
                                    hovertemplate=f"{name}<br>{EPOCH_HOVER}<br>%{{y:.3f}}<extra></extra>"), 1, 1)
    for y, label, color in ((ref["chance"], f"ours: chance {ref['chance']:.2f}", REFERENCE["chance"]),
                            (ref["study_null_mean"], f"study: random labels {ref['study_null_mean']:.2f}", COLORS["train"]),
                            (ref["study_target"], f"study: exact target {ref['study_target']:.2f}", REFERENCE["target"]),
                            (1.0, "ours: exact target 1.0 · study: any constant class > 0 1.0", REFERENCE["max"])):
        _reference_line(fig, y, label, color, row=1, col=1)
    fig.add_trace(epoch_scatter(x=m_epoch, y=test, customdata=_custom(m_epoch), name="test accuracy",
                                line={"color": COLORS["norm"]},
                                hovertemplate=f"test accuracy<br>{EPOCH_HOVER}<br>%{{y:.3f}}<extra></extra>"), 2, 1)
    fig.update_yaxes(title_text="low-frequency share", range=[0, 1.08], row=1, col=1)
    fig.update_yaxes(title_text="test accuracy", range=[0, 1.05], row=2, col=1)
    fig.update_xaxes(tickformat="d")
    fig.update_xaxes(title_text="epoch", row=2, col=1)
    title = (f"Smoothness is not generalization<br><sup>in the study's definition random labels score "
             f"{ref['study_null_mean']:.2f} and a constant prediction 1.0 (DC floor {ref['study_dc_floor']:.2f})</sup>")
    return styled(fig, title, height=640, margin={"l": 60, "r": 20, "t": 90, "b": 50})


# ----------------------------------------------------------------------------- routing
def _head_scale(n_heads: int) -> list:
    """A stepped colour scale: integer z = h gets head h's colour."""
    scale = []
    for h in range(n_heads):
        lo, hi = h / n_heads, (h + 1) / n_heads
        scale += [[lo, _head_color(h)], [hi, _head_color(h)]]
    return scale


@register_view("routing_heatmap", scope="epoch", sources=("routing",), group="routing", order=10, wide=True)
def render_routing_heatmap(arrays: dict) -> go.Figure:
    """The dominant routing head for each input (a, b), one panel per routed block.

    Args:
        arrays: routing artifact: dominant [layer, a, b] (head index), gates [layer, head, a, b],
            entropy [layer] (nats), usage [layer, head].
    Returns:
        1 x layer heatmaps coloured by head, each block's mean gate entropy in its title.
    """
    view = "routing_heatmap"
    dominant = np.rint(require(arrays, "dominant", ("layer", "a", "b"), view)).astype(int)
    gates = require(arrays, "gates", ("layer", "head", "a", "b"), view)
    entropy = require(arrays, "entropy", ("layer",), view)
    same_length(view, "layer", dominant=dominant, gates=gates, entropy=entropy)
    n_layers, n_heads, p = dominant.shape[0], gates.shape[1], dominant.shape[-1]
    titles = [f"block {i}: entropy {float(entropy[i]):.3f} of {np.log(n_heads):.3f} nats" for i in range(n_layers)]
    fig = subplots(1, n_layers, subplot_titles=titles, horizontal_spacing=0.06)
    top = gates.max(1)  # [layer, a, b] weight of the dominant head
    for i in range(n_layers):
        fig.add_trace(go.Heatmap(z=dominant[i], zmin=-0.5, zmax=n_heads - 0.5, colorscale=_head_scale(n_heads),
                                 customdata=top[i], showscale=i == n_layers - 1,
                                 colorbar={"title": "head", "tickvals": list(range(n_heads))},
                                 hovertemplate="a %{y}, b %{x}<br>dominant head %{z}<br>"
                                               "its gate weight %{customdata:.2f}<extra></extra>"), 1, i + 1)
        fig.update_xaxes(title_text="b", row=1, col=i + 1)
        fig.update_yaxes(title_text="a", row=1, col=i + 1)
    square_axes(fig, p, p)
    return styled(fig, "Dominant routing head per input (a, b)", height=480)


@register_view("routing_trajectory", scope="trajectory", sources=("routing_trajectory",), options=TRAINING_AXIS, group="routing", order=20,
               wide=True, click="epoch")
@over_training
def render_routing_trajectory(arrays: dict) -> go.Figure:
    """Routing entropy per block and each head's mean gate weight (usage) over training.

    Args:
        arrays: routing_trajectory summary: epochs [epoch], entropy [epoch, layer] (nats),
            max_entropy (log n_heads), usage [epoch, layer, head].
    Returns:
        A 1x2 figure: entropy (dotted line: the uniform gate's) and usage (colour = head, dash = block).
    """
    view = "routing_trajectory"
    epochs = require(arrays, "epochs", ("epoch",), view)
    entropy = require(arrays, "entropy", ("epoch", "layer"), view)
    usage = require(arrays, "usage", ("epoch", "layer", "head"), view)
    top = float(require(arrays, "max_entropy", (), view))
    same_length(view, "epoch", epochs=epochs, entropy=entropy, usage=usage)
    fig = subplots(1, 2, subplot_titles=("routing entropy (nats)", "head usage (mean gate weight)"))
    for i in range(entropy.shape[1]):
        dash = LAYER_DASHES[i % len(LAYER_DASHES)]
        fig.add_trace(epoch_scatter(x=epochs, y=entropy[:, i], customdata=_custom(epochs), name=f"block {i}",
                                    line={"color": "#444444", "dash": dash},
                                    hovertemplate=f"block {i}<br>{EPOCH_HOVER}<br>entropy %{{y:.3f}} nats"
                                                  "<extra></extra>"), 1, 1)
        for h in range(usage.shape[2]):
            fig.add_trace(epoch_scatter(x=epochs, y=usage[:, i, h], customdata=_custom(epochs),
                                        name=f"block {i} head {h}", line={"color": _head_color(h), "dash": dash},
                                        hovertemplate=f"block {i} head {h}<br>{EPOCH_HOVER}<br>usage %{{y:.3f}}"
                                                      "<extra></extra>"), 1, 2)
    _reference_line(fig, top, f"uniform gate {top:.3f}", REFERENCE["max"], row=1, col=1)
    fig.update_xaxes(**EPOCH_AXIS)
    fig.update_yaxes(title_text="nats", rangemode="tozero", col=1)
    fig.update_yaxes(title_text="mean gate weight", range=[0, 1.02], col=2)
    return styled(fig, "Routing over training", height=460)


# ----------------------------------------------------------------------------- training curves
_CURVES = (("train_loss", "test_loss", "loss"), ("train_acc", "test_acc", "accuracy"))


@register_view("training_curves", scope="trajectory", sources=("metrics", "turn"), options=TRAINING_AXIS, needs=("extra_metrics",),
               group="training", order=15, wide=True, click="epoch", replaces=("loss_curves",))
@over_training
def render_training_curves(arrays: dict) -> go.Figure:
    """Loss, accuracy, total weight norm (wnorm) and spectral smoothness at every evaluation.

    Args:
        arrays: "metrics.<name>" for epoch, train_loss, test_loss, train_acc, test_acc [epoch], and
            wnorm, smooth [epoch] where the family records them (a panel says so if not);
            optionally the turn summary's "turn.turn_onset_epoch", "turn.turn_midpoint_epoch".
    Returns:
        A 2x2 figure: loss (log y), accuracy, wnorm, smoothness; the turn marked on each.
    """
    view = "training_curves"
    m = {k: require(arrays, f"metrics.{k}", ("epoch",), view)
         for k in ("epoch", "train_loss", "test_loss", "train_acc", "test_acc")}
    extra = {k: require(arrays, f"metrics.{k}", ("epoch",), view) for k in ("wnorm", "smooth")
             if f"metrics.{k}" in arrays}
    same_length(view, "epoch", **m, **extra)
    epochs, custom = m["epoch"], _custom(m["epoch"])
    fig = subplots(2, 2, subplot_titles=("loss", "accuracy", "total weight norm (wnorm)",
                                         "spectral smoothness (smooth)"))
    for (row, col), (train_key, test_key, what) in zip(((1, 1), (1, 2)), _CURVES):
        for split, key in (("train", train_key), ("test", test_key)):
            fig.add_trace(epoch_scatter(x=epochs, y=m[key], customdata=custom, name=split, legendgroup=split,
                                        showlegend=col == 1, line={"color": COLORS[split]},
                                        hovertemplate=f"{split} {what}<br>{EPOCH_HOVER}<br>{what} %{{y:.3g}}"
                                                      "<extra></extra>"), row, col)
    for col, key, label in ((1, "wnorm", "L2 norm of all parameters"), (2, "smooth", "low-frequency share")):
        if key in extra:
            fig.add_trace(epoch_scatter(x=epochs, y=extra[key], customdata=custom, name=key, showlegend=False,
                                        line={"color": COLORS["norm"]},
                                        hovertemplate=f"{key}<br>{EPOCH_HOVER}<br>{key} %{{y:.3g}}<extra></extra>"),
                          2, col)
        else:
            fig.add_annotation(text=f"this run's metrics hold no {key}", x=0.5, y=0.5, showarrow=False,
                               xref=f"x{2 + col} domain", yref=f"y{2 + col} domain")
        fig.update_yaxes(title_text=label, row=2, col=col)
    fig.update_xaxes(tickformat="d")
    fig.update_xaxes(title_text="epoch", row=2)
    fig.update_yaxes(title_text="cross-entropy loss (log)", row=1, col=1, **LOG_AXIS)
    fig.update_yaxes(title_text="accuracy", range=[0, 1.05], row=1, col=2)
    fig.update_yaxes(range=[0, 1.05], row=2, col=2)
    return styled(mark_turn(fig, _turns(arrays)), "Training curves with weight norm and smoothness", height=680)
