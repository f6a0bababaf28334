"""Fourier-norm summary of a matrix whose rows are indexed by residues mod p.

Shared by `embedding_fourier` (W_E over input tokens) and `unembedding_fourier` (W_U over
output classes). Following Nanda et al. 2023 ("Progress measures for grokking via
mechanistic interpretability", §4.1, Fig. 3), the matrix is projected on the orthonormal
Fourier basis over Z_p and each component's norm is taken over the model dimension.
"""

from __future__ import annotations

import numpy as np

from workbench.core.fourier import n_freqs

__all__ = ["fourier_norms", "FOURIER_OUTPUTS", "TOP_FREQS"]

TOP_FREQS = 5  # dominant_freqs length (Nanda et al. find 5 key frequencies at p=113)

FOURIER_OUTPUTS = {
    "norms": ("component",), "cos_norms": ("freq",), "sin_norms": ("freq",), "freq_norms": ("freq",),
    "cos_sin_ratio": ("freq",), "dominant_freqs": ("rank",),
}


def fourier_norms(rows: np.ndarray, basis: np.ndarray) -> dict[str, np.ndarray]:
    """Per-component and per-frequency norms of `rows` in the Fourier basis.

    Args:
        rows: [p, d] matrix, row r belongs to residue r.
        basis: [p, p] orthonormal rows [const, cos 1, sin 1, ...] (workbench.core.fourier).

    Returns:
        The FOURIER_OUTPUTS arrays. cos_sin_ratio is cos_norm / sin_norm, NaN where the
        sin norm is below 1e-5 of the largest component norm (undefined there);
        dominant_freqs are 1-based, by descending freq_norms (stable on ties).
    """
    p = basis.shape[0]
    f = n_freqs(p)
    proj = basis.astype(np.float64) @ rows.astype(np.float64)  # [component, d]
    norms = np.linalg.norm(proj, axis=1)  # [component]
    cos, sin = norms[1 : 2 * f : 2], norms[2 : 2 * f + 1 : 2]  # [freq] each
    freq = np.sqrt(cos**2 + sin**2)
    # float32 weights leave ~1e-7 relative round-off in an absent component; below 1e-5 of the
    # largest component a sin norm is noise and the ratio is reported undefined
    tiny = 1e-5 * max(float(norms.max()), 1e-30)
    ratio = np.full(f, np.nan)
    ok = sin > tiny
    ratio[ok] = cos[ok] / sin[ok]
    order = np.argsort(-freq, kind="stable")[:TOP_FREQS]
    return {
        "norms": norms.astype(np.float32), "cos_norms": cos.astype(np.float32), "sin_norms": sin.astype(np.float32),
        "freq_norms": freq.astype(np.float32), "cos_sin_ratio": ratio.astype(np.float32),
        "dominant_freqs": (order + 1).astype(np.int64),
    }
