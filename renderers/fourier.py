"""Fourier spectra of the embedding and unembedding (Nanda et al.'s key-frequency plots)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from renderers._style import COLORS, bar, styled, subplots
from renderers._validate import require, same_length
from workbench.core.view import register_view

__all__ = ["render_embedding_fourier", "render_unembedding_fourier", "fourier_spectrum"]


def fourier_spectrum(arrays: dict, view: str, matrix: str) -> go.Figure:
    """Cos and sin norms per frequency side by side, and the per-frequency norm.

    Args:
        arrays: an embedding_fourier-style artifact (cos_norms, sin_norms, freq_norms [freq],
            dominant_freqs [rank], 1-based).
        view: view name for error messages.
        matrix: the matrix named in the title, e.g. "W_E".
    Returns:
        A 1x2 figure: grouped cos/sin bars per frequency, and freq_norms with the top
        frequencies highlighted.
    """
    cos = require(arrays, "cos_norms", ("freq",), view)
    sin = require(arrays, "sin_norms", ("freq",), view)
    norms = require(arrays, "freq_norms", ("freq",), view)
    dominant = require(arrays, "dominant_freqs", ("rank",), view)
    n = same_length(view, "freq", cos_norms=cos, sin_norms=sin, freq_norms=norms)
    freqs = np.arange(1, n + 1)
    fig = subplots(1, 2, subplot_titles=("cos and sin components", "norm per frequency (top frequencies labelled)"))
    for name, values in (("cos", cos), ("sin", sin)):
        fig.add_trace(bar(x=freqs, y=values, name=name, marker_color=COLORS[name], customdata=freqs,
                          hovertemplate=f"k=%{{x}}<br>{name} norm %{{y:.3g}}<extra></extra>"), 1, 1)
    top = set(int(k) for k in dominant)
    # one colour for the norm in every figure; the top frequencies are named above their bars
    fig.add_trace(bar(x=freqs, y=norms, name="‖cos, sin‖", marker_color=COLORS["norm"], customdata=freqs,
                      text=[f"k={int(k)}" if int(k) in top else "" for k in freqs], textposition="outside",
                      cliponaxis=False, constraintext="none", textfont={"size": 11},
                      hovertemplate="k=%{x}<br>‖cos, sin‖ %{y:.3g}<extra></extra>"), 1, 2)
    fig.update_layout(barmode="group")
    fig.update_xaxes(title_text="frequency k")
    fig.update_yaxes(title_text="norm", col=1)
    top_text = ", ".join(str(int(k)) for k in dominant)
    return styled(fig, f"{matrix} Fourier spectrum (top frequencies: {top_text})")


@register_view("embedding_fourier", scope="epoch", sources=("embedding_fourier",), group="embeddings", order=10)
def render_embedding_fourier(arrays: dict) -> go.Figure:
    """Embedding W_E in the Fourier basis: cos/sin norm per frequency."""
    return fourier_spectrum(arrays, "embedding_fourier", "embedding W_E")


@register_view("unembedding_fourier", scope="epoch", sources=("unembedding_fourier",), group="embeddings", order=20)
def render_unembedding_fourier(arrays: dict) -> go.Figure:
    """Unembedding W_U in the Fourier basis: cos/sin norm per frequency."""
    return fourier_spectrum(arrays, "unembedding_fourier", "unembedding W_U")
