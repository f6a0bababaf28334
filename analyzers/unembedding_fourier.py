"""Fourier norms of the unembedding W_U over its output classes."""

from __future__ import annotations

import numpy as np

from analyzers._fourier_norms import FOURIER_OUTPUTS, fourier_norms
from workbench.core.analyzer import register_analyzer
from workbench.core.context import EpochContext


@register_analyzer("unembedding_fourier", kind="weights", needs=("modular",), outputs=FOURIER_OUTPUTS, kinds={'dominant_freqs': 'freq'})
def unembedding_fourier(ctx: EpochContext) -> dict[str, np.ndarray]:
    """Norm of W_U in each Fourier component and frequency over the p output residues."""
    w_u = ctx.weights["unembed.W_U"][:, : ctx.p]  # [d_model, p]
    return fourier_norms(w_u.T, ctx.family["fourier_basis"])
