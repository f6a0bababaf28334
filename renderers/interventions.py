"""Interventions over training: each edit's test accuracy and loss against the unedited model."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from renderers._axis import TRAINING_AXIS, over_training
from renderers._style import EPOCH_AXIS, EPOCH_HOVER, LOG_AXIS, epoch_scatter, styled, subplots
from renderers._validate import require, same_length
from renderers.trajectories import _turns, mark_turn
from workbench.core.view import register_view

__all__ = ["render_interventions"]

_DASH = {"none": "solid", "head": "dot", "neurons": "dash", "W_E": "dashdot", "logits": "longdash", "patch": "solid"}
_COLORS = ("#000000", "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5")


def _edit_traces(fig: go.Figure, epochs: np.ndarray, names, scopes, values: np.ndarray, what: str, col: int) -> None:
    custom = np.asarray(epochs).astype(int)[:, None]
    for i, (name, scope) in enumerate(zip(names, scopes)):
        fig.add_trace(epoch_scatter(x=epochs, y=values[:, i], name=str(name), legendgroup=str(name),
                                    showlegend=col == 1, customdata=custom,
                                    line={"color": _COLORS[i % len(_COLORS)], "dash": _DASH.get(str(scope), "solid"),
                                          "width": 3 if scope == "none" else 1.5},
                                    hovertemplate=f"{name}<br>{EPOCH_HOVER}<br>{what} %{{y:.3g}}<extra></extra>"),
                      1, col)


@register_view("interventions", scope="trajectory", sources=("intervention_trajectory", "turn"), options=TRAINING_AXIS,
               group="output", order=40, wide=True, click="epoch")
@over_training
def render_interventions(arrays: dict) -> go.Figure:
    """Test accuracy and test loss over training with each intervention applied, the unedited model in black.

    Args:
        arrays: "intervention_trajectory.<name>" for epochs [epoch], edit_names and edit_scopes [edit],
            test_acc and test_loss [epoch, edit], key_freqs [key]; optionally the turn summary's epochs.
    Returns:
        Two panels (test accuracy; test loss, log) with one line per edit, the turn marked.
    """
    view, src = "interventions", "intervention_trajectory."
    epochs = require(arrays, src + "epochs", ("epoch",), view)
    names = require(arrays, src + "edit_names", ("edit",), view)
    scopes = require(arrays, src + "edit_scopes", ("edit",), view)
    acc = require(arrays, src + "test_acc", ("epoch", "edit"), view)
    loss = require(arrays, src + "test_loss", ("epoch", "edit"), view)
    same_length(view, "epoch", epochs=epochs, test_acc=acc, test_loss=loss)
    fig = subplots(1, 2, subplot_titles=("test accuracy", "test loss (log)"))
    _edit_traces(fig, epochs, names, scopes, acc, "test accuracy", 1)
    _edit_traces(fig, epochs, names, scopes, loss, "test loss", 2)
    fig.update_xaxes(**EPOCH_AXIS)
    fig.update_yaxes(range=[-0.02, 1.02], row=1, col=1)
    fig.update_yaxes(**LOG_AXIS, row=1, col=2)
    keys = ", ".join(str(int(k)) for k in np.atleast_1d(arrays.get(src + "key_freqs", []))) or "none"
    return styled(mark_turn(fig, _turns(arrays)), f"Interventions over training (key frequencies {keys})",
                  height=520, legend={"y": -0.25})
