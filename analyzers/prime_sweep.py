"""Accuracy of a multi-prime model on every prime of its sweep (issue 13), grouped seen / unseen /
extrapolation / below.

The MIRAS study's sweep (unixsysdev/grokking-fourier, miras_experiment/sweep_accuracy.py): every
prime below max_p (2..149 @27f88bc; 2..113 in the README @64257bd), all p^2 pairs, argmax over the
model's logits against (a + b) mod p, primes printed by accuracy with no split. Ours sweeps every
prime 2..max_p (the family's probe; the study's configs set max_p) and marks each prime's group from
the family's split: by name (train_primes, unseen_primes, extrapolation_primes, issue 28) or drawn
from prime_seed. arch=miras keeps the study's unmasked n_classes-wide logits, so its argmax is the
study's; arch=compact masks classes >= p. View: `accuracy_sweep` (renderers/universal_study.py)."""

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

    The answer is the argmax of the answer position's logits (arch=compact masks classes >= p;
    arch=miras does not, as in the study). A group without primes has accuracy NaN.
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
