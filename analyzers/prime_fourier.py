"""Fourier purity and signal-to-noise ratio of every neuron, for every prime (issue 13):
how much of a neuron's activation over the (a, b) grid of p is explained by its best
frequency for that p (analyzers._multi_prime.grid_purity; the per-frequency grouping of
Nanda et al. 2023's neuron clusters, measured per prime)."""

from __future__ import annotations

import numpy as np

from analyzers._multi_prime import answer_hook, grid_purity, neuron_rows, prime_blocks
from workbench.core.analyzer import register_analyzer


@register_analyzer("prime_fourier", kind="activations", hooks=answer_hook, needs=("multi_prime",), outputs={
    "primes": ("prime",), "purity": ("prime", "neuron"), "snr": ("prime", "neuron"), "best_freq": ("prime", "neuron")}, kinds={'best_freq': 'freq'})
def prime_fourier(ctx) -> dict[str, np.ndarray]:
    """Per prime and neuron: purity (share of non-constant power at the best frequency), SNR, that frequency.

    SNR = purity / (1 - purity), capped at 1e6 for a pure neuron. Primes below 5 and dead
    neurons: NaN purity and SNR, frequency -1.
    """
    acts = neuron_rows(ctx)  # [rows, d_mlp]
    primes, purity, freq = [], [], []
    for block in prime_blocks(ctx):
        pur, k = grid_purity(acts[block.rows], block)
        primes.append(block.p), purity.append(pur), freq.append(k)
    purity = np.stack(purity)
    snr = np.minimum(purity / np.maximum(1 - purity, 1e-6), 1e6)
    return {"primes": np.array(primes, dtype=np.int64), "purity": purity.astype(np.float32),
            "snr": snr.astype(np.float32), "best_freq": np.stack(freq).astype(np.int64)}
