"""Next-token accuracy over the probe on the scored (predictable) positions, split by
train/test rows, at the last position, and per stream (the stream of the predicted token:
A at even positions, B at odd ones), for interleaved-stream sequence tasks."""

from __future__ import annotations

import numpy as np

from workbench.core.analyzer import register_analyzer

__all__ = ["stream_accuracy"]

IGNORE = -100  # workbench.core.family.IGNORE: a label that is not scored


def _mean(correct: np.ndarray, sel: np.ndarray) -> np.ndarray:
    return np.array(correct[sel].mean() if sel.any() else np.nan)


@register_analyzer("stream_accuracy", kind="output", needs=("sequence",),
          outputs={"train_acc": (), "test_acc": (), "last_acc": (), "acc_a": (), "acc_b": ()},
          rows=True)  # a mean over the probe's rows: a named probe (a set of sequences) gives its own
def stream_accuracy(ctx) -> dict[str, np.ndarray]:
    """Accuracy on predictable positions: train, test, last position and per stream (test rows)."""
    labels = ctx.labels  # [batch, pos], IGNORE where not predictable
    correct = (ctx.logits.argmax(-1) == labels).astype(np.float64)
    valid = labels != IGNORE
    test = valid & ctx.test_mask[:, None]
    stream = np.arange(1, labels.shape[1] + 1) % 2  # stream of the token each position predicts
    last = np.zeros_like(valid)
    last[:, -1] = True
    return {"train_acc": _mean(correct, valid & ctx.train_mask[:, None]), "test_acc": _mean(correct, test),
            "last_acc": _mean(correct, test & last), "acc_a": _mean(correct, test & (stream == 0)),
            "acc_b": _mean(correct, test & (stream == 1))}
