"""Effective dimensionality of each weight matrix from its singular values.

participation_ratio = (Σσ²)² / Σσ⁴: the number of directions that carry the matrix's energy
(n for an isotropic n-dim matrix, 1 for rank one).

spectral_gap: the largest drop between consecutive singular values in the top half of the
spectrum, as a natural log ratio, max over 1 <= i <= max(1, n//2) of ln(σ_i / σ_{i+1}), with
n = min(matrix shape) and σ_{i+1} floored at 1e-6·σ_1 so rank-deficient matrices stay finite.
The top-half restriction keeps out the near-zero tail of a square random matrix, whose
ratios are large but meaningless; a grokked W_E (2 directions per key frequency) shows a
large gap right after its ~2·n_key_freqs leading values. gap_index is that i (1-based: the
number of singular values above the gap). Matrices with n = 1 give NaN for both.

Its null is "random": the same matrices of freshly initialized networks of the run's shape,
whose participation ratio is near the Marchenko-Pastur value of their shape, so a trained
matrix's low ratio reads as structure only below that band.
"""

from __future__ import annotations

import numpy as np

from analyzers._matrices import as_2d, weight_names
from workbench.core.analyzer import register_analyzer
from workbench.core.context import EpochContext

__all__ = ["participation_ratio", "spectral_gap", "effective_dim"]

_FLOOR = 1e-6


def participation_ratio(sv: np.ndarray) -> float:
    """(Σσ²)² / Σσ⁴ of singular values `sv` (NaNs ignored); NaN for an all-zero matrix."""
    e = np.asarray(sv, dtype=np.float64)
    e = e[np.isfinite(e)] ** 2
    denom = float(np.sum(e**2))
    return float(np.sum(e) ** 2 / denom) if denom > 0 else float("nan")


def spectral_gap(sv: np.ndarray) -> tuple[float, int]:
    """Largest ln(σ_i/σ_{i+1}) over the top half of the descending spectrum `sv`.

    Args:
        sv: [n] singular values, descending (NaN padding ignored).

    Returns:
        (gap, i) with i the 1-based index before the gap; (NaN, 0) when n < 2 or σ_1 = 0.
    """
    s = np.asarray(sv, dtype=np.float64)
    s = s[np.isfinite(s)]
    if s.size < 2 or s[0] <= 0:
        return float("nan"), 0
    s = np.maximum(s, _FLOOR * s[0])
    top = max(1, s.size // 2)
    logs = np.log(s[:top] / s[1 : top + 1])  # [top]
    i = int(np.argmax(logs))
    return float(logs[i]), i + 1


@register_analyzer("effective_dim", kind="weights", version=1, headlines={"participation_ratio": "participation_ratios"},
                   null="random", outputs={
    "matrix_names": ("matrix",), "singular_values": ("matrix", "k"), "participation_ratio": ("matrix",),
    "spectral_gap": ("matrix",), "gap_index": ("matrix",)}, kinds={'gap_index': 'int'})
def effective_dim(ctx: EpochContext) -> dict[str, np.ndarray]:
    """Singular values, participation ratio and spectral gap of every weight matrix."""
    names = weight_names(ctx.weights)
    svs = [np.linalg.svd(as_2d(n, ctx.weights[n]), compute_uv=False) for n in names]
    width = max(len(s) for s in svs)
    table = np.full((len(names), width), np.nan, dtype=np.float32)  # [matrix, k]
    for row, s in zip(table, svs):
        row[: len(s)] = s
    gaps = [spectral_gap(s) for s in svs]
    return {
        "matrix_names": np.array(names, dtype=np.str_),
        "singular_values": table,
        "participation_ratio": np.array([participation_ratio(s) for s in svs], dtype=np.float32),
        "spectral_gap": np.array([g for g, _ in gaps], dtype=np.float32),
        "gap_index": np.array([i for _, i in gaps], dtype=np.int64),
    }
