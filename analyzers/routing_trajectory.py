"""Routing over training: each routed block's gate entropy and per-head usage at every
checkpoint (the least-action study, issue 12), stacked from the `routing` artifacts."""

from __future__ import annotations

import numpy as np

from workbench.core.analyzer import register_analyzer
from workbench.core.context import SummaryContext

__all__ = ["routing_trajectory"]


@register_analyzer("routing_trajectory", kind="trajectory", scope="summary", requires=("routing",), outputs={
    "epochs": ("epoch",), "entropy": ("epoch", "layer"), "max_entropy": (), "usage": ("epoch", "layer", "head"),
    "dominant_share": ("epoch", "layer", "head")})
def routing_trajectory(ctx: SummaryContext) -> dict[str, np.ndarray]:
    """Gate entropy (nats, with its uniform-gate maximum log H) and head usage per block over epochs."""
    art = ctx.artifacts("routing")
    usage = np.asarray(art["usage"], dtype=np.float64)  # [epoch, layer, head]
    return {"epochs": np.asarray(ctx.epochs, dtype=np.int64), "entropy": np.asarray(art["entropy"], np.float64),
            "max_entropy": np.array(np.log(usage.shape[-1])), "usage": usage,
            "dominant_share": np.asarray(art["dominant_share"], np.float64)}
