"""A run group in a per-run view over training: its mean line with a band, its runs' thin lines, or both.

`group_view_figure` renders the view for every run of the group (`view_figure`, so each run
keeps its own options and x axis) and then merges the runs' figures curve by curve: the
curves that share a name and a subplot become one group (`workbench.query.bands.add_group`,
in the renderer's colour, on its log or linear y axis). Every trajectory view whose x axis
is the epoch works this way without code of its own (`grouped_views` lists them).

What is not a curve is not averaged: per-run epoch marks (the turn's vertical lines) are
replaced by a rug per marker, one tick a run and a bar over the group's range with its mean
(`add_rug`); a null is drawn once, as the renderer draws it, from the draws of every run
pooled (16 draws a run: 80 for five runs; runs that drew the very same draws, as random
networks of one shape are, count once); a heatmap is left out and the title says so.
A run whose figure cannot be drawn (no data, a damaged file) is left out and named.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import plotly.graph_objects as go
from plotly.colors import DEFAULT_PLOTLY_COLORS

from workbench.core.errors import CorruptFile, MissingFile, UserError
from workbench.core.nulls import NULL_KEY
from workbench.core.variant import parse_variant
from workbench.core.view import get_view
from workbench.query.bands import BANDS, add_group, add_rug
from workbench.query.groups import Group
from workbench.query.views import (MissingData, is_placeholder, load_view_arrays, placeholder_figure, run_options,
                                   run_views, view_figure)
from workbench.store import ArraysRef, RunKey, Store

__all__ = ["DRAWS", "MARKS", "GroupFigure", "group_keys", "grouped_views", "group_view_figure", "marker_epochs",
           "marker_figure", "distinct"]

DRAWS = ("band", "runs", "both")  # what a group is drawn as: mean line + band, thin run lines, or both
MARKS = (("turn_onset_epoch", "turn onset", "solid"), ("turn_midpoint_epoch", "turn midpoint", "dot"))  # turn key, label, dash
_MARK_COLOUR = "#555555"


@dataclass
class GroupFigure:
    """A view of a group: the figure and the runs it leaves out, with why."""

    figure: go.Figure
    left_out: dict[RunKey, str] = field(default_factory=dict)


def group_keys(group: Group) -> list[RunKey]:
    """The store keys of a group's runs, in its order."""
    return [RunKey(*parse_variant(spec).key) for spec in group.runs]


def grouped_views(store: Store, keys: Sequence[RunKey]) -> list[str]:
    """The trajectory views over the epoch that apply to the group's (first) run."""
    return [v for v in run_views(store, keys[0], scope="trajectory") if get_view(v).epoch_x] if keys else []


def marker_epochs(store: Store, keys: Sequence[RunKey], named: bool = False) -> tuple[dict[str, list], dict[RunKey, str]]:
    """({turn key: the runs' epochs where found}, {run: why it has no turn}) from each run's turn summary;
    `named`: each epoch as (run, epoch)."""
    found: dict[str, list] = {k: [] for k, _, _ in MARKS}
    why: dict[RunKey, str] = {}
    for key in keys:
        ref = ArraysRef("turn")
        if not store.has_arrays(key, ref):
            why[key] = "turn not run"
            continue
        try:
            arrays = store.read_arrays(key, ref)
        except (CorruptFile, MissingFile) as err:
            why[key] = f"turn unreadable ({type(err).__name__})"
            continue
        for name in found:
            value = float(np.asarray(arrays.get(name, np.nan)))
            found[name].append((key, value) if named else value) if np.isfinite(value) else None
    return found, why


def marker_figure(store: Store, keys: Sequence[RunKey], run_label=lambda key: key.variant) -> go.Figure:
    """The group's turn epochs: per marker a box over the runs with each run a labelled point."""
    found, _ = marker_epochs(store, keys, named=True)
    fig = go.Figure()
    for name, label, _ in MARKS:
        if found[name]:
            runs, epochs = zip(*found[name])
            fig.add_box(x=list(epochs), name=f"{label} (n={len(epochs)})", boxpoints="all", jitter=0.3, pointpos=0,
                        text=[run_label(k) for k in runs], marker={"color": _MARK_COLOUR}, line={"color": _MARK_COLOUR},
                        fillcolor="rgba(85,85,85,0.15)",
                        hovertemplate="%{text}: epoch %{x}<extra></extra>", orientation="h")
    if not fig.data:
        return placeholder_figure("no run of the group has a turn; run: workbench analyze --analyzers turn")
    fig.update_layout(template="plotly_white", height=120 + 60 * len(fig.data), showlegend=False,
                      title_text="The turn over the group's runs (box: quartiles; a point per run)",
                      xaxis_title_text="epoch", margin={"l": 160, "r": 20, "t": 50, "b": 40})
    return fig


def _is_null(trace) -> bool:
    return "null" in str(trace.name or "") or "null" in str(trace.legendgroup or "")


def _curve(trace) -> tuple[np.ndarray, np.ndarray] | None:
    """(x, y) of a line over training (finite points only); None for anything else."""
    if trace.type not in ("scatter", "scattergl") or trace.x is None or trace.y is None or _is_null(trace):
        return None
    if trace.fill not in (None, "none") or "lines" not in str(trace.mode or "lines"):
        return None
    try:
        x, y = np.asarray(trace.x, dtype=np.float64), np.asarray(trace.y, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    keep = np.isfinite(x) & np.isfinite(y)
    return (x[keep], y[keep]) if x.shape == y.shape and keep.sum() >= 2 else None


def _ident(trace, index: int) -> tuple[str, str, str]:
    return str(trace.name or f"trace {index}"), trace.xaxis or "x", trace.yaxis or "y"


def _collect(figs: list[go.Figure]) -> tuple[dict, dict, int]:
    """({curve id: [(x, y) per run]}, {curve id: its first trace}, heatmaps left out)."""
    series: dict[tuple, list] = {}
    first: dict[tuple, object] = {}
    heatmaps = 0
    for fig in figs:
        for i, trace in enumerate(fig.data):
            xy = _curve(trace)
            heatmaps += fig is figs[0] and trace.type == "heatmap"
            if xy is None:
                continue
            ident = _ident(trace, i)
            series.setdefault(ident, []).append(xy)
            first.setdefault(ident, trace)
    return series, first, heatmaps


def _pooled_nulls(store: Store, keys: Sequence[RunKey], view_name: str) -> tuple[dict, RunKey] | tuple[None, None]:
    """(the first run's arrays with each null's draws stacked over every run, that run); (None, None) without nulls."""
    loaded = []
    for key in keys:
        try:
            loaded.append((key, load_view_arrays(store, key, view_name)))
        except (MissingData, CorruptFile, MissingFile):
            continue
    if not loaded or not any(k.startswith(NULL_KEY + ".") for k in loaded[0][1]):
        return None, None
    base = dict(loaded[0][1])
    for name in [n for n in base if n.startswith(NULL_KEY + ".")]:
        parts = distinct([a[name] for _, a in loaded if name in a and np.ndim(a[name]) >= 1])
        if len(parts) > 1 and len({np.shape(p)[1:] for p in parts}) == 1:
            base[name] = np.concatenate(parts, axis=0)
    return base, loaded[0][0]


def distinct(parts: list[np.ndarray]) -> list[np.ndarray]:
    """The runs' null draws without repeats: runs of one shape draw the same random networks
    (seeds RANDOM_SEED0 + d), and 5 copies of 16 draws are not 80."""
    out: list[np.ndarray] = []
    for part in parts:
        nan = np.asarray(part).dtype.kind == "f"  # NaN equals NaN only where there can be one
        out.append(part) if not any(np.array_equal(part, o, equal_nan=nan) for o in out) else None
    return out


def _null_traces(store: Store, keys: Sequence[RunKey], view_name: str, options: dict) -> list:
    """The traces a view draws for its nulls, from the draws of every run pooled; [] without nulls."""
    arrays, key = _pooled_nulls(store, keys, view_name)
    if arrays is None:
        return []
    try:
        fig = get_view(view_name).render(arrays, **{**run_options(store, key, view_name), **options})
    except (ValueError, UserError):  # the null does not fit the renderer: the curves are drawn without it
        return []
    return [t for t in fig.data if _is_null(t)]


def _colour(trace, index: int) -> str:
    colour = trace.line.color if trace.line is not None else None
    ok = isinstance(colour, str) and (colour.startswith("rgb") or (colour.startswith("#") and len(colour) == 7))
    return colour if ok else DEFAULT_PLOTLY_COLORS[index % len(DEFAULT_PLOTLY_COLORS)]


def _axis_name(ref: str, kind: str) -> str:
    return kind + ref[1:]  # "y2" -> "yaxis2", "y" -> "yaxis"


def _frame(base: go.Figure) -> go.Figure:
    """The first run's figure with its layout (subplots, titles, axes) and no traces or epoch marks."""
    fig = go.Figure(layout=base.layout)
    fig.layout.shapes = [s for s in base.layout.shapes if not (s.type == "line" and s.x0 == s.x1)]
    return fig


def _draw_curves(fig: go.Figure, series: dict, first: dict, band: str, draw: str) -> None:
    for i, (ident, runs) in enumerate(series.items()):
        trace = first[ident]
        log_y = getattr(fig.layout[_axis_name(ident[2], "yaxis")], "type", None) == "log"
        add_group(fig, ident[0], _colour(trace, i), runs, band=band if draw != "runs" else "none",
                  runs=draw != "band", mean=draw != "runs", log_y=log_y,
                  showlegend=trace.showlegend is not False, axes={"xaxis": ident[1], "yaxis": ident[2]})


def _draw_marks(fig: go.Figure, epochs: dict[str, list[float]], per_epoch: float) -> None:
    """A rug per turn marker on every subplot (each run's tick, the group's range and mean), named in the legend."""
    pairs = sorted({(t.xaxis or "x", t.yaxis or "y") for t in fig.data}) or [("x", "y")]
    for row, (name, label, dash) in enumerate(MARKS):
        found = [e * per_epoch for e in epochs.get(name, [])]
        if not found:
            continue
        for xref, yref in pairs:
            add_rug(fig, _MARK_COLOUR, found, row=row, xref=xref, yref=f"{yref} domain", dash=dash)
        mean, lo, hi = np.mean(found), min(found), max(found)
        fig.add_scatter(x=[None], y=[None], mode="lines", line={"color": _MARK_COLOUR, "dash": dash},
                        name=f"{label}: mean {mean:,.0f}, range {lo:,.0f}–{hi:,.0f} (n={len(found)})")


def _title(base: go.Figure, n: int, band: str, draw: str, heatmaps: int) -> str:
    what = {"band": f"mean and {BANDS[band]}", "runs": "each run", "both": f"mean, {BANDS[band]} and each run"}[draw]
    text = f"{base.layout.title.text or ''}<br><sup>group of {n} runs: {what} (other text: the first run's)"
    return text + (f"; {heatmaps} heatmap(s) not averaged (see each run)" if heatmaps else "") + "</sup>"


def group_view_figure(store: Store, keys: Sequence[RunKey], view_name: str, *, band: str = "minmax",
                      draw: str = "band", **options) -> GroupFigure:
    """One trajectory view of a group of runs (see the module docstring).

    Args:
        store: the store; keys: the group's runs; view_name: a trajectory view over the epoch.
        band: "minmax" or "ci" (the 95% bootstrap interval of the mean) or "none".
        draw: "band" (mean line and band), "runs" (each run's thin line) or "both".
        **options: the view's options, as for `view_figure`.
    Returns:
        A GroupFigure; a placeholder figure when no run could be drawn.
    Raises:
        UserError for an unknown or per-epoch view, band or draw, or an unknown option.
    """
    view = get_view(view_name)
    if view.scope != "trajectory" or not view.epoch_x:
        raise UserError(f"view {view_name!r} is not a curve over training; a group draws: "
                        + ", ".join(grouped_views(store, keys)))
    if band not in BANDS or draw not in DRAWS:
        raise UserError(f"band must be one of {', '.join(BANDS)} and draw one of {', '.join(DRAWS)}; "
                        f"got band={band!r}, draw={draw!r}")
    figs, left_out = {}, {}
    for key in keys:
        fig = view_figure(store, key, view_name, **options)
        if is_placeholder(fig):
            left_out[key] = fig.layout.meta.get("message", "no data")
        else:
            figs[key] = fig
    if not figs:
        return GroupFigure(placeholder_figure(f"{view_name}: no run of the group has its data"), left_out)
    base = next(iter(figs.values()))
    if isinstance(base.layout.meta, dict) and "x_clock" in base.layout.meta:
        raise UserError("a group's runs are drawn at shared epochs, but each run has its own wall time: "
                        "draw the group against the epoch or the optimizer step (no x_time)")
    series, first, heatmaps = _collect(list(figs.values()))
    out = _frame(base)
    out.add_traces(_null_traces(store, list(figs), view_name, {k: v for k, v in options.items() if v is not None}))
    _draw_curves(out, series, first, band, draw)
    meta = base.layout.meta if isinstance(base.layout.meta, dict) else {}
    _draw_marks(out, marker_epochs(store, list(figs))[0], float(meta.get("x_per_epoch", 1)))
    top = out.layout.margin.t if out.layout.margin.t is not None else 80
    out.update_layout(title_text=_title(base, len(figs), band, draw, heatmaps), margin_t=top + 30)
    return GroupFigure(out, left_out)
