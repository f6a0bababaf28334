"""Neuron adaptation across primes (issue 13): does the same neuron act as a tuned
oscillator for every p, stretching its wave with p? Neurons are ranked by how
consistently they do (mean R^2 of their modular-sum sinusoid over primes >= 5, and the
share of primes where their best frequency is the same k; analyzers._multi_prime
.oscillator_scores). For the top neurons, their activation patterns over (a, b) at a few
primes side by side (the smallest and largest seen prime >= 5, the largest unseen, the
smallest extrapolation prime) with each pattern's dominant frequency.

A high R^2 is not evidence of a Z_p Fourier feature by itself (issue 28): per prime and neuron
the family-wise permutation p-value of the fit, the wrap-consistency score and the verdict
that needs both are reported (analyzers._multi_prime.zp_tests), and per neuron the share of
primes >= 11 where it is a Z_p Fourier feature."""

from __future__ import annotations

import numpy as np

from analyzers._multi_prime import (
    MIN_P,
    VERDICT_MIN_P,
    answer_hook,
    grid_purity,
    neuron_rows,
    oscillator_scores,
    sum_fits,
    top_neurons,
    zp_table,
)
from workbench.core.analyzer import register_analyzer


def show_primes(primes: list[int], groups: list[int]) -> list[int]:
    """Up to four primes >= MIN_P to draw side by side: min and max seen, max unseen, min extrapolation."""
    by = {g: [p for p, q in zip(primes, groups) if q == g and p >= MIN_P] for g in (0, 1, 2)}
    picks = [min(by[0], default=None), max(by[0], default=None), max(by[1], default=None), min(by[2], default=None)]
    return list(dict.fromkeys(p for p in picks if p is not None))


@register_analyzer("neuron_adaptation", kind="activations", hooks=answer_hook, needs=("multi_prime",), version=2, outputs={
    "primes": ("prime",), "score": ("neuron",), "constancy": ("neuron",), "sum_freq": ("prime", "neuron"),
    "p_fw": ("prime", "neuron"), "wrap": ("prime", "neuron"), "zp_fourier": ("prime", "neuron"), "zp_share": ("neuron",),
    "neurons": ("top",), "show_primes": ("shown",), "patterns": ("top", "shown", "a", "b"),
    "pattern_freq": ("top", "shown")}, kinds={'sum_freq': 'freq', 'pattern_freq': 'freq'})
def neuron_adaptation(ctx) -> dict[str, np.ndarray]:
    """Per neuron: oscillator score and frequency constancy across primes; top neurons' (a, b) patterns at a few primes.

    `patterns[i, j]` is neuron `neurons[i]`'s activation grid at prime `show_primes[j]`
    (NaN past p), `pattern_freq[i, j]` its dominant 2-D frequency there (-1: dead). `p_fw`,
    `wrap` and `zp_fourier` [prime, neuron] as modular_sum_signal's; `zp_share[n]` the share of
    primes >= 11 where neuron n is a Z_p Fourier feature (NaN: no such prime decided).
    """
    blocks, signals, fits = sum_fits(ctx)
    tests = zp_table(ctx, blocks, signals, fits)
    score, constancy = oscillator_scores(fits)
    top = top_neurons(score)
    mp = ctx.family["multi_prime"]
    shown = show_primes(list(mp["primes"]), list(mp["groups"]))
    width = max(shown, default=1)
    patterns = np.full((len(top), len(shown), width, width), np.nan, dtype=np.float32)
    freq = np.full((len(top), len(shown)), -1, dtype=np.int64)
    acts = neuron_rows(ctx)[:, top]  # [rows, top]
    by_p = {b.p: b for b in blocks}
    for j, p in enumerate(shown):
        block = by_p[p]
        grid = np.zeros((p, p, len(top)))
        grid[block.a, block.b] = acts[block.rows]
        patterns[:, j, :p, :p] = grid.transpose(2, 0, 1)
        freq[:, j] = grid_purity(acts[block.rows], block)[1]
    verdicts = tests["zp_fourier"][[b.p >= VERDICT_MIN_P for b in blocks]]  # [decided primes, n]
    counted = np.isfinite(verdicts).sum(0)
    share = np.where(counted > 0, np.nansum(verdicts, 0) / np.maximum(counted, 1), np.nan)
    return {"primes": np.array([b.p for b in blocks], dtype=np.int64), "score": score.astype(np.float32),
            "p_fw": tests["p_fw"], "wrap": tests["wrap"], "zp_fourier": tests["zp_fourier"],
            "zp_share": np.asarray(share, dtype=np.float32),
            "constancy": constancy.astype(np.float32),
            "sum_freq": np.stack([f["freq"] for f in fits]).astype(np.int64), "neurons": top,
            "show_primes": np.array(shown, dtype=np.int64), "patterns": patterns, "pattern_freq": freq}
