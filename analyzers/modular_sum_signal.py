"""The modular-sum signal of every neuron, for every prime (issue 13): its mean activation
over all (a, b) as a function of s = (a + b) mod p, and the best-fitting sinusoid
offset + amp cos(2 pi freq s / p + phase) (exact least squares over the full residue
grid, analyzers._multi_prime.fit_sinusoid). A neuron computing cos(2 pi k (a + b) / p)
has exactly that curve: freq k, amp 1, R^2 1. Unseen and extrapolation primes included.

Each fit stands beside its permutation null, a wrap-consistency score and the "Fourier on
Z_p" verdict that needs both (issue 28; analyzers._multi_prime.zp_tests): a wave in the raw
sum a + b fits a Z_p sinusoid with R^2 near 1 and only the wrap test tells it apart."""

from __future__ import annotations

import numpy as np

from analyzers._multi_prime import (
    ZP_OUTPUTS,
    answer_hook,
    neuron_rows,
    oscillator_scores,
    sum_fits,
    top_neurons,
    wrap_curves,
    zp_table,
)
from workbench.core.analyzer import register_analyzer

_FITS = ("freq", "amp", "phase", "offset", "r2")
_TESTS = {k: k if k in ("wrap", "zp_fourier") else f"fit_{k}" for k in ZP_OUTPUTS}  # test -> output name


@register_analyzer("modular_sum_signal", kind="activations", hooks=answer_hook, needs=("multi_prime",), version=2,
                   outputs={"primes": ("prime",), **{f"fit_{k}": ("prime", "neuron") for k in _FITS},
                            **{v: ("prime", "neuron") for v in _TESTS.values()}, "neurons": ("top",),
                            "signal": ("prime", "top", "residue"), "signal_nowrap": ("prime", "top", "residue"),
                            "signal_wrap": ("prime", "top", "residue")}, kinds={'fit_freq': 'freq'})
def modular_sum_signal(ctx) -> dict[str, np.ndarray]:
    """Per prime and neuron, the best sinusoid in (a + b) mod p; the curves of the 8 most oscillator-like neurons.

    `neurons` ranks neurons by their mean R^2 across primes >= 5 (analyzers._multi_prime
    .oscillator_scores); `signal[prime, i, s]` is neuron `neurons[i]`'s mean activation at
    s, NaN past p (the residue axis is padded to the largest prime); `signal_nowrap` and
    `signal_wrap` its mean at raw sum a + b = s and = s + p (s < p - 1), the wrap test's curves.
    Per prime and neuron: fit_r2_null_q50 / _q99 (the permutation null's median and 99th
    percentile), fit_r2_pct, fit_p, fit_p_fw (family-wise over the prime's neurons), wrap (the
    wrap-consistency score) and zp_fourier (1 / 0, NaN below p = 11 or for a dead neuron).
    """
    blocks, signals, fits = sum_fits(ctx)
    score, _ = oscillator_scores(fits)
    top = top_neurons(score)
    width = max(b.p for b in blocks)
    signal, nowrap, wrap = (np.full((len(blocks), len(top), width), np.nan, dtype=np.float32) for _ in range(3))
    acts = neuron_rows(ctx)[:, top]
    for i, (block, s) in enumerate(zip(blocks, signals)):
        signal[i, :, : block.p] = s[:, top].T
        lo, hi = wrap_curves(acts[block.rows], block)
        nowrap[i, :, : block.p - 1], wrap[i, :, : block.p - 1] = lo.T, hi.T
    tests = zp_table(ctx, blocks, signals, fits)
    out = {f"fit_{k}": np.stack([f[k] for f in fits]) for k in _FITS}
    out = {k: v.astype(np.int64 if k == "fit_freq" else np.float32) for k, v in out.items()}
    return {"primes": np.array([b.p for b in blocks], dtype=np.int64), **out,
            **{name: tests[k] for k, name in _TESTS.items()}, "neurons": top, "signal": signal,
            "signal_nowrap": nowrap, "signal_wrap": wrap}
