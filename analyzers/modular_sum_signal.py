"""The modular-sum signal of every neuron, for every prime (issue 13): its mean activation
over all (a, b) as a function of s = (a + b) mod p, and the best-fitting sinusoid
offset + amp cos(2 pi freq s / p + phase) (exact least squares over the full residue
grid, analyzers._multi_prime.fit_sinusoid). A neuron computing cos(2 pi k (a + b) / p)
has exactly that curve: freq k, amp 1, R^2 1. Unseen and extrapolation primes included."""

from __future__ import annotations

import numpy as np

from analyzers._multi_prime import answer_hook, oscillator_scores, sum_fits, top_neurons
from workbench.core.analyzer import register_analyzer

_FITS = ("freq", "amp", "phase", "offset", "r2")


@register_analyzer("modular_sum_signal", kind="activations", hooks=answer_hook, needs=("multi_prime",), outputs={
    "primes": ("prime",), **{f"fit_{k}": ("prime", "neuron") for k in _FITS},
    "neurons": ("top",), "signal": ("prime", "top", "residue")}, kinds={'fit_freq': 'freq'})
def modular_sum_signal(ctx) -> dict[str, np.ndarray]:
    """Per prime and neuron, the best sinusoid in (a + b) mod p; the curves of the 8 most oscillator-like neurons.

    `neurons` ranks neurons by their mean R^2 across primes >= 5 (analyzers._multi_prime
    .oscillator_scores); `signal[prime, i, s]` is neuron `neurons[i]`'s mean activation at
    s, NaN past p (the residue axis is padded to the largest prime).
    """
    blocks, signals, fits = sum_fits(ctx)
    score, _ = oscillator_scores(fits)
    top = top_neurons(score)
    width = max(b.p for b in blocks)
    signal = np.full((len(blocks), len(top), width), np.nan, dtype=np.float32)
    for i, (block, s) in enumerate(zip(blocks, signals)):
        signal[i, :, : block.p] = s[:, top].T
    out = {f"fit_{k}": np.stack([f[k] for f in fits]) for k in _FITS}
    out = {k: v.astype(np.int64 if k == "fit_freq" else np.float32) for k, v in out.items()}
    return {"primes": np.array([b.p for b in blocks], dtype=np.int64), **out, "neurons": top, "signal": signal}
