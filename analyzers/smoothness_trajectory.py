"""Spectral smoothness of the output function at every checkpoint, beside the exact
target's score and chance (the least-action study, issue 12), stacked from the
`spectral_smoothness` artifacts (see that analyzer for the definition)."""

from __future__ import annotations

import numpy as np

from workbench.core.analyzer import register_analyzer
from workbench.core.context import SummaryContext

__all__ = ["smoothness_trajectory"]


@register_analyzer("smoothness_trajectory", kind="trajectory", scope="summary", requires=("spectral_smoothness",), outputs={
    "epochs": ("epoch",), "smoothness": ("epoch",), "target": (), "chance": ()})
def smoothness_trajectory(ctx: SummaryContext) -> dict[str, np.ndarray]:
    """Output-function smoothness per checkpoint, with the exact target's score and chance."""
    art = ctx.artifacts("spectral_smoothness")
    return {"epochs": np.asarray(ctx.epochs, dtype=np.int64),
            "smoothness": np.asarray(art["smoothness"], dtype=np.float64),
            "target": np.array(float(np.asarray(art["target"])[-1])),
            "chance": np.array(float(np.asarray(art["chance"])[-1]))}
