"""Smoothing for curves over training: an exponential moving average, drawn as W&B draws it.

`smooth_curves(fig, weight)` replaces each line's y by its debiased EMA (weight 0: off, 0.99:
heavy) and puts the raw line, faint, behind it in the same colour and legend group, so a
legend click hides both and the raw points stay visible. The EMA runs over the points in
order (as W&B's default does), skipping missing values; it is debiased (divided by
1 - weight^n) so the first points are not pulled towards zero. Only lines over several
points are smoothed: epoch marks (one point), filled bands (a null's spread) and heatmaps
are left as drawn.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from workbench.core.errors import UserError

__all__ = ["as_weight", "ema", "smooth_curves", "RAW_OPACITY"]

RAW_OPACITY = 0.25  # the raw line behind its smoothed one
_MIN_POINTS = 3  # fewer points than this: nothing to smooth


def as_weight(value) -> float:
    """The smoothing weight from a number or its text: 0 <= w < 1; UserError otherwise."""
    if value is None or value == "":
        return 0.0
    try:
        weight = float(value) if not isinstance(value, bool) else -1.0
    except (TypeError, ValueError):
        weight = -1.0
    if not 0 <= weight < 1:
        raise UserError(f"option smooth must be a weight in [0, 1) (0: off, 0.9: heavy), got {value!r}")
    return weight


def ema(y, weight: float) -> np.ndarray:
    """The debiased EMA of `y` (NaN where y is NaN, which does not move the average)."""
    y = np.asarray([np.nan if v is None else v for v in y], dtype=np.float64)
    out = np.full(y.shape, np.nan)
    level = norm = 0.0
    for i, value in enumerate(y):
        if np.isfinite(value):
            level, norm = weight * level + (1 - weight) * value, weight * norm + (1 - weight)
            out[i] = level / norm
    return out


def _is_curve(trace) -> bool:
    return (trace.type in ("scatter", "scattergl") and trace.y is not None and len(trace.y) >= _MIN_POINTS
            and "lines" in (trace.mode or "lines") and trace.fill in (None, "none")
            and np.issubdtype(np.asarray(trace.y).dtype, np.number))


def _colour(fig: go.Figure, index: int, trace) -> str:
    """The colour plotly draws the trace in: its own, else the template's colourway by trace index."""
    if trace.line.color:
        return trace.line.color
    way = fig.layout.colorway or (fig.layout.template.layout.colorway if fig.layout.template else None) or \
        ("#636efa", "#EF553B", "#00cc96", "#ab63fa", "#FFA15A", "#19d3f3", "#FF6692", "#B6E880", "#FF97FF", "#FECB52")
    return way[index % len(way)]


def smooth_curves(fig: go.Figure, weight: float) -> go.Figure:
    """Smooth every line of `fig` (in place) with EMA `weight`, the raw line faint behind it; weight 0: unchanged."""
    if weight <= 0:
        return fig
    raw, kept = [], []
    for i, trace in enumerate(fig.data):
        if _is_curve(trace):
            colour, group = _colour(fig, i, trace), trace.legendgroup or f"curve {i}"
            raw.append(go.Scatter(x=trace.x, y=trace.y, customdata=trace.customdata, mode="lines",
                                  line={"color": colour, "width": 1}, opacity=RAW_OPACITY, legendgroup=group,
                                  showlegend=False, hoverinfo="skip", xaxis=trace.xaxis, yaxis=trace.yaxis))
            trace.update(y=ema(trace.y, weight), legendgroup=group, line={"color": colour})
        kept.append(trace)
    fig.data = ()
    fig.add_traces(raw + kept)  # the raw lines first: drawn behind the smoothed ones
    return fig
