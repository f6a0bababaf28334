"""Sequence-task views (issue 14's interleaved streams): accuracy, amplitude A and variance
sigma^2 over training, and where each attention head looks back (its offset profile)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from renderers._axis import TRAINING_AXIS, over_training
from renderers._style import EPOCH_AXIS, EPOCH_HOVER, epoch_scatter, sequential_heatmap, styled, subplots
from renderers._validate import require, same_length
from workbench.core.view import register_view

__all__ = ["render_streams_training", "render_attention_offsets", "render_offsets_trajectory", "head_labels"]

_ACCURACY = (("test_acc", "predictable positions", "#d62728"), ("last_acc", "last position", "#1f77b4"),
             ("acc_a", "stream A", "#ff7f0e"), ("acc_b", "stream B", "#2ca02c"))
_LAYER_COLOURS = ("#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")  # none an accuracy colour


def head_labels(n_layers: int, n_heads: int) -> list[str]:
    """'head h' for one layer, 'LlHh' for several, layer by layer."""
    return [f"L{layer}H{h}" if n_layers > 1 else f"head {h}" for layer in range(n_layers) for h in range(n_heads)]


def _custom(epochs: np.ndarray) -> np.ndarray:
    return np.asarray(epochs).astype(int)[:, None]  # the dashboard's click contract: customdata[0] = epoch


@register_view("streams_training", scope="trajectory", sources=("streams_trajectory",), options=TRAINING_AXIS,
               group="streams", order=10, wide=True, click="epoch")
@over_training
def render_streams_training(arrays: dict) -> go.Figure:
    """Probe accuracy, amplitude A and variance sigma^2 of each block's output over training.

    Args:
        arrays: streams_trajectory summary: epochs [epoch]; test_acc, last_acc, acc_a, acc_b
            [epoch] (validation probe rows); amplitude, sigma2 [epoch, layer].
    Returns:
        A 1x3 figure: accuracies, A and sigma^2, side by side.
    """
    view = "streams_training"
    epochs = require(arrays, "epochs", ("epoch",), view)
    amp = require(arrays, "amplitude", ("epoch", "layer"), view)
    var = require(arrays, "sigma2", ("epoch", "layer"), view)
    accs = {k: require(arrays, k, ("epoch",), view) for k, _, _ in _ACCURACY}
    same_length(view, "epoch", epochs=epochs, amplitude=amp, sigma2=var, **accs)
    fig = subplots(1, 3, subplot_titles=("accuracy (validation probe)", "A: mean per-token L2 norm",
                                         "σ²: variance of the centred residual"))
    custom = _custom(epochs)
    for key, name, colour in _ACCURACY:
        fig.add_trace(epoch_scatter(x=epochs, y=accs[key], name=name, customdata=custom, line={"color": colour},
                                    hovertemplate=f"{name}<br>{EPOCH_HOVER}<br>accuracy %{{y:.3f}}<extra></extra>"),
                      1, 1)
    for col, (values, what) in enumerate(((amp, "A"), (var, "σ²")), start=2):
        for layer in range(values.shape[1]):
            name = f"block {layer} resid_post"
            fig.add_trace(epoch_scatter(x=epochs, y=values[:, layer], name=name, legendgroup=name,
                                        showlegend=col == 2, customdata=custom,
                                        line={"color": _LAYER_COLOURS[layer % len(_LAYER_COLOURS)]},
                                        hovertemplate=f"{name}<br>{EPOCH_HOVER}<br>{what} %{{y:.4g}}<extra></extra>"),
                          1, col)
    fig.update_xaxes(**EPOCH_AXIS)
    fig.update_yaxes(title_text="accuracy", range=[0, 1.05], col=1)
    fig.update_yaxes(title_text="A (before any LayerNorm)", col=2)
    fig.update_yaxes(title_text="σ²", col=3)
    return styled(fig, "Accuracy, amplitude A and variance σ² over training", height=400)


@register_view("attention_offsets", scope="epoch", sources=("attention_offsets",), group="streams", order=30)
def render_attention_offsets(arrays: dict) -> go.Figure:
    """Each head's mean attention on the key 1..16 positions back, at one epoch.

    Args:
        arrays: attention_offsets artifact: profile [layer, head, offset], offsets [offset]
            (negative: -1 is the previous token).
    Returns:
        One heatmap: rows = heads (layer by layer), columns = offsets.
    """
    view = "attention_offsets"
    profile = require(arrays, "profile", ("layer", "head", "offset"), view)
    offsets = require(arrays, "offsets", ("offset",), view)
    same_length(view, "offset", profile=np.moveaxis(profile, -1, 0), offsets=offsets)
    n_layers, n_heads, _ = profile.shape
    labels = head_labels(n_layers, n_heads)
    z = profile.reshape(n_layers * n_heads, -1).astype(np.float32)
    fig = go.Figure(sequential_heatmap(
        z=z, x=[str(int(o)) for o in offsets], y=labels, zmin=0, colorbar={"title": "attention"},
        customdata=np.repeat(np.arange(len(labels))[:, None, None] % n_heads, z.shape[1], axis=1),
        hovertemplate="%{y}<br>offset %{x}<br>mean attention %{z:.3f}<extra></extra>"))
    fig.update_xaxes(title_text="key offset from the query (odd: the predicted token's stream)", type="category")
    fig.update_yaxes(autorange="reversed")
    return styled(fig, "Attention by offset: mass on the key k positions back", height=140 + 40 * len(labels))


@register_view("offsets_trajectory", scope="trajectory", sources=("streams_trajectory",), options=TRAINING_AXIS,
               group="streams", order=20, wide=True, click="epoch")
@over_training
def render_offsets_trajectory(arrays: dict) -> go.Figure:
    """Each head's attention offset profile over training (does a head learn to skip the other stream?).

    Args:
        arrays: streams_trajectory summary: epochs [epoch], offset_profile [epoch, layer, head,
            offset], offsets [offset].
    Returns:
        One heatmap per head (x = epoch, y = offset), on one colour scale.
    """
    view = "offsets_trajectory"
    epochs = require(arrays, "epochs", ("epoch",), view)
    profile = require(arrays, "offset_profile", ("epoch", "layer", "head", "offset"), view)
    offsets = require(arrays, "offsets", ("offset",), view)
    same_length(view, "epoch", epochs=epochs, offset_profile=profile)
    _, n_layers, n_heads, _ = profile.shape
    labels = head_labels(n_layers, n_heads)
    cols = min(4, len(labels))
    rows = -(-len(labels) // cols)
    fig = subplots(rows, cols, subplot_titles=labels, horizontal_spacing=0.04, shared_yaxes=True)
    flat = profile.reshape(len(epochs), n_layers * n_heads, -1)
    custom = np.broadcast_to(np.asarray(epochs).astype(int)[None, :, None], (len(offsets), len(epochs), 1))
    x = np.asarray(epochs).astype(int)  # checkpoint epochs: cells are as wide as the gaps between them
    for i, label in enumerate(labels):
        fig.add_trace(sequential_heatmap(
            z=flat[:, i, :].T.astype(np.float32), x=x, y=[str(int(o)) for o in offsets], coloraxis="coloraxis",
            customdata=custom, name=label,
            hovertemplate=f"{label}<br>{EPOCH_HOVER}<br>offset %{{y}}<br>mean attention %{{z:.3f}}<extra></extra>"),
            i // cols + 1, i % cols + 1)
    fig.update_layout(coloraxis={"colorscale": "Viridis", "cmin": 0, "colorbar": {"title": "attention"}})
    fig.update_xaxes(**EPOCH_AXIS)
    fig.update_yaxes(type="category", autorange="reversed")
    fig.update_yaxes(title_text="key offset (odd: predicted stream)", col=1)
    return styled(fig, "Attention offset profile of each head over training", height=120 + 260 * rows)
