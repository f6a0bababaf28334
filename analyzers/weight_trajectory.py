"""Weight norms and parameter velocity across checkpoints.

Nanda et al. 2023 (§5.1, Fig. 7 bottom right) use the sum of squared weights as a progress
measure: it falls smoothly during circuit formation and sharply during cleanup.
"""

from __future__ import annotations

import numpy as np

from workbench.core.analyzer import register_analyzer
from workbench.core.context import SummaryContext

__all__ = ["param_velocity", "weight_trajectory"]


def param_velocity(flat: np.ndarray, epochs: np.ndarray) -> np.ndarray:
    """‖θ_t − θ_prev‖ / (epoch_t − epoch_prev) per checkpoint.

    Args:
        flat: [epoch, param] flattened parameters.
        epochs: [epoch] ascending checkpoint epochs.

    Returns:
        [epoch] float64 velocity; the first entry (no predecessor) is NaN.
    """
    vel = np.full(len(epochs), np.nan)
    if len(epochs) < 2:
        return vel
    step = np.array([np.linalg.norm(flat[i + 1].astype(np.float64) - flat[i]) for i in range(len(epochs) - 1)])
    vel[1:] = step / np.maximum(np.diff(np.asarray(epochs, dtype=np.float64)), 1e-12)
    return vel


@register_analyzer("weight_trajectory", kind="trajectory", scope="summary", requires=("param_snapshot",),
          trajectories={"total_norm": ("total_norm", None, "Total weight norm")}, outputs={
    "epochs": ("epoch",), "matrix_names": ("matrix",), "weight_norms": ("epoch", "matrix"),
    "total_norm": ("epoch",), "velocity": ("epoch",)})
def weight_trajectory(ctx: SummaryContext) -> dict[str, np.ndarray]:
    """Per-matrix Frobenius norms, total weight norm and parameter velocity per checkpoint."""
    snap = ctx.artifacts("param_snapshot")
    norms = snap["weight_norms"].astype(np.float64)  # [epoch, matrix]
    return {
        "epochs": np.asarray(ctx.epochs, dtype=np.int64),
        "matrix_names": snap["matrix_names"][0],
        "weight_norms": norms.astype(np.float32),
        "total_norm": np.sqrt(np.sum(norms**2, axis=1)),
        "velocity": param_velocity(snap["flat"], ctx.epochs),
    }
