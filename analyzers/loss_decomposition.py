"""Restricted and excluded loss against train and test loss across checkpoints.

The progress measures of Nanda et al. 2023 (§5.1, Fig. 7): restricted loss falls before
test loss does (circuit formation), excluded loss rises as the memorizing solution is removed.
"""

from __future__ import annotations

import numpy as np

from workbench.core.analyzer import register_analyzer
from workbench.core.context import SummaryContext

_LOSSES = ("restricted_loss", "excluded_loss", "train_loss", "test_loss")


@register_analyzer("loss_decomposition", kind="trajectory", scope="summary", requires=("restricted_loss",),
          outputs={"epochs": ("epoch",), **{name: ("epoch",) for name in _LOSSES}})
def loss_decomposition(ctx: SummaryContext) -> dict[str, np.ndarray]:
    """restricted_loss's four losses stacked over epochs."""
    losses = ctx.artifacts("restricted_loss")
    out = {"epochs": np.asarray(ctx.epochs, dtype=np.int64)}
    return out | {name: np.asarray(losses[name], dtype=np.float64).reshape(len(ctx.epochs)) for name in _LOSSES}
