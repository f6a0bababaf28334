"""Conditions side by side with their seed spread: one panel per metric, a condition per x
position, one colour per split (e.g. the architecture), every seed a dot, the mean a marker
with a bar from the seeds' min to max.

Pure (arrays -> Plotly, no store, no Dash): `workbench.query.preset_spread` gathers the arrays
from a spread preset's runs; the compare page, the offline report and `bench/streams.py figure` draw them.
"""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from workbench.query.bands import rgba
from workbench.ui.palette import PALETTE

__all__ = ["condition_figure", "PER_ROW"]

PER_ROW = 3  # metric panels per row
_SHIFT = 0.3  # x offset between the splits at one condition
_DOTS = 0.08  # the seeds' dots sit this far left of their mean


def _check(arrays: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    conditions, splits, metrics = (np.asarray(arrays[k]) for k in ("conditions", "splits", "metrics"))
    values, seeds = np.asarray(arrays["values"], dtype=float), np.asarray(arrays["seeds"])
    want = (len(splits), len(conditions), len(metrics))
    if values.ndim != 4 or values.shape[:3] != want or seeds.shape != values.shape[:2] + values.shape[3:]:
        raise ValueError(f"condition_figure: values must be [split, condition, metric, seed] {want} + (S,) "
                         f"and seeds [split, condition, seed]; got {values.shape} and {seeds.shape}")
    return conditions, splits, metrics, values, seeds


def condition_figure(arrays: dict, title: str = "") -> go.Figure:
    """The figure of `arrays`: conditions [C], splits [G], metrics [M] (labels),
    values [G, C, M, S] (NaN where a condition has fewer seeds) and seeds [G, C, S] (labels)."""
    conditions, splits, metrics, values, seeds = _check(arrays)
    rows = max(1, math.ceil(len(metrics) / PER_ROW))
    fig = make_subplots(rows=rows, cols=min(PER_ROW, max(1, len(metrics))), subplot_titles=[str(m) for m in metrics],
                        horizontal_spacing=0.06, vertical_spacing=0.16 if rows > 1 else 0.1)
    x0 = np.arange(len(conditions), dtype=float)
    for g, split in enumerate(splits):
        colour = PALETTE[g % len(PALETTE)]
        x = x0 + (g - (len(splits) - 1) / 2) * _SHIFT
        for m in range(len(metrics)):
            row, col = m // PER_ROW + 1, m % PER_ROW + 1
            legend = m == 0 and bool(str(split))  # an unnamed split (none) needs no legend
            _add_metric(fig, (row, col), x, values[g, :, m, :], seeds[g], conditions, str(split), colour, legend)
    for m in range(len(metrics)):
        fig.update_xaxes(tickvals=x0, ticktext=[str(c) for c in conditions], range=[-0.6, len(conditions) - 0.4],
                         row=m // PER_ROW + 1, col=m % PER_ROW + 1)
    fig.update_layout(title=title or None, height=320 * rows + 80, legend={"orientation": "h", "y": -0.12},
                      margin={"l": 50, "r": 20, "t": 70 if title else 40, "b": 60})
    return fig


def _add_metric(fig: go.Figure, cell: tuple[int, int], x: np.ndarray, table: np.ndarray, seeds: np.ndarray,
                conditions: np.ndarray, split: str, colour: str, legend: bool) -> None:
    """One split's seeds (dots) and mean with min-max bar (marker) in one metric's panel; table [C, S]."""
    has = np.isfinite(table)
    counts = has.sum(axis=1)
    with np.errstate(invalid="ignore"):
        mean = np.where(counts > 0, np.nansum(np.where(has, table, 0), axis=1) / np.maximum(counts, 1), np.nan)
    lo = np.array([table[c][has[c]].min() if counts[c] else np.nan for c in range(len(x))])
    hi = np.array([table[c][has[c]].max() if counts[c] else np.nan for c in range(len(x))])
    dots_x = np.repeat(x - _DOTS, table.shape[1])[has.reshape(-1)]  # beside the mean, not under it
    fig.add_trace(go.Scatter(x=dots_x, y=table.reshape(-1)[has.reshape(-1)], mode="markers", legendgroup=split,
                             showlegend=False, marker={"size": 6, "color": rgba(colour, 0.6),
                                                                     "line": {"width": 0.5, "color": "white"}},
                             text=[f"{split}, {conditions[i // table.shape[1]]}, seed {seeds.reshape(-1)[i]}"
                                   for i in np.flatnonzero(has.reshape(-1))],
                             hovertemplate="%{text}: %{y:.4g}<extra></extra>"), *cell)
    fig.add_trace(go.Scatter(x=x, y=mean, mode="markers", name=split, legendgroup=split, showlegend=legend,
                             marker={"size": 11, "symbol": "diamond", "color": colour},
                             error_y={"type": "data", "symmetric": False, "array": hi - mean, "arrayminus": mean - lo,
                                      "color": colour, "thickness": 1.5, "width": 6},
                             customdata=np.stack([counts, lo, hi], axis=1),
                             hovertemplate=(f"{split}: mean %{{y:.4g}} over %{{customdata[0]}} seeds "
                                            "[%{customdata[1]:.4g}, %{customdata[2]:.4g}]<extra></extra>")), *cell)
