"""Shared pieces of the multi-prime analyzers (capability ``multi_prime``, issue 13).

A multi-prime family's probe holds, for every prime p in ``multi_prime.primes``, all p^2
pairs (a, b): column ``modulus`` of a probe row is p, columns ``operands`` are a and b,
and the answer is read at the last position. These helpers cut the probe into one block
per prime and measure single neurons' activations over a prime's (a, b) grid:

- `sum_signal` / `fit_sinusoid`: the mean activation as a function of s = (a + b) mod p and
  its best single-frequency sinusoid, found exactly by the DFT over the p residues (the
  cos/sin(2 pi k s / p) are orthogonal on the full residue grid, so the least-squares fit
  of frequency k is its DFT coefficient, and its R^2 is that frequency's share of the
  signal's non-constant power);
- `grid_purity`: the share of a neuron's non-constant activation power over the 2-D (a, b)
  grid that its best frequency k owns, counting the 2-D DFT bins (k_a, k_b) with
  k_a, k_b in {0, +k, -k} (terms in cos/sin of k a, of k b and their products: the
  per-frequency grouping of Nanda et al. 2023, §4.3, neuron clusters), and the
  signal-to-noise ratio purity / (1 - purity).

Primes below 5 have at most one frequency (k = 1), so every purity and R^2 is 1 by
construction there; those primes are reported as NaN, with frequency -1.
"""

from __future__ import annotations

from typing import Iterator, NamedTuple

import numpy as np

__all__ = ["PrimeBlock", "prime_blocks", "sum_signal", "fit_sinusoid", "grid_purity", "neuron_rows", "MIN_P",
           "NO_FREQ", "answer_hook", "oscillator_scores", "sum_fits", "top_neurons", "TOP"]

MIN_P = 5  # smallest prime with more than one frequency
NO_FREQ = -1  # the frequency of a constant (dead) signal, or of a prime below MIN_P
TOP = 8  # neurons whose curves and patterns the neuron views keep


class PrimeBlock(NamedTuple):
    p: int
    group: int
    rows: np.ndarray  # [p*p] probe row indices
    a: np.ndarray  # [p*p] operands
    b: np.ndarray


def answer_hook(caps) -> tuple[str]:
    """The hook of the last MLP's neurons at the answer position."""
    return (caps["multi_prime"]["answer_neuron_hook"],)


def prime_blocks(ctx) -> Iterator[PrimeBlock]:
    """One PrimeBlock per prime of the family's sweep that the probe holds all p^2 pairs of."""
    mp = ctx.family["multi_prime"]
    i, j = mp["operands"]
    modulus = ctx.probe[:, mp["modulus"]]
    for p, group in zip(mp["primes"], mp["groups"]):
        rows = np.flatnonzero(modulus == p)
        if len(rows) != p * p:
            raise ValueError(f"probe holds {len(rows)} rows for p={p}, expected all {p * p} pairs")
        yield PrimeBlock(int(p), int(group), rows, ctx.probe[rows, i], ctx.probe[rows, j])


def neuron_rows(ctx) -> np.ndarray:
    """[rows, d_mlp] float64: the answer-position activations of the last MLP's neurons."""
    return ctx.cache[answer_hook(ctx.family)[0]][:, -1].astype(np.float64)


def sum_signal(acts: np.ndarray, block: PrimeBlock) -> np.ndarray:
    """acts [p*p, n] over a prime's pairs -> [p, n]: mean activation for each s = (a + b) mod p."""
    s = (block.a + block.b) % block.p
    out = np.zeros((block.p, acts.shape[1]))
    np.add.at(out, s, acts)
    return out / block.p  # every residue s has exactly p pairs (a, s - a)


def fit_sinusoid(signal: np.ndarray) -> dict[str, np.ndarray]:
    """Best single-frequency fit of signal [p, n] over s = 0..p-1, per neuron:
    offset + amp cos(2 pi freq s / p + phase), with R^2 = its share of the non-constant power.
    A constant signal (or p < MIN_P) gets freq NO_FREQ and NaN amp, phase and R^2."""
    p, n = signal.shape
    coef = np.fft.rfft(signal, axis=0)  # [p//2 + 1, n]; frequencies 0..(p-1)/2 for odd p
    power = np.abs(coef[1:]) ** 2  # [(p-1)/2, n]
    total = power.sum(0)
    live = (total > 1e-12 * np.maximum(np.abs(coef[0]) ** 2, 1.0)) & (p >= MIN_P)
    k = power.argmax(0)  # [n], 0-based index of frequency k + 1
    best = coef[1:][k, np.arange(n)]
    out = {"freq": np.where(live, k + 1, NO_FREQ), "offset": coef[0].real / p,
           "amp": np.where(live, 2 * np.abs(best) / p, np.nan), "phase": np.where(live, np.angle(best), np.nan),
           "r2": np.where(live, power[k, np.arange(n)] / np.where(total > 0, total, 1), np.nan)}
    return out


def grid_purity(acts: np.ndarray, block: PrimeBlock) -> tuple[np.ndarray, np.ndarray]:
    """(purity [n], best frequency [n]) of each neuron's activation grid over (a, b) (module docstring)."""
    p, n = block.p, acts.shape[1]
    grid = np.zeros((p, p, n))
    grid[block.a, block.b] = acts
    power = np.abs(np.fft.fft2(grid, axes=(0, 1))) ** 2  # [k_a, k_b, n]
    power[0, 0] = 0.0
    total = power.sum((0, 1))
    if p < MIN_P:
        return np.full(n, np.nan), np.full(n, NO_FREQ)
    per_k = np.stack([power[np.ix_(idx, idx)].sum((0, 1)) for idx in
                      ([0, k, p - k] for k in range(1, (p - 1) // 2 + 1))])  # [freq, n]
    live = total > 1e-12
    k = per_k.argmax(0)
    purity = np.where(live, per_k[k, np.arange(n)] / np.where(live, total, 1), np.nan)
    return purity, np.where(live, k + 1, NO_FREQ)


def oscillator_scores(fits: list[dict[str, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """How consistently each neuron acts as a tuned oscillator across primes, from its
    per-prime sum-signal fits (primes below MIN_P left out):

    - score [n]: mean over the primes of R^2 (a dead or flat prime counts 0);
    - constancy [n]: the fraction of those primes whose best frequency is the neuron's most
      common one (1: the same k for every p, so its wave stretches with p).
    """
    used = [f for f in fits if np.any(f["freq"] != NO_FREQ) or not np.all(np.isnan(f["r2"]))]
    if not used:
        n = len(fits[0]["freq"]) if fits else 0
        return np.zeros(n), np.zeros(n)
    r2 = np.nan_to_num(np.stack([f["r2"] for f in used]))  # [prime, n]
    freq = np.stack([f["freq"] for f in used])
    mode = np.array([np.bincount(col[col > 0]).argmax() if (col > 0).any() else NO_FREQ for col in freq.T])
    return r2.mean(0), (freq == mode).mean(0)


def sum_fits(ctx) -> tuple[list[PrimeBlock], list[np.ndarray], list[dict[str, np.ndarray]]]:
    """(blocks, sum signals [p, n], sinusoid fits) for every prime of the sweep."""
    acts = neuron_rows(ctx)
    blocks = list(prime_blocks(ctx))
    signals = [sum_signal(acts[b.rows], b) for b in blocks]
    return blocks, signals, [fit_sinusoid(s) for s in signals]


def top_neurons(score: np.ndarray, n: int = TOP) -> np.ndarray:
    """The n neurons with the highest score, best first (ties by index)."""
    return np.argsort(-score, kind="stable")[:n].astype(np.int64)
