"""Drawing an analyzer's null (its chance level) as a band: the central 95% of its draws.

A view's arrays carry a stored null as "null.<analyzer>.<output>" ([draw, ...], see
workbench.core.nulls.null_key) and its kind as "null.<analyzer>.null_kind"; a figure
without them is drawn as before. Bands are traces in data coordinates, so they sit right
on log axes and follow a trajectory's epoch axis (renderers._axis.training_axis).
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from workbench.core.nulls import null_band, null_key, null_percentile

__all__ = ["null_draws", "null_label", "add_hband", "add_bar_bands", "percentile_text"]

_FILL = "rgba(127, 127, 127, 0.22)"
_EDGE = "rgba(127, 127, 127, 0.6)"


def null_draws(arrays: dict, analyzer: str, output: str) -> np.ndarray | None:
    """[draw, ...] of `analyzer`'s null of `output` among a view's arrays; None without one."""
    key = null_key(analyzer, output)
    return np.asarray(arrays[key], dtype=np.float64) if key in arrays else None


def null_label(arrays: dict, analyzer: str, draws: np.ndarray) -> str:
    """ "permutation null, 95% of 16 draws" (the band's legend entry)."""
    kind = str(np.asarray(arrays.get(null_key(analyzer, "null_kind"), "")))
    return f"{kind or 'the'} null, 95% of {len(draws)} draw{'s' if len(draws) != 1 else ''}"


def percentile_text(value, draws: np.ndarray | None) -> str:
    """ "; pctl 100 vs null" for a scalar value read against its draws ("" without a null)."""
    if draws is None:
        return ""
    pct = float(null_percentile(np.asarray(value, dtype=np.float64), draws))
    return "" if np.isnan(pct) else f"; pctl {pct:.0f} vs null"


def add_hband(fig: go.Figure, draws: np.ndarray, x0: float, x1: float, label: str, *, pool: bool = False,
              showlegend: bool = True, fill: str = _FILL, group: str | None = None, **where) -> go.Figure:
    """A horizontal band from x0 to x1 over the null's central 95% (`pool`: over every element);
    `group`: the legend group it shows and hides with (default: its own entry)."""
    lo, hi = (float(np.asarray(v).reshape(-1)[0]) for v in null_band(draws, pool=pool))
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return fig
    common = {"mode": "lines", "hoverinfo": "skip", "legendgroup": group or label, "line": {"width": 0.5, "color": _EDGE}}
    fig.add_trace(go.Scatter(x=[x0, x1], y=[lo, lo], showlegend=False, name=label, **common), **where)
    fig.add_trace(go.Scatter(x=[x0, x1], y=[hi, hi], fill="tonexty", fillcolor=fill, name=label,
                             showlegend=showlegend, **common), **where)
    return fig


def add_bar_bands(fig: go.Figure, x: list[str], draws: list[np.ndarray | None], label: str) -> go.Figure:
    """The null's central 95% at each bar `x` as a grey range (bars without a null get none)."""
    lo, hi, keep = [], [], []
    for i, d in enumerate(draws):
        if d is None:
            continue
        a, b = (float(v) for v in null_band(d))
        if np.isfinite(a) and np.isfinite(b):
            lo.append(a)
            hi.append(b)
            keep.append(i)
    if not keep:
        return fig
    mid = (np.array(lo) + np.array(hi)) / 2
    fig.add_trace(go.Scatter(x=[x[i] for i in keep], y=mid, mode="markers", name=label,
                             marker={"symbol": "line-ew-open", "size": 1, "color": _EDGE},
                             error_y={"type": "data", "symmetric": False, "array": np.array(hi) - mid,
                                      "arrayminus": mid - np.array(lo), "color": "rgba(90, 90, 90, 0.9)",
                                      "thickness": 10, "width": 0},
                             customdata=np.stack([lo, hi], axis=1),
                             hovertemplate=f"%{{x}}<br>{label}: %{{customdata[0]:.3g}} to %{{customdata[1]:.3g}}"
                                           "<extra></extra>"))
    return fig
