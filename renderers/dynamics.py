"""The recipe's side of training: learning rate and weight-decay budget beside the weight norm."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from renderers._axis import TRAINING_AXIS, over_training
from renderers._style import COLORS, EPOCH_AXIS, EPOCH_HOVER, epoch_scatter, styled, subplots
from renderers._validate import require, same_length
from renderers.trajectories import _turns, mark_turn  # the turn marks, drawn as on loss_curves
from workbench.core.view import register_view

__all__ = ["render_training_dynamics"]

_PANELS = (("lr", "learning rate", ".3g"), ("decay_budget", "weight-decay budget ∑ lr·wd", ".3f"),
           ("weight_norm", "weight norm ‖θ‖", ".3g"))


@register_view("training_dynamics", scope="trajectory", sources=("training_dynamics", "turn"), options=TRAINING_AXIS,
               group="optimizer", order=10, wide=True, click="epoch")
@over_training
def render_training_dynamics(arrays: dict) -> go.Figure:
    """Learning rate lr(t), weight-decay budget ∑ lr·wd and weight norm over training, the turn marked.

    Args:
        arrays: "training_dynamics.<name>" for epochs, steps, lr, decay_budget, weight_norm [epoch]
            and decay_kind [] (how the optimizer decays); optionally the turn summary's
            "turn.turn_onset_epoch", "turn.turn_midpoint_epoch".
    Returns:
        A 1x3 figure; customdata = (epoch, optimizer step).
    """
    view = "training_dynamics"
    d = {k: require(arrays, f"training_dynamics.{k}", ("epoch",), view)
         for k in ("epochs", "steps", "lr", "decay_budget", "weight_norm")}
    same_length(view, "epoch", **d)
    logged = bool(np.isfinite(d["weight_norm"]).any())
    titles = [t for _, t, _ in _PANELS[:2]] + [_PANELS[2][1] if logged else "weight norm: not in this run's metrics"]
    fig = subplots(1, 3, subplot_titles=titles, horizontal_spacing=0.07)
    custom = np.stack([d["epochs"], d["steps"]], axis=1).astype(int)  # [epoch, 2]: epoch, optimizer step
    for col, (key, what, fmt) in enumerate(_PANELS, start=1):
        fig.add_trace(epoch_scatter(x=d["epochs"], y=d[key], customdata=custom, name=what, showlegend=False,
                                    mode="lines", line={"color": ("black", COLORS["excluded"], COLORS["test"])[col - 1]},
                                    hovertemplate=f"{EPOCH_HOVER}, step %{{customdata[1]}}<br>{what} %{{y:{fmt}}}"
                                                  "<extra></extra>"), 1, col)
    kind = str(np.asarray(arrays.get("training_dynamics.decay_kind", "")))
    fig.update_xaxes(**EPOCH_AXIS)
    fig.update_yaxes(title_text="lr", exponentformat="power", col=1)
    fig.update_yaxes(title_text="∑ lr·wd" + (f" ({kind.split(':')[0]})" if kind else ""), col=2)
    fig.update_yaxes(title_text="‖θ‖ (all parameters)", col=3)
    return styled(mark_turn(fig, _turns(arrays)), "Learning rate, weight-decay budget and weight norm", height=400)
