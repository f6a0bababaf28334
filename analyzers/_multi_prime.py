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

A high R^2 alone is no evidence (issue 28): the best of (p - 1) / 2 frequencies fits any curve
of p points well when p is small (white noise: median R^2 0.76 at p = 5, 0.44 at p = 11), and
a wave in the raw sum a + b (period L, not tied to p) fits a Z_p sinusoid with R^2 near 1 too.
So every fit comes with two tests (`zp_tests`):

- a permutation null, "same neuron, shuffled sums": the residue labels of the curve are
  permuted (N_PERM relabellings per prime, one set shared by all neurons, seeded by the
  prime), giving the R^2 a neuron reaches by chance; reported as the null's median and 99th
  percentile, the observed R^2's percentile in it, its p-value, and a family-wise p-value over
  the prime's neurons by Westfall-Young step-down max-T (the largest null R^2 over the
  neurons ranked at or below it, per relabelling), because the neurons shown are *selected* by their R^2. An affine relabelling
  s -> u s + v keeps a sinusoid a sinusoid, so about p (p - 1) of the p! relabellings tie a
  perfect fit: the smallest reachable p-value is ~p (p - 1) / p!, 1/6 at p = 5 and 0.008 at
  p = 7; hence no verdict below VERDICT_MIN_P;
- a wrap-consistency score: the neuron's mean activation at raw sum a + b = s (pairs that do
  not wrap) against a + b = s + p (pairs that wrap), s = 0..p-2, correlated (weighted by the
  smaller pair count, min(s + 1, p - 1 - s), which damps the one-pair ends). A function of
  (a + b) mod p scores 1; a raw-sum wave of period L scores about cos(2 pi p / L) (0 for
  L = 4 at p = 37), however well it fits.

The verdict "Fourier on Z_p" needs both: family-wise p <= FW_ALPHA and wrap >= WRAP_MIN
(1.0 yes, 0.0 no, NaN below VERDICT_MIN_P or for a dead neuron). The thresholds are a choice
(calibrate them on a grokked single-prime model before quoting counts); a raw-sum wave whose
period divides p nearly (p / L close to an integer) is, on this grid, a Z_p feature within
the grid's resolution and passes, correctly.
"""

from __future__ import annotations

from typing import Iterator, NamedTuple

import numpy as np

__all__ = ["PrimeBlock", "prime_blocks", "sum_signal", "fit_sinusoid", "grid_purity", "neuron_rows", "MIN_P",
           "NO_FREQ", "answer_hook", "oscillator_scores", "sum_fits", "top_neurons", "TOP", "r2_null", "residue_perms", "wrap_curves",
           "wrap_score", "zp_tests", "zp_table", "ZP_OUTPUTS", "N_PERM", "FW_ALPHA", "WRAP_MIN", "VERDICT_MIN_P"]

MIN_P = 5  # smallest prime with more than one frequency
NO_FREQ = -1  # the frequency of a constant (dead) signal, or of a prime below MIN_P
TOP = 8  # neurons whose curves and patterns the neuron views keep
N_PERM = 999  # residue relabellings of the permutation null (p-values in steps of 1/1000)
NULL_SEED = 0  # the null's generator is seeded by (NULL_SEED, p): the same relabellings on every run
FW_ALPHA = 0.01  # family-wise p-value a Z_p Fourier neuron must reach
WRAP_MIN = 0.8  # wrap-consistency score it must reach
VERDICT_MIN_P = 11  # below, a perfect fit cannot reach FW_ALPHA (module docstring)
_CHUNK = 64  # relabellings per FFT batch: bounds memory at _CHUNK * p * n doubles
ZP_OUTPUTS = ("r2_null_q50", "r2_null_q99", "r2_pct", "p", "p_fw", "wrap", "zp_fourier")


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


def residue_perms(p: int, n_perm: int = N_PERM) -> np.ndarray:
    """[n_perm, p] relabellings of the residues 0..p-1, seeded by (NULL_SEED, p): the same on every run."""
    rng = np.random.default_rng([NULL_SEED, p])
    return np.argsort(rng.random((n_perm, p)), axis=1)


def _r2(curves: np.ndarray) -> np.ndarray:
    """R^2 of the best single frequency along axis -2 of curves [..., p, n] (NaN when flat)."""
    power = np.abs(np.fft.rfft(curves, axis=-2)[..., 1:, :]) ** 2
    total = power.sum(-2)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 1e-12, power.max(-2) / total, np.nan)


def r2_null(signal: np.ndarray, observed: np.ndarray, n_perm: int = N_PERM) -> dict[str, np.ndarray]:
    """The permutation null of each neuron's best-frequency R^2 (module docstring), signal [p, n].

    Returns [n] arrays: r2_null_q50 and r2_null_q99 (the null's median and 99th percentile),
    r2_pct (percent of the null strictly below the observed R^2), p ((1 + #null >= observed) /
    (1 + n_perm)) and p_fw (family-wise over the neurons, `_step_down_max_t`).
    NaN where `observed` is NaN (a dead neuron, or p < MIN_P).
    """
    p, n = signal.shape
    perms = residue_perms(p, n_perm)
    null = np.concatenate([_r2(signal[perms[i:i + _CHUNK]]) for i in range(0, n_perm, _CHUNK)])  # [n_perm, n]
    live = np.isfinite(observed)
    nan = np.full(n, np.nan)
    if not live.any():
        return {"r2_null_q50": nan, "r2_null_q99": nan, "r2_pct": nan, "p": nan, "p_fw": nan}
    tie = observed - 1e-9  # a tie counts against the neuron (a perfect fit ties its affine relabellings)
    with np.errstate(invalid="ignore"):
        q50, q99 = np.nanquantile(np.where(live, null, 0.0), [0.5, 0.99], axis=0)
        pct = 100 * (null < observed).mean(0)
        p_one = (1 + (null >= tie).sum(0)) / (1 + n_perm)
    return {**{k: np.where(live, v, np.nan) for k, v in
               (("r2_null_q50", q50), ("r2_null_q99", q99), ("r2_pct", pct), ("p", p_one))},
            "p_fw": _step_down_max_t(null, tie, live)}


def _step_down_max_t(null: np.ndarray, tie: np.ndarray, live: np.ndarray) -> np.ndarray:
    """Westfall-Young step-down max-T p-values [n] from null [n_perm, n] and observed statistics.

    The neuron ranked j by its observed R^2 is compared with each relabelling's largest null R^2
    among the neurons ranked j and below (one strong neuron does not mask the next), and the
    p-values are made monotone in rank; the family-wise error stays controlled.
    """
    order = np.flatnonzero(live)[np.argsort(-tie[live], kind="stable")]
    tail_max = np.maximum.accumulate(null[:, order[::-1]], axis=1)[:, ::-1]  # [n_perm, live]
    raw = (1 + (tail_max >= tie[order]).sum(0)) / (1 + len(null))
    out = np.full(len(tie), np.nan)
    out[order] = np.maximum.accumulate(raw)
    return out


def wrap_curves(acts: np.ndarray, block: PrimeBlock) -> tuple[np.ndarray, np.ndarray]:
    """(no-wrap, wrap) curves [p - 1, n]: mean activation at a + b = s and at a + b = s + p, s = 0..p-2."""
    p = block.p
    t = block.a + block.b  # the raw sum, 0..2p-2
    sums = np.zeros((2 * p - 1, acts.shape[1]))
    np.add.at(sums, t, acts)
    mean = sums / np.bincount(t, minlength=2 * p - 1)[:, None]
    return mean[: p - 1], mean[p:]


def wrap_score(acts: np.ndarray, block: PrimeBlock) -> np.ndarray:
    """[n] weighted correlation of each neuron's no-wrap and wrap curves (1: a function of (a + b) mod p).

    NaN when either curve is flat, or p < MIN_P (too few residues to correlate).
    """
    lo, hi = wrap_curves(acts, block)
    if block.p < MIN_P:
        return np.full(acts.shape[1], np.nan)
    s = np.arange(block.p - 1)
    w = np.minimum(s + 1, block.p - 1 - s).astype(np.float64)[:, None]
    w /= w.sum()
    lo_c, hi_c = lo - (w * lo).sum(0), hi - (w * hi).sum(0)
    var_lo, var_hi = (w * lo_c ** 2).sum(0), (w * hi_c ** 2).sum(0)
    # flat: variance at float32 rounding level of the curve's own size (a dead or constant neuron)
    flat = (var_lo <= 1e-10 * (w * lo ** 2).sum(0) + 1e-30) | (var_hi <= 1e-10 * (w * hi ** 2).sum(0) + 1e-30)
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = (w * lo_c * hi_c).sum(0) / np.sqrt(var_lo * var_hi)
    return np.where(flat, np.nan, np.clip(corr, -1, 1))


def zp_tests(acts: np.ndarray, block: PrimeBlock, signal: np.ndarray, fit: dict[str, np.ndarray],
             n_perm: int = N_PERM) -> dict[str, np.ndarray]:
    """Per neuron [n]: the permutation null of its sum-sinusoid fit, its wrap score and the Z_p verdict."""
    out = r2_null(signal, fit["r2"], n_perm)
    out["wrap"] = wrap_score(acts, block)
    decided = np.isfinite(out["p_fw"]) & np.isfinite(out["wrap"]) & (block.p >= VERDICT_MIN_P)
    out["zp_fourier"] = np.where(decided, ((out["p_fw"] <= FW_ALPHA) & (out["wrap"] >= WRAP_MIN)).astype(float), np.nan)
    return out


def zp_table(ctx, blocks: list[PrimeBlock], signals: list[np.ndarray], fits: list[dict[str, np.ndarray]],
             n_perm: int = N_PERM) -> dict[str, np.ndarray]:
    """zp_tests for every prime, stacked: each of ZP_OUTPUTS as [prime, n] float32."""
    acts = neuron_rows(ctx)
    per = [zp_tests(acts[b.rows], b, s, f, n_perm) for b, s, f in zip(blocks, signals, fits)]
    return {k: np.stack([t[k] for t in per]).astype(np.float32) for k in ZP_OUTPUTS}
