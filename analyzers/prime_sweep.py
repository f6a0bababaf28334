"""Accuracy of a multi-prime model on every prime of its sweep (issue 13; the study's
`sweep_accuracy` over p = 2..113), grouped seen / unseen / extrapolation / below."""

from __future__ import annotations

import numpy as np

from analyzers._multi_prime import prime_blocks
from workbench.core.analyzer import register_analyzer

N_GROUPS = 4  # the family's group codes: 0 seen, 1 unseen (held out in range), 2 extrapolation, 3 below the range


@register_analyzer("prime_sweep", kind="output", needs=("multi_prime",), outputs={
    "primes": ("prime",), "group": ("prime",), "accuracy": ("prime",), "loss": ("prime",),
    "group_accuracy": ("group",)})
def prime_sweep(ctx) -> dict[str, np.ndarray]:
    """Per prime: accuracy and cross-entropy over all p^2 pairs; per group: mean of its primes' accuracy.

    The answer is the argmax of the answer position's logits (the family masks classes
    >= p, so only valid residues compete). A group without primes has accuracy NaN.
    """
    logits = ctx.logits[:, -1].astype(np.float64)  # [rows, classes]
    shifted = logits - logits.max(-1, keepdims=True)
    logprob = shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))
    primes, groups, acc, loss = [], [], [], []
    for block in prime_blocks(ctx):
        labels = ctx.labels[block.rows]
        primes.append(block.p), groups.append(block.group)
        acc.append(float((logits[block.rows].argmax(-1) == labels).mean()))
        loss.append(float(-logprob[block.rows, labels].mean()))
    group, acc = np.array(groups, dtype=np.int64), np.array(acc)
    by_group = [acc[group == g].mean() if (group == g).any() else np.nan for g in range(N_GROUPS)]
    return {"primes": np.array(primes, dtype=np.int64), "group": group, "accuracy": acc.astype(np.float32),
            "loss": np.array(loss, dtype=np.float32), "group_accuracy": np.array(by_group, dtype=np.float32)}
