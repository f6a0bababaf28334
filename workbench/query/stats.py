"""Spread over seeds, and whether two groups of runs differ by more than it.

`spread(values)` summarises one quantity over a group's runs: n, mean, std (ddof=1), a 95%
percentile bootstrap interval of the mean, min and max. The bootstrap draws
`RESAMPLES` resamples from a generator seeded with `BOOTSTRAP_SEED`, so a listing reads the
same every time.

`compare(a, b)` tests two groups' values two ways: Welch's t-test (unequal variances,
scipy) and a two-sided permutation test of the difference of means over the seeds (every
relabelling when there are at most `EXACT_LIMIT`, otherwise `PERMUTATIONS` random ones).
The verdict is "differs" only when both p-values fall below `ALPHA`; with 3 runs a side
the exact permutation p cannot fall below 0.1, so 3 seeds never "differ" (4 a side can).
"""

from __future__ import annotations

import itertools
import math
import warnings
from dataclasses import dataclass

import numpy as np
from scipy import stats as _scipy

__all__ = ["Spread", "spread", "number", "bootstrap_band", "bootstrap_interval", "Difference", "compare", "welch_p", "permutation_p",
           "RESAMPLES", "BOOTSTRAP_SEED", "ALPHA", "EXACT_LIMIT", "PERMUTATIONS"]

RESAMPLES = 10_000  # bootstrap resamples of the mean
BOOTSTRAP_SEED = 0  # the bootstrap's generator seed: the same values give the same interval
LEVEL = 0.95  # the interval's coverage
ALPHA = 0.05  # both tests below this: "differs"
EXACT_LIMIT = 20_000  # relabellings enumerated exactly up to this many (5 vs 5 is 252, 8 vs 8 is 12,870)
PERMUTATIONS = 20_000  # random relabellings past EXACT_LIMIT (seeded with BOOTSTRAP_SEED)


@dataclass(frozen=True)
class Spread:
    """One quantity over a group's runs."""

    n: int
    mean: float
    std: float  # sample std, ddof=1 (NaN for n=1)
    lo: float  # 95% percentile bootstrap interval of the mean
    hi: float
    min: float
    max: float

    def brief(self) -> str:
        """'0.9981 ± 0.0012 [0.997, 0.999]' (no ± or interval for one run)."""
        if self.n < 2:
            return number(self.mean, 4)
        return f"{number(self.mean, 4)} ± {number(self.std, 2)} [{number(self.lo, 3)}, {number(self.hi, 3)}]"


def number(x: float, digits: int) -> str:
    """`x` to `digits` significant digits, in plain notation from 0.001 to 99,999 (1430, 0.0011), else 5.9e-08."""
    if x == 0 or not math.isfinite(x):
        return f"{x:g}"
    if 1e-3 <= abs(x) < 1e5:
        return f"{x:.{max(0, digits - 1 - math.floor(math.log10(abs(x))))}f}"
    return f"{x:.{digits}g}"


def bootstrap_interval(values, resamples: int = RESAMPLES, seed: int = BOOTSTRAP_SEED,
                       level: float = LEVEL) -> tuple[float, float]:
    """(lo, hi): the central `level` percentiles of the means of `resamples` resamples (with replacement)."""
    x = np.asarray(values, dtype=float)
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, len(x), size=(resamples, len(x)))].mean(axis=1)
    tail = 100 * (1 - level) / 2
    lo, hi = np.percentile(means, [tail, 100 - tail])
    return float(lo), float(hi)


def bootstrap_band(table, resamples: int = 2_000, seed: int = BOOTSTRAP_SEED,
                   level: float = LEVEL) -> tuple[np.ndarray, np.ndarray]:
    """Pointwise (lo, hi) [points] of the mean over runs of `table` [runs, points]: the same runs
    resampled for every point, so a band is one bootstrap, not one per point."""
    y = np.asarray(table, dtype=float)
    idx = np.random.default_rng(seed).integers(0, len(y), size=(resamples, len(y)))
    means = y[idx].mean(axis=1)  # [resamples, points]
    tail = 100 * (1 - level) / 2
    lo, hi = np.percentile(means, [tail, 100 - tail], axis=0)
    return lo, hi


def spread(values) -> Spread:
    """The Spread of `values` (finite numbers, at least one).

    Raises:
        ValueError for no values or a non-finite one.
    """
    x = np.asarray(values, dtype=float)
    if x.ndim != 1 or not len(x) or not np.isfinite(x).all():
        raise ValueError(f"spread needs finite numbers, got {values!r}")
    std = float(x.std(ddof=1)) if len(x) > 1 else math.nan
    lo, hi = bootstrap_interval(x)
    return Spread(len(x), float(x.mean()), std, lo, hi, float(x.min()), float(x.max()))


@dataclass(frozen=True)
class Difference:
    """Two groups' values tested for a difference of means."""

    welch_p: float  # NaN where undefined (fewer than 2 a side, or both sides constant)
    permutation_p: float
    exact: bool  # the permutation test enumerated every relabelling
    verdict: str  # "differs" or "within spread"

    def brief(self) -> str:
        """'differs (Welch p=0.001, permutation p=0.008 exact)'."""
        kind = "exact" if self.exact else f"{PERMUTATIONS} draws"
        welch = "Welch n/a: no variance" if math.isnan(self.welch_p) else f"Welch p={self.welch_p:.2g}"
        return f"{self.verdict} ({welch}, permutation p={self.permutation_p:.2g} {kind})"


def welch_p(a, b) -> float:
    """Two-sided p of Welch's t-test; NaN below 2 values a side or when neither side varies (to rounding)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(a) < 2 or len(b) < 2 or (np.allclose(a, a[0], rtol=1e-12, atol=0) and np.allclose(b, b[0], rtol=1e-12, atol=0)):
        return math.nan
    with warnings.catch_warnings():  # scipy warns on a side equal to rounding; its p is still the test's
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(_scipy.ttest_ind(a, b, equal_var=False).pvalue)


def _relabellings(n: int, k: int) -> tuple[np.ndarray, bool]:
    """([splits, k] indices of side a, exact?): all C(n, k) splits, or PERMUTATIONS random ones."""
    if math.comb(n, k) <= EXACT_LIMIT:
        return np.array(list(itertools.combinations(range(n), k)), dtype=int).reshape(-1, k), True
    keys = np.random.default_rng(BOOTSTRAP_SEED).random((PERMUTATIONS, n))
    return np.argsort(keys, axis=1)[:, :k], False


def permutation_p(a, b) -> tuple[float, bool]:
    """(two-sided p, exact?): the share of relabellings of the pooled values whose
    |difference of means| is at least the observed one (the observed labelling counts;
    random draws add it once, (hits + 1) / (draws + 1))."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    pooled = np.concatenate([a, b])
    observed = abs(a.mean() - b.mean())
    splits, exact = _relabellings(len(pooled), len(a))
    side_a = pooled[splits].sum(axis=1)
    diffs = np.abs(side_a / len(a) - (pooled.sum() - side_a) / len(b))
    hits = int((diffs >= observed - 1e-12 * max(1.0, observed)).sum())
    return (hits / len(splits) if exact else (hits + 1) / (len(splits) + 1)), exact


def compare(a, b, alpha: float = ALPHA) -> Difference:
    """Welch's t and the permutation test on two groups' values, and the verdict.

    Raises:
        ValueError for an empty side.
    """
    if not len(a) or not len(b):
        raise ValueError("compare needs values on both sides")
    pw = welch_p(a, b)
    pp, exact = permutation_p(a, b)
    differs = pp < alpha and (math.isnan(pw) or pw < alpha)  # Welch undefined (no variance): the permutation test decides
    return Difference(pw, pp, exact, "differs" if differs else "within spread")
