"""The least-action study's own spectral smoothness (issue 27), beside ours.

The study (KarlTaht/research, projects/least_action_learning, src/losses.py@4299312 and
src/metrics/curvature.py@1b98a52, read with the search tools; written here from that reading):
- metric (`smooth` in its logs): c[a, b] = argmax of the logits, the predicted class INDEX as
  a number, on the natural (a, b) grid (for multiply too); P = |FFT2(c)|^2;
  S = sum of P over k_a^2 + k_b^2 <= K^2 (signed integer frequencies, K = p // 4, the zero
  frequency included) / (sum P + 1e-8).
- its spectral loss uses the same ratio on the EXPECTED class index sum_c c softmax_c ("soft").

Because the zero-frequency bin is in both sums, the score rewards a constant prediction (1.0
for any constant class but 0) and a grid of random labels already scores ~0.77 at p = 17: the
DC share alone of a uniform-marginal grid is ((p-1)/2)^2 / ((p-1)(2p-1)/6) (0.727 at p = 17).
It does not measure generalization; the null and the floor are returned so a figure can say so.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

__all__ = ["study_mask", "study_smoothness", "class_index_grid", "study_null", "dc_floor", "study_k"]


def study_k(p: int) -> int:
    """The study's default cutoff: spectral_k unset -> p // 4."""
    return p // 4


def study_mask(p: int, k: int | None = None) -> np.ndarray:
    """[p, p] bool in FFT order: signed integer frequencies with k_a^2 + k_b^2 <= K^2 (DC included)."""
    k = study_k(p) if k is None else k
    f = np.fft.fftfreq(p, d=1.0 / p).round().astype(np.int64)  # 0, 1, ..., -1
    return (f[:, None] ** 2 + f[None, :] ** 2) <= k * k


def study_smoothness(grid: np.ndarray, k: int | None = None) -> float:
    """Low-frequency share of |FFT2(grid)|^2 with the DC bin in numerator and denominator (the study's ratio)."""
    power = np.abs(np.fft.fft2(np.asarray(grid, dtype=np.float64))) ** 2
    return float((power * study_mask(len(grid), k)).sum() / (power.sum() + 1e-8))


def class_index_grid(values: np.ndarray, a: np.ndarray, b: np.ndarray, p: int) -> np.ndarray:
    """[p, p] grid with values[i] at (a[i], b[i]); the rows must cover the whole grid."""
    grid = np.full((p, p), np.nan)
    grid[a, b] = values
    if np.isnan(grid).any():
        raise ValueError(f"the rows cover {int((~np.isnan(grid)).sum())} of the {p * p} (a, b) pairs; the study's "
                         "smoothness needs the whole grid")
    return grid


@lru_cache(maxsize=32)
def study_null(p: int, k: int | None = None, draws: int = 200, seed: int = 0) -> tuple[float, float]:
    """Mean and sd of the study's score on grids of uniformly random labels (seeded: the same every call)."""
    rng = np.random.default_rng(seed)
    scores = [study_smoothness(rng.integers(0, p, size=(p, p)), k) for _ in range(draws)]
    return float(np.mean(scores)), float(np.std(scores, ddof=1))


def dc_floor(p: int) -> float:
    """The DC bin's expected share for a grid of uniformly distributed labels 0..p-1: mean^2 / E[c^2]."""
    return ((p - 1) / 2) ** 2 / ((p - 1) * (2 * p - 1) / 6)
