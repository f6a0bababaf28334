"""Output-side views at one checkpoint: restricted loss, logit lens, per-input traces."""

from __future__ import annotations

import textwrap

import numpy as np
import plotly.graph_objects as go

from renderers._null import add_bar_bands, null_draws, null_label, percentile_text
from renderers._style import COLORS, LOG_AXIS, bar, line, styled, subplots
from renderers._validate import require, same_length
from workbench.core.view import register_view

__all__ = ["render_restricted_loss", "render_fourier_gini", "render_logit_lens", "render_input_trace"]


@register_view("restricted_loss", scope="epoch", sources=("restricted_loss",), group="output", order=20)
def render_restricted_loss(arrays: dict) -> go.Figure:
    """Loss with only the key frequencies kept (restricted) or removed (excluded), beside train/test loss.

    Args:
        arrays: restricted_loss artifact: key_freqs [key], restricted_loss, excluded_loss, train_loss,
            test_loss (scalars); optionally key_rule (how the key frequencies were chosen) and its
            null ("null.restricted_loss.<loss>" [draw]).
    Returns:
        A bar chart on a log y axis, the null's central 95% as a grey range at each loss that has
        one; the key frequencies and their rule in the title.
    """
    view = "restricted_loss"
    keys = require(arrays, "key_freqs", ("key",), view)
    names = ("restricted_loss", "excluded_loss", "train_loss", "test_loss")
    values = [float(require(arrays, k, (), view)) for k in names]
    colors = [COLORS["restricted"], COLORS["excluded"], COLORS["train"], COLORS["test"]]
    labels = ["restricted", "excluded", "train", "test"]
    fig = go.Figure(bar(x=labels, y=values, marker_color=colors, text=[f"{v:.3g}" for v in values],
                        textposition="outside", name="loss", cliponaxis=False, showlegend=False,
                        hovertemplate="%{x} loss %{y:.3g}<extra></extra>"))
    nulls = [null_draws(arrays, view, k) for k in names]
    if any(d is not None for d in nulls):
        add_bar_bands(fig, labels, nulls, null_label(arrays, view, next(d for d in nulls if d is not None)))
    fig.update_xaxes(title_text="loss")
    fig.update_yaxes(title_text="cross-entropy loss (log)", **LOG_AXIS)
    key_text = ", ".join(str(int(k)) for k in keys) or "none"
    rule = textwrap.wrap(f"chosen by: {np.asarray(arrays['key_rule'])}", 75) if "key_rule" in arrays else []
    if rule:  # under the title, above the plot, however many lines it takes
        fig.add_annotation(text="<br>".join(rule), xref="paper", yref="paper", x=0, y=1.02, xanchor="left",
                           yanchor="bottom", align="left", showarrow=False, font={"size": 11, "color": "#555555"})
    fig = styled(fig, f"Restricted vs excluded loss (key frequencies {key_text})",
                 showlegend=any(d is not None for d in nulls),
                 margin={"l": 60, "r": 20, "t": 60 + 15 * len(rule), "b": 50})
    return fig.update_layout(title_y=1, title_yanchor="top", title_pad_t=14)


@register_view("fourier_gini", scope="epoch", sources=("fourier_gini",), group="output", order=25)
def render_fourier_gini(arrays: dict) -> go.Figure:
    """Fourier sparsity of the embedding and of the neuron-logit map, against random networks.

    Args:
        arrays: fourier_gini artifact: gini_embed, gini_neuron_logit (scalars); optionally its null
            ("null.fourier_gini.<output>" [draw]).
    Returns:
        Two bars on [0, 1], the null's central 95% as a grey range beside each, percentiles in the title.
    """
    view = "fourier_gini"
    names = ("gini_embed", "gini_neuron_logit")
    values = [float(require(arrays, k, (), view)) for k in names]
    labels = ["W_E", "W_L = W_out W_U"]
    nulls = [null_draws(arrays, view, k) for k in names]
    fig = go.Figure(bar(x=labels, y=values, marker_color=COLORS["restricted"], text=[f"{v:.3f}" for v in values],
                        textposition="outside", name="Gini", cliponaxis=False, showlegend=False,
                        hovertemplate="%{x}<br>Gini %{y:.3f}<extra></extra>"))
    present = [d for d in nulls if d is not None]
    if present:
        add_bar_bands(fig, labels, nulls, null_label(arrays, view, present[0]))
    fig.update_yaxes(title_text="Gini of Fourier-component norms", range=[0, 1.08])
    sub = "; ".join(f"{lab}: {percentile_text(v, d)}" for lab, v, d in zip(labels, values, nulls) if d is not None)
    return styled(fig, "Fourier sparsity (Gini)" + (f"<br><sup>{sub}</sup>" if sub else ""), showlegend=bool(present))


@register_view("logit_lens", scope="epoch", sources=("logit_lens",), group="output", order=10)
def render_logit_lens(arrays: dict) -> go.Figure:
    """Loss, accuracy and correct-class logit when unembedding the residual after each stage.

    Args:
        arrays: logit_lens artifact: stages [stage] (names), loss, accuracy, correct_logit [stage].
    Returns:
        A 1x3 figure of bars per stage.
    """
    view = "logit_lens"
    stages = [str(s) for s in require(arrays, "stages", ("stage",), view)]
    cols = {k: require(arrays, k, ("stage",), view) for k in ("loss", "accuracy", "correct_logit")}
    same_length(view, "stage", stages=np.asarray(stages), **cols)
    fig = subplots(1, 3, subplot_titles=("loss", "accuracy", "mean correct logit"))
    for i, (k, v) in enumerate(cols.items()):
        fig.add_trace(bar(x=stages, y=v.astype(float), name=k, customdata=np.arange(len(stages)),
                          hovertemplate=f"residual after %{{x}}<br>{k.replace('_', ' ')} %{{y:.3g}}<extra></extra>"),
                      1, i + 1)
    fig.update_xaxes(title_text="residual after")
    fig.update_yaxes(title_text="loss", col=1)
    fig.update_yaxes(title_text="accuracy", range=[0, 1.05], col=2)
    fig.update_yaxes(title_text="logit", col=3)
    return styled(fig, "Logit lens: unembedding the residual stream stage by stage", showlegend=False)


@register_view("input_trace", scope="epoch", sources=("input_trace",), group="output", order=30, wide=True)
def render_input_trace(arrays: dict) -> go.Figure:
    """Individual inputs through the residual stream: correct-class logit and rank per stage.

    Args:
        arrays: input_trace artifact: inputs [row, operand], is_train [row], stages [stage],
            correct_logit [row, stage], rank [row, stage] (0 = top).
    Returns:
        A 1x2 figure with one line per input, train solid and test dashed. The lines of one
        split share a trace (separated by gaps), so 64 inputs draw as 4 traces, not 128; the
        hover names the input (customdata = [row, "a+b (split)"]).
    """
    view = "input_trace"
    inputs = require(arrays, "inputs", ("row", "operand"), view)
    is_train = require(arrays, "is_train", ("row",), view).astype(bool)
    stages = [str(s) for s in require(arrays, "stages", ("stage",), view)]
    logit = require(arrays, "correct_logit", ("row", "stage"), view)
    rank = require(arrays, "rank", ("row", "stage"), view)
    same_length(view, "row", inputs=inputs, is_train=is_train, correct_logit=logit, rank=rank)
    fig = subplots(1, 2, subplot_titles=("correct-class logit", "rank of correct class (0 = top)"))
    for split, rows in (("train", np.flatnonzero(is_train)), ("test", np.flatnonzero(~is_train))):
        if not len(rows):
            continue
        style = {"color": COLORS[split], "dash": "solid" if split == "train" else "dash"}
        labels = [f"{int(inputs[r, 0])}+{int(inputs[r, 1])} ({split})" for r in rows]
        x = _gapped([stages] * len(rows))
        custom = _gapped([[[int(r), label]] * len(stages) for r, label in zip(rows, labels)], gap=[None, None])
        for col, values, what in ((1, logit, "correct-class logit %{y:.3g}"), (2, rank, "rank of correct class %{y}")):
            y = _gapped([values[r].astype(float).tolist() for r in rows])
            fig.add_trace(line(x=x, y=y, customdata=custom, name=f"{split} inputs ({len(rows)})", line=style,
                               legendgroup=split, showlegend=col == 1, connectgaps=False,
                               hovertemplate=f"%{{customdata[1]}}<br>after %{{x}}<br>{what}<extra></extra>"),
                          1, col)
    fig.update_xaxes(title_text="residual after", type="category", categoryorder="array", categoryarray=stages)
    fig.update_yaxes(title_text="logit", col=1)
    fig.update_yaxes(title_text="rank", col=2)
    return styled(fig, f"Input traces ({inputs.shape[0]} inputs)", height=460)


def _gapped(series: list[list], gap=None) -> list:
    """Concatenate per-input series with one `gap` value between them (a break in a line trace)."""
    out: list = []
    for s in series:
        out += list(s) + [gap]
    return out[:-1]
