"""Outliers of a run group: runs more than k robust spreads from the group's median.

Per numeric quantity (final metric, epoch marker, numeric headline) of a group
(`workbench.query.groups.Group`), a run is an outlier when

    |value - median| > K * scale,   scale = 1.4826 * MAD

where MAD is the median absolute deviation from the median; 1.4826 makes it estimate the
standard deviation of normal data, so "3 spreads" reads like 3 standard deviations but one
wild run cannot inflate it (the std of 5 runs with one far off is dominated by that run,
which then never sits 3 std away). When more than half the runs agree exactly, MAD is 0;
the scale then falls back to 1.2533 * the mean absolute deviation from the median (the
normal-consistent constant; Iglewicz & Hoaglin's rule), which is 0 only when every run
agrees. A quantity needs at least MIN_RUNS runs: with two, the median sits halfway and
neither run can be singled out.

K = 3 alone is no test at the seed counts of a group: with few runs the MAD is itself
noisy, and in groups of normally distributed runs the largest run sits beyond 3 MAD spreads
34% of the time at n=3, 26% at n=5, 20% at n=10. So a group's outliers (`group_outliers`)
are the runs beyond max(K, the null's 95th percentile): the largest distance among n
standard normal values, by the same rule, in NULL_DRAWS seeded draws (`null_threshold`:
about 22 at n=3, 7.8 at n=5, 4.5 at n=10, 4.0 at n=20). A group of normal runs then shows
an outlier in one quantity 5% of the time.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from workbench.query.groups import Group

__all__ = ["Outlier", "K", "MIN_RUNS", "RULE", "robust_scale", "outliers", "null_threshold", "threshold", "group_outliers",
           "outlier_line"]

K = 3.0  # robust spreads from the median that make a run an outlier
MIN_RUNS = 3  # fewer runs than this: no outliers
MAD_NORMAL = 1.4826  # 1 / Phi^-1(3/4): MAD * this estimates a normal std
MEANAD_NORMAL = 1.2533  # sqrt(pi / 2): mean absolute deviation * this estimates a normal std
NULL_LEVEL = 95.0  # percentile of the null's largest distance a run must pass
NULL_DRAWS = 20_000  # normal groups drawn per n
NULL_SEED = 0
RULE = (f"|value - median| > t x 1.4826·MAD (median absolute deviation; 1.2533 x mean absolute deviation where MAD "
        f"is 0), t = max({K:g}, the 95th percentile of the largest such distance among n normal values: 22 at n=3, "
        f"7.8 at n=5, 4.5 at n=10), {MIN_RUNS}+ runs")


@dataclass(frozen=True)
class Outlier:
    """One run's value of one quantity, far from its group's median."""

    quantity: str
    run: str  # the run's spec
    value: float
    median: float
    spreads: float  # (value - median) / scale, signed

    def brief(self) -> str:
        """'test_acc 0.31 (-12.4 spreads)'."""
        return f"{self.quantity} {self.value:.4g} ({self.spreads:+.1f} spreads)"


def robust_scale(values) -> float:
    """1.4826 x MAD of `values`, or 1.2533 x their mean absolute deviation from the median where MAD is 0."""
    x = np.asarray(values, dtype=float)
    dev = np.abs(x - np.median(x))
    mad = float(np.median(dev))
    return MAD_NORMAL * mad if mad > 0 else MEANAD_NORMAL * float(dev.mean())


def outliers(values: dict[str, float], k: float = K) -> dict[str, float]:
    """{run: signed robust spreads from the median} of the runs in `values` ({run: value}) beyond `k`.

    Empty below MIN_RUNS runs or when every run has the same value.

    Raises:
        ValueError for a non-finite value or k <= 0.
    """
    if not k > 0:
        raise ValueError(f"k must be positive, got {k!r}")
    x = np.asarray(list(values.values()), dtype=float)
    if not np.isfinite(x).all():
        raise ValueError(f"outliers needs finite values, got {values!r}")
    if len(x) < MIN_RUNS:
        return {}
    centre, scale = float(np.median(x)), robust_scale(x)
    if scale <= 1e-12 * max(1.0, abs(centre)):  # all agree (to rounding): nothing stands out
        return {}
    z = (x - centre) / scale
    return {run: float(d) for run, d in zip(values, z) if abs(d) > k}


@lru_cache(maxsize=None)
def null_threshold(n: int) -> float:
    """The 95th percentile of the largest |value - median| / (1.4826 MAD) among n standard normal values."""
    x = np.random.default_rng(NULL_SEED).standard_normal((NULL_DRAWS, n))
    dev = np.abs(x - np.median(x, axis=1, keepdims=True))
    return float(np.percentile(dev.max(axis=1) / (MAD_NORMAL * np.median(dev, axis=1)), NULL_LEVEL))


def threshold(n: int, k: float = K) -> float:
    """Robust spreads a run of a group of n must pass: max(k, null_threshold(n))."""
    return max(k, null_threshold(n)) if n >= MIN_RUNS else float("inf")


def group_outliers(g: Group, k: float = K) -> list[Outlier]:
    """Every numeric quantity's outliers in `g` beyond `threshold(n, k)`, in quantity order, then run order."""
    out = []
    for quantity, have in g.values.items():
        lacking = {spec for spec, q, _ in g.missing if q == quantity}
        by_run = dict(zip([r for r in g.runs if r not in lacking], have))
        if len(by_run) != len(have):  # the group's bookkeeping disagrees: say nothing rather than misname a run
            continue
        centre = float(np.median(have)) if have else 0.0
        if len(by_run) < MIN_RUNS:
            continue
        out += [Outlier(quantity, run, by_run[run], centre, z)
                for run, z in outliers(by_run, threshold(len(by_run), k)).items()]
    return out


def outlier_line(found: list[Outlier], name_of=lambda spec: spec) -> str:
    """'seed=3: test_acc 0.31 (-12.4 spreads), test_loss 2.1 (+8.0 spreads); seed=1: ...' (runs in first-seen order)."""
    by_run: dict[str, list[str]] = {}
    for o in found:
        by_run.setdefault(o.run, []).append(o.brief())
    return "; ".join(f"{name_of(run)}: {', '.join(parts)}" for run, parts in by_run.items())
