"""Attention views: each head's pattern from the answer position, and heads' frequency specialization."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from renderers._options import HEAD
from renderers._style import bar, freq_label, sequential_heatmap, styled, subplots
from renderers._validate import option_index, require, same_length
from workbench.core.view import register_view

__all__ = ["render_attention_patterns", "render_head_freq_specialization"]

_KEY_NAMES = ("a", "b", "=")  # key positions of artifacts written before they carried key_names


def _heads(value, n: int) -> list[int]:
    return list(range(n)) if value is None else [option_index(value, n, "attention_patterns", "head")]


@register_view("attention_patterns", scope="epoch", sources=("attention_patterns",), options=(HEAD,),
               group="attention", order=20, click=HEAD)
def render_attention_patterns(arrays: dict, head=None) -> go.Figure:
    """Attention from the answer position to each key position, over every input (a, b).

    Args:
        arrays: attention_patterns artifact: pattern [head, key_pos, a, b]; optionally
            key_names [key_pos] (the probe's position labels) and layer [head] (each head's
            layer, for multi-layer models, whose heads are stacked layer by layer).
        head: one head index; default: every head (one row each).
    Returns:
        A grid of heatmaps, rows = heads, columns = key positions; customdata = head index.
    """
    pattern = require(arrays, "pattern", ("head", "key_pos", "a", "b"), "attention_patterns")
    n_head, n_key, n_a, n_b = pattern.shape
    heads = _heads(head, n_head)
    names = [str(k) for k in arrays["key_names"]] if "key_names" in arrays else list(_KEY_NAMES)
    keys = [names[k] if k < len(names) else str(k) for k in range(n_key)]
    layer = np.asarray(arrays["layer"]) if "layer" in arrays else np.zeros(n_head, dtype=int)
    per_layer = [int((layer[:i] == layer[i]).sum()) for i in range(n_head)]  # index within its layer
    label = {h: f"L{int(layer[h])}H{per_layer[h]}" if layer.max() > 0 else f"head {h}" for h in range(n_head)}
    fig = subplots(len(heads), n_key, subplot_titles=[f"{label[h]} → {k}" for h in heads for k in keys],
                   horizontal_spacing=0.04, vertical_spacing=0.08 if len(heads) > 1 else 0.12)
    for r, h in enumerate(heads):
        custom = np.full((n_a, n_b, 1), h)  # click contract: customdata[0] = head
        for k in range(n_key):
            fig.add_trace(sequential_heatmap(z=pattern[h, k].astype(np.float32), coloraxis="coloraxis",
                                             customdata=custom, name=f"{label[h]} → {keys[k]}",
                                             hovertemplate=f"{label[h]}, answer → {keys[k]}<br>a=%{{y}}, b=%{{x}}"
                                                           "<br>attention %{z:.3f}<extra></extra>"),
                          r + 1, k + 1)
    fig.update_layout(coloraxis={"colorscale": "Viridis", "cmin": 0, "cmax": 1, "colorbar": {"title": "attn"}})
    fig.update_xaxes(title_text="b")
    fig.update_yaxes(title_text="a", autorange="reversed", col=1)
    fig.update_yaxes(autorange="reversed")
    title = f"Attention head {heads[0]}" if head is not None else f"Attention of {n_head} heads"
    return styled(fig, f"{title}: answer position to each key", height=240 * len(heads) + 120)


@register_view("head_freq_specialization", scope="epoch", sources=("head_freq_specialization",),
               group="attention", order=10, click=HEAD)
def render_head_freq_specialization(arrays: dict) -> go.Figure:
    """How much of each head's attention variance each frequency explains, and its purity.

    Args:
        arrays: head_freq_specialization artifact: frac_explained [head, freq], dominant_freq [head],
            purity [head].
    Returns:
        A heatmap (head x frequency) and a purity bar per head; customdata[0] = head index.
    """
    view = "head_freq_specialization"
    frac = require(arrays, "frac_explained", ("head", "freq"), view)
    dom = require(arrays, "dominant_freq", ("head",), view)
    purity = require(arrays, "purity", ("head",), view)
    n_head = same_length(view, "head", frac_explained=frac, dominant_freq=dom, purity=purity)
    heads = np.arange(n_head)
    freqs = np.arange(1, frac.shape[1] + 1)
    fig = subplots(1, 2, column_widths=[0.7, 0.3], horizontal_spacing=0.2,
                   subplot_titles=("fraction of variance explained", "purity"))
    custom = np.repeat(heads[:, None, None], frac.shape[1], axis=1)  # [head, freq, 1]
    # the colour bar sits in the gap between the panels, clear of both axes
    bar_x = fig.layout.xaxis.domain[1] + 0.015
    fig.add_trace(sequential_heatmap(z=frac, x=freqs, y=heads, customdata=custom, zmin=0, zmax=1,
                                     colorbar={"x": bar_x, "xanchor": "left", "thickness": 12, "len": 0.9},
                                     hovertemplate="head %{y}, k=%{x}<br>fraction of variance %{z:.2f}<extra></extra>"),
                  1, 1)
    fig.add_trace(bar(x=heads, y=purity, customdata=heads[:, None], name="purity",
                      text=[freq_label(k) for k in dom], textangle=0,
                      hovertemplate="head %{x}<br>purity %{y:.2f} (dominant %{text})<extra></extra>"), 1, 2)
    fig.update_xaxes(title_text="frequency k", col=1)
    fig.update_yaxes(title_text="head", col=1, dtick=1)
    fig.update_xaxes(title_text="head", col=2, dtick=1)
    fig.update_yaxes(range=[0, 1.05], col=2)
    return styled(fig, "Attention heads: frequency specialization", showlegend=False)
