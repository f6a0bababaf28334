"""MLP neuron views: activation heatmaps over (a, b), small multiples, frequency clusters, coarseness."""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

from renderers._null import add_hrect, null_draws, null_fill, null_kinds, null_label, percentile_text
from renderers._options import GRID_NEURONS, GRID_SCALE, NEURON
from renderers._style import COLORS, markers, square_axes, styled, subplots, value_scale
from renderers._validate import option_index, require, same_length
from renderers._text import TITLE_CHARS, wrap
from workbench.core.errors import UserError
from workbench.core.view import Repaint, register_view

__all__ = ["render_neuron_heatmap", "render_neuron_grid", "render_neuron_freq_clusters", "render_coarseness_table",
           "dead_neurons"]

_GRID_DEFAULT = 16  # neurons shown by neuron_grid when none are named
_GRID_SCALES = ("shared", "neuron")  # one colour scale for the grid, or one per neuron
_JITTER = 0.7  # width of a frequency column in the cluster plot, in column units
_GOLDEN = 0.6180339887  # low-discrepancy spread: neighbours in y land far apart in x
_LABELLED_COLUMNS = 12  # cluster plot: tick labels on the most populated columns only (each costs a text measure)
_TIGHT = {"l": 50, "r": 10, "t": 50, "b": 45}
# under the plot, centred: the square plot is centred in whatever width it gets, so a bar at the
# right edge would float far from it in a wide frame
_COLORBAR_BELOW = {"title": {"text": "activation", "side": "top"}, "orientation": "h", "x": 0.5, "xanchor": "center",
                   "y": -0.14, "yanchor": "top", "len": 0.45, "thickness": 12}
_ACT_HOVER = "a=%{y}, b=%{x}<br>activation %{z:.3f}"


def _heatmap_title(n: int) -> str:
    return f"MLP neuron {n}: activation over (a, b)"


def _heatmap_trace(z: np.ndarray, n: int) -> dict:
    """What the heatmap's one trace shows of neuron n (a repaint sends the same)."""
    return {"z": z, "name": f"neuron {n}", "hovertemplate": f"neuron {n}<br>{_ACT_HOVER}<extra></extra>",
            "zmid": None, **value_scale(z, bounds=False)}  # zmid None: unset when the scale turns sequential


def _repaint_heatmap(arrays: dict, old: dict, new: dict) -> Repaint | None:
    """Another epoch or neuron: new z, colour scale, hover and title on the same one trace."""
    acts = arrays.get("acts")
    n = new.get("neuron", 0)
    if acts is None or acts.ndim != 3 or not isinstance(n, int) or not 0 <= n < acts.shape[0]:
        return None
    return Repaint([_heatmap_trace(acts[n].astype(np.float32), n)], wrap(_heatmap_title(n), TITLE_CHARS))


@register_view("neuron_heatmap", scope="epoch", sources=("neuron_activations",), options=(NEURON,),
               group="neurons", order=20, repaint=_repaint_heatmap)
def render_neuron_heatmap(arrays: dict, neuron: int = 0) -> go.Figure:
    """One MLP neuron's activation over every input pair (a, b) at the answer position.

    Args:
        arrays: neuron_activations artifact: acts [neuron, a, b].
        neuron: neuron index.
    Returns:
        A square heatmap (a down, b across); sequential colours for non-negative activations
        (ReLU), diverging around 0 only when some are negative.
    """
    acts = require(arrays, "acts", ("neuron", "a", "b"), "neuron_heatmap")
    n = option_index(neuron, acts.shape[0], "neuron_heatmap", "neuron")
    z = acts[n].astype(np.float32)  # [a, b]
    fig = go.Figure(go.Heatmap(x=np.arange(z.shape[1]), y=np.arange(z.shape[0]), colorbar=_COLORBAR_BELOW,
                               **{k: v for k, v in _heatmap_trace(z, n).items() if v is not None}))
    fig.update_xaxes(title_text="b")
    fig.update_yaxes(title_text="a")
    square_axes(fig, z.shape[1], z.shape[0])
    return styled(fig, _heatmap_title(n), height=520, margin={**_TIGHT, "b": 110})


def _grid_neurons(acts: np.ndarray, neurons) -> list[int]:
    """Named neurons (list or 'i,j,k'), else the most variable ones (the interesting ones)."""
    if neurons is None:
        spread = acts.reshape(acts.shape[0], -1).astype(np.float32).std(axis=1)
        return sorted(np.argsort(-spread, kind="stable")[:_GRID_DEFAULT].tolist())
    if isinstance(neurons, str):
        neurons = [s for s in neurons.split(",") if s.strip()]
    return [option_index(v, acts.shape[0], "neuron_grid", "neuron") for v in neurons]


def _pin_grid(arrays: dict) -> dict:
    """The dashboard's grid: the most variable neurons at the last analyzed checkpoint, at every epoch."""
    acts = arrays.get("acts")
    return {"neurons": _grid_neurons(acts, None)} if acts is not None and acts.ndim == 3 and len(acts) else {}


def _grid_title(count: int, shared: bool) -> str:
    how = "one colour scale" if shared else "each neuron on its own scale"
    return f"{count} MLP neurons: activation over (a, b), {how}"


def _repaint_grid(arrays: dict, old: dict, new: dict) -> Repaint | None:
    """Another epoch, same neurons on one shared scale: new z per trace and the shared colour range
    (per-neuron scales put each maximum in a subplot title, which a repaint does not reach)."""
    acts = arrays.get("acts")
    neurons = new.get("neurons")
    if (acts is None or acts.ndim != 3 or not neurons or old.get("neurons") != neurons
            or old.get("scale", "shared") != "shared" or new.get("scale", "shared") != "shared"):
        return None
    try:
        chosen = _grid_neurons(acts, neurons)
    except UserError:
        return None
    maps = acts[chosen].astype(np.float32)  # [grid, a, b]
    axis = {"cmid": None, **value_scale(maps, "c")}
    return Repaint([{"z": m} for m in maps], wrap(_grid_title(len(chosen), True), TITLE_CHARS),  # as styled wraps it
                   {"coloraxis": axis})


@register_view("neuron_grid", scope="epoch", sources=("neuron_activations",), options=(GRID_NEURONS, GRID_SCALE),
               group="neuron_detail", order=10, wide=True, repaint=_repaint_grid, pin=_pin_grid)
def render_neuron_grid(arrays: dict, neurons=None, scale: str = "shared") -> go.Figure:
    """Small multiples: many neurons' activation heatmaps, on one colour scale or one per neuron.

    Args:
        arrays: neuron_activations artifact: acts [neuron, a, b].
        neurons: neuron indices (list or "i,j,k"); default: the 16 most variable neurons.
        scale: "shared" (one colour scale: compare magnitudes) or "neuron" (each neuron from its
            own minimum to maximum: compare shapes; the subplot title gives the maximum).
    Returns:
        A grid of square heatmaps, one per neuron, titled "neuron <n>".
    """
    acts = require(arrays, "acts", ("neuron", "a", "b"), "neuron_grid")
    if scale not in _GRID_SCALES:
        raise UserError(f"neuron_grid: scale must be one of {', '.join(_GRID_SCALES)}, got {scale!r}")
    chosen = _grid_neurons(acts, neurons)
    if not chosen:
        raise UserError("neuron_grid: no neurons named")
    maps = acts[chosen].astype(np.float32)  # [grid, a, b]
    cols = min(4, len(chosen))
    rows = math.ceil(len(chosen) / cols)
    shared = scale == "shared"
    titles = [f"neuron {n}" if shared else f"neuron {n} (max {float(np.nanmax(m)):.3g})" for n, m in zip(chosen, maps)]
    fig = subplots(rows, cols, subplot_titles=titles, horizontal_spacing=0.03, vertical_spacing=0.06)
    for i, n in enumerate(chosen):
        own = {"coloraxis": "coloraxis"} if shared else {**value_scale(maps[i]), "showscale": False}
        fig.add_trace(go.Heatmap(z=maps[i], name=f"neuron {n}", **own,
                                 hovertemplate=f"neuron {n}<br>{_ACT_HOVER}<extra></extra>"),
                      i // cols + 1, i % cols + 1)
    if shared:
        fig.update_layout(coloraxis={**value_scale(maps, "c"), "colorbar": {"title": "activation", "thickness": 14}})
    # no axes at all (the subplot titles name the neurons, hover gives a and b): 32 axes' lines,
    # grids and ticks were a third of the grid's drawing time on every epoch step
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    square_axes(fig, maps.shape[2], maps.shape[1])
    return styled(fig, _grid_title(len(chosen), shared), height=220 * rows + 100,
                  margin={**_TIGHT, "t": 80})


def dead_neurons(arrays: dict, n: int) -> np.ndarray:
    """[neuron] bool: neurons with no frequency structure (constant activation), old or new artifacts.

    New artifacts mark a dead neuron with dominant_freq -1 and NaN fractions; older ones gave
    it all-zero fractions (and so dominant frequency 1), which this also recognises.
    """
    dead = (np.asarray(arrays["dominant_freq"]) < 1) | ~np.isfinite(np.asarray(arrays["dominant_frac"], float))
    frac = arrays.get("frac_explained")
    if frac is not None and np.ndim(frac) == 2 and np.shape(frac)[0] == n:
        frac = np.asarray(frac, dtype=np.float64)
        dead |= ~np.isfinite(frac).all(axis=1) | (np.nansum(frac, axis=1) == 0)
    return dead


def _jitter(slot: np.ndarray, frac: np.ndarray) -> np.ndarray:
    """x offsets within each column: by rank of frac, spread so points close in y sit apart in x."""
    offset = np.zeros(len(slot))
    for s in np.unique(slot):
        members = np.flatnonzero(slot == s)
        ranks = np.argsort(np.argsort(np.nan_to_num(frac[members]), kind="stable"), kind="stable")
        offset[members] = ((ranks * _GOLDEN) % 1.0 - 0.5) * _JITTER if len(members) > 1 else 0.0
    return offset


@register_view("neuron_freq_clusters", scope="epoch", sources=("neuron_freq_clusters",), options=(NEURON,),
               group="neurons", order=10, click=NEURON)
def render_neuron_freq_clusters(arrays: dict, neuron=None) -> go.Figure:
    """Neurons by dominant frequency and how much of their variance it explains; dead neurons apart.

    Args:
        arrays: neuron_freq_clusters artifact: dominant_freq [neuron] (1-based; -1 = dead),
            dominant_frac [neuron], optionally frac_explained [neuron, freq] and layer [] (the
            neuron hook read, named in the title).
        neuron: a neuron to mark (the one selected elsewhere), or None.
    Returns:
        A strip plot: one column per frequency that has neurons (spread sideways so each
        point can be picked; the 12 fullest columns carry their k), a "dead" column for
        constant neurons, the selected neuron ringed; customdata = [neuron, frequency]
        (frequency -1 for dead neurons).
    """
    view = "neuron_freq_clusters"
    freq = require(arrays, "dominant_freq", ("neuron",), view).astype(np.int64)
    frac = require(arrays, "dominant_frac", ("neuron",), view).astype(np.float64)
    n = same_length(view, "neuron", dominant_freq=freq, dominant_frac=frac)
    dead = dead_neurons(arrays, n)
    present = sorted(set(freq[~dead].tolist()))
    slot = np.where(dead, len(present), np.searchsorted(present, freq))  # dead neurons: the last column
    x = slot + _jitter(slot, np.where(dead, 0.0, frac))
    y = np.where(dead, 0.0, np.nan_to_num(frac))
    custom = np.stack([np.arange(n), np.where(dead, -1, freq)], axis=1)  # [neuron, 2]
    fig = go.Figure()
    live = ~dead
    fig.add_trace(markers(x=x[live], y=y[live], customdata=custom[live], name="neurons",
                          marker={"size": 7, "opacity": 0.7, "color": COLORS["train"]},  # y is the fraction
                          hovertemplate="neuron %{customdata[0]}<br>dominant frequency k=%{customdata[1]}"
                                        "<br>fraction of variance %{y:.2f}<extra></extra>"))
    if dead.any():
        fig.add_trace(markers(x=x[dead], y=y[dead], customdata=custom[dead], name="dead neurons",
                              marker={"size": 7, "opacity": 0.7, "color": COLORS["dead"]},
                              hovertemplate="neuron %{customdata[0]}<br>dead: constant activation<extra></extra>"))
    selected = "" if neuron is None else _mark_selected(fig, option_index(neuron, n, view, "neuron"), x, y, custom)
    ticks = _column_labels(present, slot[live]) + (["dead"] if dead.any() else [])
    fig.update_xaxes(title_text="dominant frequency k (labelled: the fullest columns)", tickvals=list(range(len(ticks))),
                     ticktext=ticks,
                     range=[-0.6, len(ticks) - 0.4], showgrid=False, zeroline=False)
    fig.update_yaxes(title_text="fraction of variance explained", range=[-0.05, 1.05])
    clustered = int((frac[live] > 0.5).sum())
    counts = f"{clustered}/{int(live.sum())} live neurons > 50% one frequency; {int(dead.sum())} dead"
    against = _against_null(fig, arrays, frac[live])
    # the counts on a second line and the null on a third: one line of all was clipped in a
    # half-width dashboard panel
    layer = f" of {arrays['layer']}" if "layer" in arrays else ""
    return styled(fig, f"Neuron frequency clusters{layer}<br><sup>{counts}{selected}{against}</sup>", showlegend=False)


def _against_null(fig: go.Figure, arrays: dict, live_frac: np.ndarray) -> str:
    """Draw each stored null of the neurons' fractions as a band (pooled over neurons, its own
    colour per kind); the mean fraction's percentile against each null's means, for the subtitle
    ("" without a null)."""
    mean, parts, sizes = float(np.mean(live_frac)) if live_frac.size else np.nan, [], set()
    for kind in null_kinds(arrays, "neuron_freq_clusters"):
        draws = null_draws(arrays, "neuron_freq_clusters", "dominant_frac", kind)
        if draws is None or not live_frac.size:
            continue
        label = null_label(arrays, "neuron_freq_clusters", draws, kind)
        fill, colour = null_fill(kind)
        add_hrect(fig, draws, label, pool=True, fill=fill)  # a shape: every trace here is a set of clickable neurons
        pct = percentile_text(mean, null_draws(arrays, "neuron_freq_clusters", "mean_dominant_frac", kind))
        name = label.split(" null")[0]  # null_label: "<kind> null at epoch E, 95% of N draws"
        parts.append(f"{pct.removesuffix(' of its null') or 'against'} of the {name} null ({colour})")
        sizes.add(len(draws))
    if not parts:
        return ""
    return f"<br>mean {mean:.2f}: {'; '.join(parts)}, {'/'.join(map(str, sorted(sizes)))} draws"


def _column_labels(present: list[int], live_slots: np.ndarray) -> list[str]:
    """Tick text per frequency column: k for the `_LABELLED_COLUMNS` fullest columns, "" elsewhere.

    A trained network puts most neurons in a few key-frequency columns; those are labelled.
    Labelling all of them (56 at p=113) overlapped and cost ~75 ms of drawing per epoch step;
    the hover names every point's k.
    """
    counts = np.bincount(live_slots, minlength=len(present)) if len(present) else np.zeros(0, int)
    fullest = set(np.argsort(-counts, kind="stable")[:_LABELLED_COLUMNS].tolist())
    return [str(k) if i in fullest else "" for i, k in enumerate(present)]


def _mark_selected(fig: go.Figure, idx: int, x: np.ndarray, y: np.ndarray, custom: np.ndarray) -> str:
    """Ring the selected neuron, drawn last so it sits on top; return its title suffix."""
    fig.add_trace(markers(x=[x[idx]], y=[y[idx]], customdata=custom[idx:idx + 1], name=f"neuron {idx} (selected)",
                          marker={"size": 16, "symbol": "circle-open", "color": COLORS["selected"],
                                  "line": {"width": 3}},
                          hovertemplate="selected neuron %{customdata[0]}<br>k=%{customdata[1]}"
                                        "<br>fraction %{y:.2f}<extra></extra>"))
    k = int(custom[idx, 1])
    return f" · ringed: neuron {idx}, " + ("dead" if k < 0 else f"k={k}, fraction {float(y[idx]):.2f}")


@register_view("coarseness_table", scope="epoch", sources=("coarseness",), group="neuron_detail", order=20, wide=True)
def render_coarseness_table(arrays: dict) -> go.Figure:
    """Per-neuron coarseness (low-frequency share, gradient, downsampling), sorted coarsest first.

    Args:
        arrays: coarseness artifact: fft_low_ratio, grad_magnitude, downsample_preserved [neuron].
    Returns:
        A go.Table figure.
    """
    cols = {k: require(arrays, k, ("neuron",), "coarseness_table")
            for k in ("fft_low_ratio", "grad_magnitude", "downsample_preserved")}
    n = same_length("coarseness_table", "neuron", **cols)
    order = np.argsort(-np.nan_to_num(cols["fft_low_ratio"], nan=-np.inf), kind="stable")
    values = [order.tolist()] + [np.round(cols[k][order].astype(float), 4).tolist() for k in cols]
    fig = go.Figure(go.Table(header={"values": ["neuron", *cols], "align": "left"},
                             cells={"values": values, "align": "left"}))
    return styled(fig, f"Neuron coarseness ({n} neurons, coarsest first)", height=480)
