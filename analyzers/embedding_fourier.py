"""Fourier norms of the token embedding W_E (Nanda et al. 2023, §4.1, Fig. 3)."""

from __future__ import annotations

import numpy as np

from analyzers._fourier_norms import FOURIER_OUTPUTS, fourier_norms
from workbench.core.analyzer import register_analyzer
from workbench.core.context import EpochContext


@register_analyzer("embedding_fourier", kind="weights", needs=("modular", "transformer"), outputs=FOURIER_OUTPUTS,
          headlines={"dominant_freqs": "embedding_freqs"}, kinds={'dominant_freqs': 'freq'})
def embedding_fourier(ctx: EpochContext) -> dict[str, np.ndarray]:
    """Norm of W_E in each Fourier component and frequency; top-5 dominant frequencies.

    Only the p number tokens are transformed: other tokens (row p on) are not residues.
    The basis is the family's (multiplicative characters for a multiplication task).
    """
    w_e = ctx.weights["embed.W_E"][: ctx.p]  # [p, d_model]
    return fourier_norms(w_e, ctx.family["fourier_basis"])
