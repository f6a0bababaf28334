"""Drawing an analyzer's null (its chance level) as a band: the central 95% of its draws.

A view's arrays carry a stored null as "null.<analyzer>.<output>" ([draw, ...], see
workbench.core.nulls.null_key), its kind as "null.<analyzer>.null_kind" and the epoch it
was drawn at as "null.<analyzer>.null_epoch" (-1: random networks, no epoch); a figure
without them is drawn as before. Over training, a null drawn at one epoch is drawn at that
epoch only; one of random networks as a band across training. Bands are traces in data coordinates, so they sit right
on log axes and follow a trajectory's epoch axis (renderers._axis.training_axis).

An analyzer with several nulls has its further ones beside the first, their arrays led by their
kind ("null.<analyzer>.random.<output>"): `null_kinds` lists which a view's arrays hold and each
helper takes the `kind` (None: the first); `null_fill` gives each kind its own band colour.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from workbench.core.analyzer import NULLS
from workbench.core.nulls import null_band, null_key, null_percentile

__all__ = ["null_draws", "null_label", "null_epoch", "null_kinds", "null_fill", "add_hband", "add_hrect",
           "add_bar_bands", "percentile_text"]

_FILL = "rgba(127, 127, 127, 0.22)"
_EDGE = "rgba(127, 127, 127, 0.6)"
_RANGE = "rgba(60, 60, 60, 0.85)"  # a null's range at one x: darker than a band, it is a small mark
_KIND_FILL = {"random": ("rgba(255, 127, 14, 0.18)", "orange"), "init": ("rgba(148, 103, 189, 0.2)", "purple")}  # a further null's band


def null_kinds(arrays: dict, analyzer: str) -> list[str | None]:
    """The nulls of `analyzer` a view's arrays hold: None for its first, then each further one's kind."""
    first = [None] if null_key(analyzer, "null_kind") in arrays else []
    return first + [k for k in NULLS if null_key(analyzer, "null_kind", k) in arrays]


def null_fill(kind: str | None) -> tuple[str, str]:
    """(band fill, colour name for a caption) of a null: grey for the first, its own colour for a further one."""
    return _KIND_FILL.get(kind, (_FILL, "orange")) if kind else (_FILL, "grey")


def null_draws(arrays: dict, analyzer: str, output: str, kind: str | None = None) -> np.ndarray | None:
    """[draw, ...] of `analyzer`'s null of `output` (`kind`: a further null's) among a view's arrays; None without one."""
    key = null_key(analyzer, output, kind)
    return np.asarray(arrays[key], dtype=np.float64) if key in arrays else None


def null_epoch(arrays: dict, analyzer: str, kind: str | None = None) -> int | None:
    """The checkpoint epoch a null was drawn from (None for random networks, or when not stored)."""
    key = null_key(analyzer, "null_epoch", kind)
    epoch = int(np.asarray(arrays[key])) if key in arrays else -1
    return epoch if epoch >= 0 else None


def null_label(arrays: dict, analyzer: str, draws: np.ndarray, kind: str | None = None) -> str:
    """ "permutation null at epoch 3500, 95% of 16 draws" (the band's legend entry)."""
    epoch = null_epoch(arrays, analyzer, kind)
    kind = str(np.asarray(arrays.get(null_key(analyzer, "null_kind", kind), "")))
    at = f" at epoch {epoch}" if epoch is not None else ""
    return f"{kind or 'the'} null{at}, 95% of {len(draws)} draw{'s' if len(draws) != 1 else ''}"


def percentile_text(value, draws: np.ndarray | None) -> str:
    """ "percentile 100 of its null" for a scalar value read against its draws ("" without a null)."""
    if draws is None:
        return ""
    pct = float(null_percentile(np.asarray(value, dtype=np.float64), draws))
    return "" if np.isnan(pct) else f"percentile {pct:.0f} of its null"


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


def add_hrect(fig: go.Figure, draws: np.ndarray, label: str, *, pool: bool = False, fill: str = _FILL) -> go.Figure:
    """The null's central 95% as a shaded layout rectangle across the plot (no trace: for figures
    whose every trace is a clickable point set; a linear y axis)."""
    lo, hi = (float(np.asarray(v).reshape(-1)[0]) for v in null_band(draws, pool=pool))
    if np.isfinite(lo) and np.isfinite(hi):
        fig.add_hrect(y0=lo, y1=max(hi, lo + 1e-3), fillcolor=fill, line_width=0, layer="below", name=label)
    return fig


def add_bar_bands(fig: go.Figure, x: list, draws: list[np.ndarray | None], label: str, **where) -> go.Figure:
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
                             marker={"symbol": "diamond-open", "size": 9, "color": _RANGE},
                             error_y={"type": "data", "symmetric": False, "array": np.array(hi) - mid,
                                      "arrayminus": mid - np.array(lo), "color": _RANGE, "thickness": 4,
                                      "width": 8},
                             customdata=np.stack([lo, hi], axis=1),
                             hovertemplate=f"%{{x}}<br>{label}: %{{customdata[0]:.3g}} to %{{customdata[1]:.3g}}"
                                           "<extra></extra>"), **where)
    return fig
