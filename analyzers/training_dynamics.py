"""The recipe's side of training: learning rate, weight-decay budget and weight norm over training.

Grokking under weight decay is often read against how much decay the run has had: AdamW
multiplies the weights by (1 - lr * wd) every step, so after t steps they have shrunk by
about exp(-B(t)) absent gradients, B(t) = the sum of lr(s) * wd over s < t
(workbench.core.recipe.decay_integral). Two runs with different weight decays, learning rates
or schedules can then be compared on one budget axis. The learning rate and B come from the
run's recipe (a pure function of the step), at each evaluation of the metrics table; the
weight norm is the table's `wnorm` where the family logs it (NaN where it does not).
"""

from __future__ import annotations

import numpy as np

from workbench.core.analyzer import register_analyzer
from workbench.core.context import SummaryContext
from workbench.core.recipe import decay_integral, lr_steps

__all__ = ["training_dynamics", "DECAY_KINDS"]

DECAY_KINDS = {"adamw": "decoupled (AdamW): weights shrink by about exp(-budget)",
               "adam": "L2 penalty in the gradient (Adam)", "sgd": "L2 penalty in the gradient (SGD)"}


@register_analyzer("training_dynamics", kind="trajectory", scope="summary", version=1,
                   outputs={"epochs": ("epoch",), "steps": ("epoch",), "lr": ("epoch",), "decay_budget": ("epoch",),
                            "weight_norm": ("epoch",), "steps_per_epoch": (), "step_based": (), "decay_kind": ()},
                   kinds={"steps": "int", "steps_per_epoch": "int", "step_based": "bool", "decay_kind": "label"},
                   trajectories={"lr": ("lr", None, "Learning rate"),
                                 "decay_budget": ("decay_budget", None, "Weight-decay budget ∑ lr·wd")})
def training_dynamics(ctx: SummaryContext) -> dict[str, np.ndarray]:
    """Learning rate, weight-decay budget ∑ lr·wd and weight norm at every evaluation of the metrics."""
    if ctx.recipe is None:
        raise ValueError("training_dynamics needs the run's recipe (SummaryContext.recipe)")
    epochs = np.asarray(ctx.metrics["epoch"], dtype=np.int64)  # [epoch], each after epoch * steps_per_epoch steps
    steps = epochs * int(ctx.steps_per_epoch)
    norm = ctx.metrics.get("wnorm")
    return {
        "epochs": epochs, "steps": steps,
        "lr": lr_steps(ctx.recipe, max(int(steps.max(initial=0)), 1))[np.clip(steps - 1, 0, None)],  # each epoch's last step
        "decay_budget": decay_integral(ctx.recipe, steps),
        "weight_norm": np.full(len(epochs), np.nan) if norm is None else np.asarray(norm, dtype=np.float64),
        "steps_per_epoch": np.array(int(ctx.steps_per_epoch)), "step_based": np.array(ctx.recipe.steps is not None),
        "decay_kind": np.array(DECAY_KINDS[ctx.recipe.optimizer]),
    }
