"""Train and test loss and accuracy of the checkpoint over the probe."""

from __future__ import annotations

import numpy as np

from analyzers._maps import answer_pos
from analyzers._output import masked_mean, nll
from workbench.core.analyzer import register_analyzer


@register_analyzer("loss_accuracy", kind="output", needs=("modular",),
          outputs={"train_loss": (), "test_loss": (), "train_acc": (), "test_acc": ()}, rows=True)
def loss_accuracy(ctx) -> dict[str, np.ndarray]:
    """Cross-entropy (float64 log-softmax) and accuracy at the answer position, train and test."""
    logits = ctx.logits[:, answer_pos(ctx.family), :]  # [batch, p]
    losses = nll(logits, ctx.labels)
    correct = (logits.argmax(axis=-1) == ctx.labels).astype(np.float64)
    return {"train_loss": masked_mean(losses, ctx.train_mask), "test_loss": masked_mean(losses, ctx.test_mask),
            "train_acc": masked_mean(correct, ctx.train_mask), "test_acc": masked_mean(correct, ctx.test_mask)}
