"""Participation ratio and spectral gap of every weight matrix across checkpoints."""

from __future__ import annotations

import numpy as np

from workbench.core.analyzer import register_analyzer
from workbench.core.context import SummaryContext


@register_analyzer("dimensionality_trajectory", kind="trajectory", scope="summary", requires=("effective_dim",),
          trajectories={"pr_embed": ("participation_ratio", "W_E", "Participation ratio of W_E")}, outputs={
    "epochs": ("epoch",), "matrix_names": ("matrix",), "participation_ratio": ("epoch", "matrix"),
    "spectral_gap": ("epoch", "matrix")})
def dimensionality_trajectory(ctx: SummaryContext) -> dict[str, np.ndarray]:
    """effective_dim's participation ratio and spectral gap stacked over epochs."""
    dims = ctx.artifacts("effective_dim")
    return {
        "epochs": np.asarray(ctx.epochs, dtype=np.int64),
        "matrix_names": dims["matrix_names"][0],
        "participation_ratio": dims["participation_ratio"],
        "spectral_gap": dims["spectral_gap"],
    }
