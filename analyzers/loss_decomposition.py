"""Restricted and excluded loss against train and test loss across checkpoints.

The progress measures of Nanda et al. 2023 (§5.1, Fig. 7): restricted loss falls before
test loss does (circuit formation), excluded loss rises as the memorizing solution is removed.
"""

from __future__ import annotations

import numpy as np

from workbench.core.analyzer import register_analyzer
from workbench.core.context import SummaryContext

_LOSSES = ("restricted_loss", "excluded_loss", "train_loss", "test_loss")


@register_analyzer("loss_decomposition", kind="trajectory", scope="summary", requires=("restricted_loss",), version=2,
          outputs={"epochs": ("epoch",), **{name: ("epoch",) for name in _LOSSES},
                   "key_freqs": ("key",), "key_rule": (), "key_source": ()},
          kinds={"key_freqs": "freq", "key_rule": "label", "key_source": "label"})
def loss_decomposition(ctx: SummaryContext) -> dict[str, np.ndarray]:
    """restricted_loss's four losses stacked over epochs, with the keys, rule and source they used
    (fixed once per run, so the last checkpoint's say it; version 2 added them)."""
    losses = ctx.artifacts("restricted_loss")
    out = {"epochs": np.asarray(ctx.epochs, dtype=np.int64),
           "key_freqs": np.asarray(losses["key_freqs"][-1], dtype=np.int64),
           "key_rule": np.array(str(losses["key_rule"][-1])), "key_source": np.array(str(losses["key_source"][-1]))}
    return out | {name: np.asarray(losses[name], dtype=np.float64).reshape(len(ctx.epochs)) for name in _LOSSES}
