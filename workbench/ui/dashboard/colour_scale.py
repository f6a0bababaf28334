"""One colour scale for two figures of the same view, so that equal colours mean equal values.

A heatmap's colour range is its own data's by default. Side by side, that makes a run whose
neurons barely respond look as strong as a grokked one; `shared_z` gives the k-th heatmap of
each figure the union of their z ranges (symmetric about zero where either centres its
scale there, `zmid` 0 or a diverging coloraxis `cmid` 0). A scale the view fixes itself (the
same zmin and zmax on both) is kept.
"""

from __future__ import annotations

import base64
import copy

import numpy as np

__all__ = ["z_values", "shared_z"]

_HEATMAPS = ("heatmap", "contour", "heatmapgl")


def z_values(z: object) -> np.ndarray:
    """A trace's z as floats: a nested list, or plotly's typed-array dict {"dtype", "bdata", "shape"}."""
    if isinstance(z, dict) and "bdata" in z:
        flat = np.frombuffer(base64.b64decode(z["bdata"]), dtype=np.dtype(z.get("dtype", "f8")))
        return flat.astype(np.float64)
    try:
        return np.asarray(z, dtype=np.float64).ravel()
    except (TypeError, ValueError):  # ragged rows
        return np.asarray([v for row in z for v in (row if isinstance(row, list) else [row])], dtype=np.float64)


def _heatmaps(fig: dict) -> list[dict]:
    return [t for t in fig.get("data") or [] if t.get("type") in _HEATMAPS and t.get("z") is not None]


def _centred(fig: dict, trace: dict) -> bool:
    if trace.get("zmid") == 0:
        return True
    axis = (fig.get("layout") or {}).get(trace.get("coloraxis") or "", {})
    return isinstance(axis, dict) and axis.get("cmid") == 0


def _set_range(fig: dict, trace: dict, low: float, high: float) -> None:
    name = trace.get("coloraxis")
    if name:  # the trace's colours come from a layout coloraxis
        fig.setdefault("layout", {}).setdefault(name, {}).update(cmin=low, cmax=high, cauto=False)
    else:
        trace.update(zmin=low, zmax=high, zauto=False)


def shared_z(a: dict, b: dict) -> tuple[dict, dict]:
    """Copies of figures `a` and `b` whose k-th heatmaps share one z range (the inputs, which
    may be cached, are left alone). Heatmaps without a partner, or without finite values, keep theirs."""
    a, b = copy.deepcopy(a), copy.deepcopy(b)
    for ta, tb in zip(_heatmaps(a), _heatmaps(b)):
        fixed = [(t.get("zmin"), t.get("zmax")) for t in (ta, tb)]
        if fixed[0] == fixed[1] and None not in fixed[0]:  # the view fixes its scale (a fraction's [0, 1])
            continue
        values = np.concatenate([z_values(ta["z"]), z_values(tb["z"])])
        values = values[np.isfinite(values)]
        if not values.size:
            continue
        low, high = float(values.min()), float(values.max())
        if _centred(a, ta) or _centred(b, tb):
            high = max(abs(low), abs(high))
            low = -high
        if low == high:
            continue
        _set_range(a, ta, low, high)
        _set_range(b, tb, low, high)
    return a, b
