"""The Fourier basis over Z_p used throughout Nanda et al. 2023 ("Progress measures for
grokking via mechanistic interpretability", §4 and the TransformerLens grokking demo)."""

from __future__ import annotations

import numpy as np

__all__ = ["fourier_basis", "basis_names", "n_freqs"]


def n_freqs(p: int) -> int:
    """Number of non-constant frequencies, k = 1..(p-1)//2."""
    return (p - 1) // 2


def fourier_basis(p: int) -> np.ndarray:
    """Orthonormal rows [const, cos 1, sin 1, cos 2, sin 2, ...] of shape [p, p] (odd p).

    Row 2k-1 is cos(2 pi k x / p), row 2k is sin(2 pi k x / p), each unit norm.
    """
    x = np.arange(p)
    rows = [np.ones(p)]
    for k in range(1, n_freqs(p) + 1):
        rows += [np.cos(2 * np.pi * k * x / p), np.sin(2 * np.pi * k * x / p)]
    basis = np.stack(rows[:p])
    return basis / np.linalg.norm(basis, axis=1, keepdims=True)


def basis_names(p: int) -> list[str]:
    return ["const"] + [f"{t} {k}" for k in range(1, n_freqs(p) + 1) for t in ("cos", "sin")][: p - 1]
