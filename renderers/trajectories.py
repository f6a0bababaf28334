"""Whole-run views: every data point's customdata[0] is its epoch (the dashboard's click contract)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from renderers._axis import TRAINING_AXIS, over_training
from renderers._null import add_bar_bands, add_hband, null_draws, null_epoch, null_label
from renderers._style import (
    COLORS,
    EPOCH_AXIS,
    EPOCH_HOVER,
    LOG_AXIS,
    epoch_scatter,
    freq_label,
    matrix_color,
    sequential_heatmap,
    styled,
    subplots,
)
from renderers._validate import require, same_length
from workbench.core.view import register_view

__all__ = [
    "render_loss_curves", "render_pca_trajectory", "render_freq_specialization", "render_dimensionality",
    "render_weight_trajectory", "render_loss_decomposition", "mark_turn",
]


def _custom(epochs: np.ndarray) -> np.ndarray:
    return np.asarray(epochs).astype(int)[:, None]  # [epoch, 1]: customdata[0] = epoch


_TURN_MARKS = (("turn.turn_onset_epoch", "turn onset"), ("turn.turn_midpoint_epoch", "turn midpoint"))
_OLD_TURN = ("turn.turn_epoch", "turn")  # turn summaries written before onset/midpoint
_TURN_DASHES = ("dash", "dot", "dashdot")  # one line style per turn estimate


def _turns(arrays: dict) -> list[tuple[str, int]]:
    """(label, whole epoch) for each turn estimate the optional turn summary holds and found."""
    keys = _TURN_MARKS if any(k in arrays for k, _ in _TURN_MARKS) else (_OLD_TURN,)
    found = []
    for key, label in keys:
        value = float(np.asarray(arrays[key])) if key in arrays else np.nan
        if np.isfinite(value):
            found.append((label, int(round(value))))
    return found


def mark_turn(fig: go.Figure, turns: list[tuple[str, int]]) -> go.Figure:
    """Draw a vertical line (a layout shape) at each turn epoch on every subplot, named in the legend.

    A legend entry rather than a label on the plot: labels of nearby epochs overlap each other
    and the curves, and plotly widens the axis to fit one near an edge.
    """
    for (label, epoch), dash in zip(turns, _TURN_DASHES):
        fig.add_vline(x=epoch, line_dash=dash, line_color=COLORS["turn"], row="all", col="all")
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", name=f"{label} {epoch}", customdata=[[epoch]],
                                 line={"color": COLORS["turn"], "dash": dash},
                                 hovertemplate=f"{label}<br>{EPOCH_HOVER}<extra></extra>"))
    return fig


def _split_traces(fig, epochs, values: dict, what: str, fmt: str, row: int, col: int,
                  showlegend: bool = True) -> None:
    for name, y in values.items():
        hover = f"{name} {what}<br>{EPOCH_HOVER}<br>{what} %{{y:{fmt}}}<extra></extra>"
        fig.add_trace(epoch_scatter(x=epochs, y=y, name=name, customdata=_custom(epochs), legendgroup=name,
                                    showlegend=showlegend, line={"color": COLORS[name]}, hovertemplate=hover),
                      row, col)


@register_view("loss_curves", scope="trajectory", sources=("metrics", "turn"), options=TRAINING_AXIS,
               group="training", order=10, click="epoch")
@over_training
def render_loss_curves(arrays: dict) -> go.Figure:
    """Train and test loss (log y) and accuracy over epochs, with the turn marked.

    Args:
        arrays: "metrics.<name>" for epoch, train_loss, test_loss, train_acc, test_acc [epoch];
            optionally "turn.turn_onset_epoch", "turn.turn_midpoint_epoch" [] (older: "turn.turn_epoch").
    Returns:
        A 1x2 figure: loss (log y) and accuracy.
    """
    view = "loss_curves"
    m = {k: require(arrays, f"metrics.{k}", ("epoch",), view)
         for k in ("epoch", "train_loss", "test_loss", "train_acc", "test_acc")}
    same_length(view, "epoch", **m)
    fig = subplots(1, 2, subplot_titles=("loss", "accuracy"))
    _split_traces(fig, m["epoch"], {"train": m["train_loss"], "test": m["test_loss"]}, "loss", ".3g", 1, 1)
    _split_traces(fig, m["epoch"], {"train": m["train_acc"], "test": m["test_acc"]}, "accuracy", ".3f", 1, 2,
                  showlegend=False)
    fig.update_xaxes(**EPOCH_AXIS)
    fig.update_yaxes(title_text="cross-entropy loss (log)", col=1, **LOG_AXIS)
    fig.update_yaxes(title_text="accuracy", range=[0, 1.05], col=2)
    return styled(mark_turn(fig, _turns(arrays)), "Loss and accuracy")


@register_view("pca_trajectory", scope="trajectory", sources=("param_pca",),
               group="geometry", order=10, click="epoch", epoch_x=False)
def render_pca_trajectory(arrays: dict) -> go.Figure:
    """The parameter trajectory projected on its top principal components, coloured by epoch.

    Args:
        arrays: param_pca summary: epochs [epoch], pcs [epoch, component], explained_variance [component].
    Returns:
        A 1x2 figure: PC1/PC2 and PC2/PC3 paths.
    """
    view = "pca_trajectory"
    epochs = require(arrays, "epochs", ("epoch",), view)
    pcs = require(arrays, "pcs", ("epoch", "component"), view)
    var = require(arrays, "explained_variance", ("component",), view)
    same_length(view, "epoch", epochs=epochs, pcs=pcs)
    if pcs.shape[1] < 3:  # fewer checkpoints than components: pad so both panels still draw
        pcs = np.pad(pcs, ((0, 0), (0, 3 - pcs.shape[1])))
        var = np.pad(var, (0, max(0, 3 - var.shape[0])))
    label = [f"PC{i + 1} ({100 * float(var[i]):.0f}%)" for i in range(3)]
    fig = subplots(1, 2, subplot_titles=("PC1 / PC2", "PC2 / PC3"))
    for col, (i, j) in enumerate(((0, 1), (1, 2)), start=1):
        fig.add_trace(epoch_scatter(x=pcs[:, i], y=pcs[:, j], customdata=_custom(epochs), name="trajectory",
                                    showlegend=False, line={"color": "#bbbbbb"},
                                    marker={"size": 7, "color": epochs, "colorscale": "Viridis",
                                            "showscale": col == 2, "colorbar": {"title": "epoch", "tickformat": "d"}},
                                    hovertemplate=f"{EPOCH_HOVER}<br>PC{i + 1} %{{x:.3g}}, PC{j + 1} %{{y:.3g}}"
                                                  "<extra></extra>"), 1, col)
        fig.update_xaxes(title_text=label[i], row=1, col=col)
        fig.update_yaxes(title_text=label[j], row=1, col=col)
    crossings = int(np.asarray(arrays.get("n_intersections", 0)))
    return styled(fig, f"Parameter trajectory in PCA space ({crossings} PC2/PC3 self-intersections)")


@register_view("freq_specialization", scope="trajectory", sources=("specialization_trajectory",), options=TRAINING_AXIS,
               group="embeddings", order=30, wide=True, click="epoch")
@over_training
def render_freq_specialization(arrays: dict) -> go.Figure:
    """How embeddings, neurons and heads specialize on frequencies over training.

    Args:
        arrays: specialization_trajectory summary: epochs [epoch], embed_freq_norms [epoch, freq],
            neuron_freq_counts [epoch, freq] (dead neurons not counted), head_dominant_freq [epoch, head]
            (-1: constant head), head_purity [epoch, head]; optionally neuron_dead_counts [epoch].
    Returns:
        Three stacked panels: embedding norm heatmap, neuron count heatmap (dead neurons, when
        the summary has them, in its title and hover), head purity lines; customdata[0] = epoch.
    """
    view = "freq_specialization"
    epochs = require(arrays, "epochs", ("epoch",), view)
    embed = require(arrays, "embed_freq_norms", ("epoch", "freq"), view)
    counts = require(arrays, "neuron_freq_counts", ("epoch", "freq"), view)
    dom = require(arrays, "head_dominant_freq", ("epoch", "head"), view)
    purity = require(arrays, "head_purity", ("epoch", "head"), view)
    same_length(view, "epoch", epochs=epochs, embed_freq_norms=embed, neuron_freq_counts=counts,
                head_dominant_freq=dom, head_purity=purity)
    freqs = np.arange(1, embed.shape[1] + 1)
    dead = _dead_counts(arrays, len(epochs))
    cell = np.stack(np.broadcast_arrays(epochs.astype(int)[None, :], dead[None, :], freqs[:, None]), axis=-1)
    fig = subplots(3, 1, shared_xaxes=True, vertical_spacing=0.07,
                   subplot_titles=("embedding norm per frequency", _neuron_title(dead),
                                   "attention head purity (label: dominant frequency)"))
    for row, z, bar_y, what in ((1, embed, 0.86, "embedding norm %{z:.3g}"), (2, counts, 0.5, "%{z} neurons")):
        dead_hover = "<br>%{customdata[1]} dead neurons (not counted)" if row == 2 and dead.min() >= 0 else ""
        fig.add_trace(sequential_heatmap(z=z.T, x=epochs, y=freqs, customdata=cell,
                                         colorbar={"len": 0.28, "y": bar_y},
                                         hovertemplate=f"{EPOCH_HOVER}, k=%{{y}}<br>{what}{dead_hover}<extra></extra>"),
                      row, 1)
        fig.update_yaxes(title_text="frequency k", row=row, col=1)
    for h in range(purity.shape[1]):
        fig.add_trace(epoch_scatter(x=epochs, y=purity[:, h], customdata=_custom(epochs), name=f"head {h}",
                                    text=[freq_label(k) for k in dom[:, h]],
                                    hovertemplate=f"head {h}<br>{EPOCH_HOVER}<br>purity %{{y:.2f}}, dominant %{{text}}"
                                                  "<extra></extra>"), 3, 1)
    fig.update_yaxes(title_text="purity", range=[0, 1.05], row=3, col=1)
    fig.update_xaxes(tickformat="d")
    fig.update_xaxes(title_text="epoch", row=3, col=1)
    return styled(fig, "Frequency specialization over training", height=780, legend={"y": -0.1})


def _dead_counts(arrays: dict, n: int) -> np.ndarray:
    """[epoch] dead neurons per checkpoint if the summary has them, else -1 (unknown)."""
    dead = arrays.get("neuron_dead_counts")
    if dead is None or np.shape(dead) != (n,):
        return np.full(n, -1, dtype=np.int64)
    return np.asarray(dead).astype(np.int64)


def _neuron_title(dead: np.ndarray) -> str:
    if not len(dead) or dead.min() < 0:
        return "neurons per dominant frequency"
    return f"neurons per dominant frequency (dead neurons not counted: {dead[0]} at the start, {dead[-1]} at the end)"


@register_view("dimensionality", scope="trajectory", sources=("dimensionality_trajectory",), options=TRAINING_AXIS,
               group="geometry", order=20, click="epoch")
@over_training
def render_dimensionality(arrays: dict) -> go.Figure:
    """Participation ratio and spectral gap of each weight matrix over training.

    Args:
        arrays: dimensionality_trajectory summary: epochs [epoch], matrix_names [matrix],
            participation_ratio [epoch, matrix], spectral_gap [epoch, matrix]; optionally
            effective_dim's null ("null.effective_dim.participation_ratio" [draw, matrix]).
    Returns:
        A 1x2 figure with one line per matrix, each with its null's central 95% as a faint band.
    """
    view = "dimensionality"
    epochs = require(arrays, "epochs", ("epoch",), view)
    names = require(arrays, "matrix_names", ("matrix",), view)
    pr = require(arrays, "participation_ratio", ("epoch", "matrix"), view)
    gap = require(arrays, "spectral_gap", ("epoch", "matrix"), view)
    same_length(view, "epoch", epochs=epochs, participation_ratio=pr, spectral_gap=gap)
    fig = subplots(1, 2, subplot_titles=("participation ratio", "spectral gap"))
    for i, name in enumerate(names):
        for col, values, what in ((1, pr, "participation ratio"), (2, gap, "σ1 / σ2")):
            fig.add_trace(epoch_scatter(x=epochs, y=values[:, i], customdata=_custom(epochs), name=str(name),
                                        legendgroup=str(name), showlegend=col == 1,
                                        line={"color": matrix_color(name)}, marker={"color": matrix_color(name)},
                                        hovertemplate=f"{name}<br>{EPOCH_HOVER}<br>{what} %{{y:.3g}}<extra></extra>"),
                          1, col)
    nulls = null_draws(arrays, "effective_dim", "participation_ratio")  # [draw, matrix] or None
    if nulls is not None and nulls.shape[1:] == (len(names),) and len(epochs):
        for i, name in enumerate(names):  # in the matrix's colour, shown and hidden with its line
            _null_over_training(fig, arrays, "effective_dim", nulls[:, i], epochs, f"{name}: ", _faint(matrix_color(name)),
                                showlegend=False, group=str(name), row=1, col=1)
    fig.update_xaxes(**EPOCH_AXIS)
    fig.update_yaxes(title_text="participation ratio", col=1)
    fig.update_yaxes(title_text="σ1 / σ2", col=2)
    title = "Effective dimensionality of the weights" + (
        "<br><sup>bands: each matrix's participation ratio in random networks of its shape (95%)</sup>"
        if nulls is not None else "")
    return styled(fig, title, height=460, margin={"l": 60, "r": 20, "t": 90 if nulls is not None else 60, "b": 50})


def _null_over_training(fig: go.Figure, arrays: dict, analyzer: str, draws: np.ndarray, epochs: np.ndarray,
                        prefix: str, fill: str, showlegend: bool = True, group: str | None = None, **where) -> None:
    """A null drawn at one checkpoint as a range at that epoch; one of random networks as a band across training."""
    label = prefix + null_label(arrays, analyzer, draws)
    at = null_epoch(arrays, analyzer)
    if at is None:
        add_hband(fig, draws, float(epochs[0]), float(epochs[-1]), label, fill=fill, showlegend=showlegend,
                  group=group, **where)
    else:
        add_bar_bands(fig, [at], [draws], label, **where)


def _faint(color: str) -> str:
    """'#rrggbb' -> the same colour at 15% opacity (a null band behind its line)."""
    r, g, b = (int(color[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r}, {g}, {b}, 0.15)"


@register_view("weight_trajectory", scope="trajectory", sources=("weight_trajectory",), options=TRAINING_AXIS,
               group="geometry", order=30, click="epoch")
@over_training
def render_weight_trajectory(arrays: dict) -> go.Figure:
    """Total weight norm and parameter velocity (‖Δθ‖ per epoch) over training.

    Args:
        arrays: weight_trajectory summary: epochs [epoch], total_norm [epoch], velocity [epoch]
            (first entry NaN), matrix_names [matrix], weight_norms [epoch, matrix].
    Returns:
        A 1x2 figure: norms, and velocity on a log y axis.
    """
    view = "weight_trajectory"
    epochs = require(arrays, "epochs", ("epoch",), view)
    total = require(arrays, "total_norm", ("epoch",), view)
    velocity = require(arrays, "velocity", ("epoch",), view)
    names = require(arrays, "matrix_names", ("matrix",), view)
    norms = require(arrays, "weight_norms", ("epoch", "matrix"), view)
    same_length(view, "epoch", epochs=epochs, total_norm=total, velocity=velocity, weight_norms=norms)
    fig = subplots(1, 2, subplot_titles=("weight norm", "velocity ‖θt − θprev‖ / Δepoch"))
    norm_hover = f"<br>{EPOCH_HOVER}<br>Frobenius norm %{{y:.3g}}<extra></extra>"
    fig.add_trace(epoch_scatter(x=epochs, y=total, customdata=_custom(epochs), name="total",
                                line={"color": "black", "width": 3}, marker={"color": "black"},
                                hovertemplate="all weights" + norm_hover), 1, 1)
    for i, name in enumerate(names):
        fig.add_trace(epoch_scatter(x=epochs, y=norms[:, i], customdata=_custom(epochs), name=str(name),
                                    line={"width": 1, "color": matrix_color(name)},
                                    marker={"color": matrix_color(name)}, hovertemplate=f"{name}" + norm_hover), 1, 1)
    velocity_hover = f"velocity<br>{EPOCH_HOVER}<br>‖Δθ‖ / Δepoch %{{y:.3g}}<extra></extra>"
    fig.add_trace(epoch_scatter(x=epochs, y=velocity, customdata=_custom(epochs), name="velocity",
                                line={"color": COLORS["test"]}, hovertemplate=velocity_hover), 1, 2)
    fig.update_xaxes(**EPOCH_AXIS)
    fig.update_yaxes(title_text="Frobenius norm", col=1)
    fig.update_yaxes(title_text="velocity (log)", col=2, **LOG_AXIS)
    return styled(fig, "Weight norm and velocity", height=460)


@register_view("loss_decomposition", scope="trajectory", sources=("loss_decomposition", "turn"), options=TRAINING_AXIS,
               group="training", order=20, click="epoch")
@over_training
def render_loss_decomposition(arrays: dict) -> go.Figure:
    """Restricted loss (key frequencies only) and excluded loss against train/test loss over training.

    Args:
        arrays: "loss_decomposition.<name>" for epochs, restricted_loss, excluded_loss, train_loss,
            test_loss [epoch]; optionally key_freqs [key], key_rule [] and key_source [] (which keys,
            by which rule, from which source), "turn.turn_epoch" [], and restricted_loss's null
            ("null.restricted_loss.<loss>" [draw]: a range at the epoch it was drawn at, or a band
            across training for random networks).
    Returns:
        One line per loss on a log y axis, the turn marked; the title names the keys and their
        source, or why restricted loss was refused.
    """
    view = "loss_decomposition"
    names = ("epochs", "restricted_loss", "excluded_loss", "train_loss", "test_loss")
    d = {k: require(arrays, f"loss_decomposition.{k}", ("epoch",), view) for k in names}
    same_length(view, "epoch", **d)
    fig = go.Figure()
    for k, color in (("restricted", "restricted"), ("excluded", "excluded"), ("train", "train"), ("test", "test")):
        fig.add_trace(epoch_scatter(x=d["epochs"], y=d[f"{k}_loss"], customdata=_custom(d["epochs"]),
                                    name=f"{k} loss", line={"color": COLORS[color]},
                                    hovertemplate=f"{k} loss<br>{EPOCH_HOVER}<br>loss %{{y:.3g}}<extra></extra>"))
    for k in ("restricted", "excluded"):  # where the per-epoch losses' null is stored
        draws = null_draws(arrays, "restricted_loss", f"{k}_loss")
        if draws is not None and len(d["epochs"]):
            _null_over_training(fig, arrays, "restricted_loss", draws, d["epochs"], f"{k} loss: ", _faint(COLORS[k]))
    fig.update_xaxes(**EPOCH_AXIS)
    fig.update_yaxes(title_text="cross-entropy loss (log)", **LOG_AXIS)
    return styled(mark_turn(fig, _turns(arrays)), _decomposition_title(arrays),
                  margin={"l": 60, "r": 20, "t": 100, "b": 50})


def _decomposition_title(arrays: dict) -> str:
    """Which keys restricted loss kept, by which rule and from which source; or why it was refused."""
    rule = str(np.asarray(arrays.get("loss_decomposition.key_rule", "")))
    if rule.startswith("refused"):
        return f"Loss decomposition: restricted and excluded loss {rule}"
    if "loss_decomposition.key_freqs" not in arrays:
        return "Loss decomposition: restricted and excluded loss"
    keys = [str(int(k)) for k in np.atleast_1d(arrays["loss_decomposition.key_freqs"])]
    source = str(np.asarray(arrays.get("loss_decomposition.key_source", "")))
    # the keys on their own line: 14 of them do not fit beside the title in a half-width panel
    return (f"Restricted and excluded loss ({len(keys)} key frequencies)<br><sup>{rule.split(':')[0]} rule, "
            f"from {source}<br>k = {', '.join(keys)}</sup>")
