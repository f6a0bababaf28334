"""A flat copy of every weight matrix, the raw material of the cross-epoch trajectories."""

from __future__ import annotations

import numpy as np

from analyzers._matrices import weight_names
from workbench.core.analyzer import register_analyzer
from workbench.core.context import EpochContext


@register_analyzer("param_snapshot", kind="weights", outputs={
    "flat": ("param",), "matrix_names": ("matrix",), "weight_norms": ("matrix",)})
def param_snapshot(ctx: EpochContext) -> dict[str, np.ndarray]:
    """All weight matrices flattened in a fixed order, with per-matrix Frobenius norms.

    Biases are left out: the family freezes them at zero, so they would only pad the vector.
    """
    names = weight_names(ctx.weights)
    mats = [np.asarray(ctx.weights[n], dtype=np.float32) for n in names]
    return {
        "flat": np.concatenate([m.ravel() for m in mats]),  # [param]
        "matrix_names": np.array(names, dtype=np.str_),
        "weight_norms": np.array([np.linalg.norm(m.astype(np.float64)) for m in mats], dtype=np.float32),
    }
