"""How a routed network divides its data (issue 27): per block, which head each training and
test pair is routed to, how soft the gate is on each split, and how well the model answers
the test pairs each head dominates. Applies to `routed` and `routed_study` alike (both
declare `routing` gate hooks [batch, pos, head]).

The question it serves: "each head sees a quarter of the data" is a possible mechanism for
the routed net's failure to generalize. Per block l and head h:

- ``share_train`` / ``share_test`` [layer, head]: fraction of training / test pairs whose
  dominant head (argmax of the gate) is h;
- ``usage_train`` [layer, head]: the mean gate weight over training pairs (soft share);
- ``entropy_train`` / ``entropy_test`` [layer]: the mean gate entropy in nats over each split
  (log H uniform, 0 one-hot: a hard gate is what makes "a quarter of the data" literal);
- ``acc_test`` / ``n_test`` [layer, head]: the model's test accuracy on the test pairs that
  head h dominates, and how many there are (NaN accuracy where none).

Not here: the accuracy with a gate forced to one head, which needs a forward with a hook
(analyzers never run models); see the report for that control.
"""

from __future__ import annotations

import numpy as np

from analyzers._maps import answer_pos
from analyzers.routing import gate_entropy, gate_hooks
from workbench.core.analyzer import register_analyzer

__all__ = ["routing_mechanism"]


def _shares(dominant: np.ndarray, n_heads: int) -> np.ndarray:
    return np.bincount(dominant, minlength=n_heads) / max(len(dominant), 1)


@register_analyzer("routing_mechanism", kind="activations", hooks=gate_hooks, needs=("modular", "routing"),
                   outputs={"share_train": ("layer", "head"), "share_test": ("layer", "head"),
                            "usage_train": ("layer", "head"), "entropy_train": ("layer",), "entropy_test": ("layer",),
                            "acc_test": ("layer", "head"), "n_test": ("layer", "head")})
def routing_mechanism(ctx) -> dict[str, np.ndarray]:
    """Per block: each head's share of the training and test pairs, gate entropy per split, test accuracy per head."""
    pos = answer_pos(ctx.family)
    train, test = np.asarray(ctx.train_mask, bool), np.asarray(ctx.test_mask, bool)
    correct = ctx.logits[:, pos, :].argmax(-1) == np.asarray(ctx.labels)
    out = {k: [] for k in ("share_train", "share_test", "usage_train", "entropy_train", "entropy_test", "acc_test",
                           "n_test")}
    for hook in gate_hooks(ctx.family):
        g = ctx.cache[hook][:, pos, :].astype(np.float64)  # [batch, head]
        n_heads, dominant = g.shape[1], g.argmax(-1)
        n_test = np.bincount(dominant[test], minlength=n_heads)
        hits = np.bincount(dominant[test], weights=correct[test].astype(np.float64), minlength=n_heads)
        out["share_train"].append(_shares(dominant[train], n_heads))
        out["share_test"].append(_shares(dominant[test], n_heads))
        out["usage_train"].append(g[train].mean(0))
        out["entropy_train"].append(gate_entropy(g[train]).mean())
        out["entropy_test"].append(gate_entropy(g[test]).mean())
        out["acc_test"].append(np.where(n_test > 0, hits / np.maximum(n_test, 1), np.nan))
        out["n_test"].append(n_test)
    return {k: np.asarray(v, dtype=np.int64 if k == "n_test" else np.float64) for k, v in out.items()}
