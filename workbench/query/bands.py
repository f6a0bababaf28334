"""A group of runs on one plot: its mean line, a shaded band, the runs' thin lines, a rug of markers.

Pure figure helpers (no store): the compare page and a group's per-run views
(workbench.query.group_views) gather each run's (x, y) and hand a group's series here. The runs are put on a common grid (their x values inside the range
all of them cover, each run linearly interpolated), then

- the mean line: the arithmetic mean, or on a log-y panel the geometric mean (a mean of
  losses spanning decades would be the largest run alone);
- the band: "minmax" (the runs' range at each x) or "ci" (the 95% percentile bootstrap
  interval of the mean, `workbench.query.stats.bootstrap_band`, in log space on a log panel);
- the runs: thin, faint lines in the group's colour, one per run;
- markers (the turn): a tick per run at the foot of the plot and a bar from the group's
  earliest to latest with a tick at its mean (`add_rug`).
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from workbench.query.stats import bootstrap_band

__all__ = ["BANDS", "common_grid", "add_group", "add_rug", "rgba"]

BANDS = {"minmax": "min–max", "ci": "95% interval of the mean", "none": "no band"}  # band kind -> its label


def rgba(colour: str, alpha: float) -> str:
    """'#1f77b4' (or 'rgb(31,119,180)'), 0.2 -> 'rgba(31,119,180,0.2)'."""
    if colour.startswith("rgb"):
        r, g, b = (float(v) for v in colour[colour.index("(") + 1:colour.index(")")].split(",")[:3])
        return f"rgba({r:g},{g:g},{b:g},{alpha})"
    h = colour.lstrip("#")
    return f"rgba({int(h[0:2], 16)},{int(h[2:4], 16)},{int(h[4:6], 16)},{alpha})"


def common_grid(series: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """(grid, table [runs, grid]): every run's y at the x values (of any run) inside the range all cover."""
    lo = max(float(np.min(x)) for x, _ in series)
    hi = min(float(np.max(x)) for x, _ in series)
    grid = np.unique(np.concatenate([x for x, _ in series]))
    grid = grid[(grid >= lo) & (grid <= hi)]
    table = np.stack([np.interp(grid, *_sorted(x, y)) for x, y in series]) if len(grid) else np.empty((len(series), 0))
    return grid, table


def _sorted(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(x, kind="stable")
    return np.asarray(x, float)[order], np.asarray(y, float)[order]


def _centre_and_band(table: np.ndarray, band: str, log_y: bool) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """(mean, lo, hi) per grid point; lo/hi None without a band (or with one run, where it has no width)."""
    t = np.log10(np.clip(table, 1e-300, None)) if log_y else table
    mean = t.mean(axis=0)
    lo = hi = None
    if band == "minmax" and len(t) > 1:
        lo, hi = t.min(axis=0), t.max(axis=0)
    elif band == "ci" and len(t) > 1:
        lo, hi = bootstrap_band(t)
    back = (lambda v: 10 ** v) if log_y else (lambda v: v)
    return back(mean), (back(lo) if lo is not None else None), (back(hi) if hi is not None else None)


def add_group(fig: go.Figure, name: str, colour: str, series: list[tuple[np.ndarray, np.ndarray]], *,
              band: str = "minmax", runs: bool = False, log_y: bool = False, mean: bool = True,
              showlegend: bool = True, axes: dict | None = None) -> None:
    """Draw one group on `fig`: band (BANDS kind), thin run lines if `runs`, and its mean line if `mean`.

    Args:
        series: each run's (x, y); name: the legend entry (n is appended); colour: '#rrggbb' or 'rgb(r,g,b)'.
        axes: the subplot to draw on, e.g. {"xaxis": "x2", "yaxis": "y2"} (default: the first).
    """
    if not series:
        return
    on = axes or {}
    grid, table = common_grid(series)
    centre, lo, hi = _centre_and_band(table, band, log_y)
    legend = f"{name} (n={len(series)})"
    if lo is not None:
        fig.add_scatter(x=grid, y=hi, mode="lines", line={"width": 0}, legendgroup=legend, showlegend=False,
                        hoverinfo="skip", **on)
        fig.add_scatter(x=grid, y=lo, mode="lines", line={"width": 0}, fill="tonexty", fillcolor=rgba(colour, 0.22),
                        legendgroup=legend, name=f"{legend} {BANDS[band]}", showlegend=False, hoverinfo="skip", **on)
    if runs:
        for i, (x, y) in enumerate(series):
            fig.add_scatter(x=x, y=y, mode="lines", line={"color": rgba(colour, 0.45), "width": 1}, legendgroup=legend,
                            name=legend, showlegend=showlegend and not mean and i == 0, hoverinfo="skip", **on)
    if mean:
        fig.add_scatter(x=grid, y=centre, mode="lines", name=legend, legendgroup=legend, showlegend=showlegend,
                        line={"color": colour, "width": 2.5},
                        hovertemplate="x %{x}<br>mean %{y:.4g}<extra>%{fullData.name}</extra>", **on)


def add_rug(fig: go.Figure, colour: str, epochs: list[float], row: int = 0, *, xref: str = "x",
            yref: str = "paper", dash: str = "solid") -> None:
    """Marker epochs of a group at the foot of the plot: a tick per run, a bar over their range with the mean.

    `row` stacks several groups' (or markers') rugs (0 is lowest); `xref`/`yref` place it on a
    subplot (e.g. "x2", "y2 domain").
    """
    if not epochs:
        return
    y0 = 0.01 + 0.045 * row
    for e in epochs:
        fig.add_shape(type="line", xref=xref, yref=yref, x0=e, x1=e, y0=y0, y1=y0 + 0.035,
                      line={"color": colour, "width": 1.5})
    fig.add_shape(type="rect", xref=xref, yref=yref, x0=min(epochs), x1=max(epochs), y0=y0 + 0.01, y1=y0 + 0.025,
                  line={"width": 0}, fillcolor=rgba(colour, 0.35))
    mean = float(np.mean(epochs))
    fig.add_shape(type="line", xref=xref, yref=yref, x0=mean, x1=mean, y0=y0 - 0.005, y1=y0 + 0.04,
                  line={"color": colour, "width": 3, "dash": dash})
