"""How embedding, neurons and heads specialize on Fourier frequencies across checkpoints."""

from __future__ import annotations

import numpy as np

from workbench.core.analyzer import register_analyzer
from workbench.core.context import SummaryContext
from workbench.core.fourier import n_freqs

__all__ = ["freq_counts", "specialization_trajectory"]


def freq_counts(dominant: np.ndarray, n_freq: int) -> np.ndarray:
    """Count, per epoch, the units whose 1-based dominant frequency is k.

    Args:
        dominant: [epoch, unit] 1-based frequencies; values outside 1..n_freq are not counted,
            so dead units (dominant frequency -1, analyzers._maps.DEAD) are left out.
        n_freq: number of frequencies F.

    Returns:
        [epoch, freq] int64 counts, column k-1 for frequency k.
    """
    d = np.asarray(dominant).astype(np.int64)
    counts = np.zeros((d.shape[0], n_freq), dtype=np.int64)
    for k in range(1, n_freq + 1):
        counts[:, k - 1] = np.sum(d == k, axis=1)
    return counts


@register_analyzer("specialization_trajectory", kind="trajectory", scope="summary",
          requires=("embedding_fourier", "neuron_freq_clusters", "head_freq_specialization"), outputs={
              "epochs": ("epoch",), "embed_freq_norms": ("epoch", "freq"), "neuron_freq_counts": ("epoch", "freq"),
              "head_dominant_freq": ("epoch", "head"), "head_purity": ("epoch", "head")}, kinds={'head_dominant_freq': 'freq', 'neuron_freq_counts': 'int'})
def specialization_trajectory(ctx: SummaryContext) -> dict[str, np.ndarray]:
    """Embedding frequency norms, neurons per dominant frequency, and head frequencies over epochs."""
    embed = ctx.artifacts("embedding_fourier")
    neurons = ctx.artifacts("neuron_freq_clusters")
    heads = ctx.artifacts("head_freq_specialization")
    return {
        "epochs": np.asarray(ctx.epochs, dtype=np.int64),
        "embed_freq_norms": embed["freq_norms"],
        "neuron_freq_counts": freq_counts(neurons["dominant_freq"], n_freqs(int(ctx.family["modular"]["p"]))),
        "head_dominant_freq": heads["dominant_freq"],
        "head_purity": heads["purity"],
    }
