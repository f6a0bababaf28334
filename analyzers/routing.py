"""Routing of a routed network at one checkpoint: each block's gate over the (a, b) grid
(the least-action study, issue 12).

A routed block mixes `n_heads` parallel heads with an input-dependent softmax gate
g(x) (families/least_action.py). Per block, over every input of the grid:

- ``gates`` [layer, head, a, b]: the gate probabilities g_h(a, b);
- ``dominant`` [layer, a, b]: argmax_h g_h(a, b), the head that carries most of the input
  (the study's routing heatmap, "dominant routing head per input");
- ``entropy`` [layer]: the mean over inputs of the gate's Shannon entropy
  -sum_h g_h log g_h, in nats, as the study logs `routing_entropy` (per block here; the
  study averages the blocks): log(n_heads) for a uniform gate, 0 for a one-hot gate;
- ``usage`` [layer, head]: the mean gate weight of each head over inputs (the study's
  `head_utilization`), summing to 1 over heads;
- ``dominant_share`` [layer, head]: the fraction of inputs whose dominant head is h.
"""

from __future__ import annotations

import numpy as np

from analyzers._maps import answer_pos, grid
from workbench.core.analyzer import register_analyzer

__all__ = ["routing", "gate_entropy", "gate_hooks"]


def gate_hooks(caps) -> tuple[str, ...]:
    """Every routed block's gate hook [batch, pos, head], in block order."""
    return tuple(caps["routing"]["gate_hooks"])


def gate_entropy(gates: np.ndarray) -> np.ndarray:
    """Shannon entropy in nats of gate distributions gates [..., head] -> [...] (0 log 0 = 0)."""
    g = np.asarray(gates, dtype=np.float64)
    logs = np.log(np.where(g > 0, g, 1.0))
    return -(g * logs).sum(-1)


@register_analyzer("routing", kind="activations", hooks=gate_hooks, needs=("modular", "routing"),
          outputs={"gates": ("layer", "head", "a", "b"), "dominant": ("layer", "a", "b"), "entropy": ("layer",),
                   "usage": ("layer", "head"), "dominant_share": ("layer", "head")})
def routing(ctx) -> dict[str, np.ndarray]:
    """Each routed block's gate over the (a, b) grid: dominant head, entropy and head usage."""
    pos = answer_pos(ctx.family)
    per_layer = [ctx.cache[h][:, pos, :].astype(np.float64) for h in gate_hooks(ctx.family)]  # [batch, head] each
    gates = np.stack([grid(ctx, g) for g in per_layer])  # [layer, head, a, b]
    n_heads = gates.shape[1]
    dominant = gates.argmax(1)  # [layer, a, b]
    share = np.stack([np.bincount(d.ravel(), minlength=n_heads) / d.size for d in dominant])
    return {"gates": gates.astype(np.float32), "dominant": dominant.astype(np.int64),
            "entropy": gate_entropy(np.moveaxis(gates, 1, -1)).mean((-2, -1)),
            "usage": gates.mean((-2, -1)), "dominant_share": share}
