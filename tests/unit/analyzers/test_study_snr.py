"""The MIRAS study's "Fourier purity (SNR)" (issue 28, analyzers/study_snr.py) against hand-built
ground truth: the study's formula written out independently, a pure cosine (ceiling 1.0), a ReLU'd
cosine, white noise inside its null, and a raw-sum wave that beats the null but fails the wrap test."""

from __future__ import annotations

import numpy as np
import pytest

from analyzers._multi_prime import PrimeBlock
from analyzers.study_snr import _one_prime, fourier_snr_1d
from tests.unit.analyzers.test_multi_prime import K, _context, _oscillators
from workbench.core.analyzer import get_analyzer


def _block(p: int) -> PrimeBlock:
    a, b = np.meshgrid(np.arange(p), np.arange(p), indexing="ij")
    return PrimeBlock(p, 0, np.arange(p * p), a.ravel(), b.ravel())


def _study_formula(grid: np.ndarray, p: int) -> tuple[float, int]:
    """calculate_fourier_snr_1d re-stated step by step from its description (loop over residues)."""
    sums = (np.arange(p).repeat(p) + np.tile(np.arange(p), p)) % p
    avg = np.array([grid.reshape(-1)[sums == s].mean() for s in range(p)])
    mags = [abs(sum(avg[t] * np.exp(-2j * np.pi * k * t / p) for t in range(p))) for k in range(1, p)]
    best = max(mags)
    return best / (sum(mags) - best + 1e-9), mags.index(best) + 1


@pytest.mark.parametrize("p", [7, 13, 37])
def test_matches_the_study_formula_on_random_grids(p):
    rng = np.random.default_rng(p)
    for _ in range(3):
        grid = rng.normal(size=(p, p)) ** 2
        block = _block(p)
        got = _one_prime(grid.reshape(-1, 1), block, n_perm=9)
        want, k = _study_formula(grid, p)
        assert got["snr"] == pytest.approx(want, rel=1e-9)
        assert got["freq"] == min(k, p - k)


def test_pure_cosine_scores_one_and_relu_cosine_045():
    p = 37
    s = np.arange(p)
    snr, freq = fourier_snr_1d(np.stack([np.cos(2 * np.pi * 5 * s / p), np.maximum(np.cos(2 * np.pi * 5 * s / p), 0)]))
    assert snr[0] == pytest.approx(1.0, abs=1e-6)  # the mirror bin counts as "noise": the ceiling is 1, not infinity
    assert snr[1] == pytest.approx(0.45, abs=0.03)
    np.testing.assert_array_equal(freq, [5, 5])


def test_top_variance_neuron_is_chosen_and_a_pure_wave_beats_its_null():
    out = get_analyzer("study_snr").fn(_context(_oscillators))
    big = out["primes"] >= 11  # below, an exact fit ties too many relabellings for a small p-value
    # neuron 1 (3 + 2 sin) has the largest variance over every grid: its SNR is the cosine's 1.0
    assert (out["neuron"][out["primes"] >= 5] == 1).all() and (out["neuron"][out["primes"] < 5] == -1).all()
    np.testing.assert_allclose(out["snr"][out["primes"] >= 5], 1, atol=1e-5)
    np.testing.assert_array_equal(out["freq"][out["primes"] >= 5], K)
    assert (out["snr_p"][big] <= 0.002).all() and (out["snr_null_q99"][big] < 0.6).all()
    np.testing.assert_allclose(out["wrap"][out["primes"] >= 5], 1, atol=1e-5)
    assert np.isnan(out["snr"][out["primes"] < 5]).all()


def test_white_noise_sits_in_its_null():
    p, rng = 37, np.random.default_rng(1)
    pvals, q50 = [], []
    for _ in range(20):
        got = _one_prime(rng.normal(size=(p * p, 1)), _block(p), n_perm=199)
        pvals.append(got["snr_p"]), q50.append(got["snr_null_q50"])
    assert 0.2 < np.mean(pvals) < 0.8 and np.mean(np.array(pvals) <= 0.05) <= 0.2
    assert 0.04 < np.median(q50) < 0.09  # the study-formula noise median at p = 37 is about 0.06


def test_raw_sum_wave_scores_high_beats_the_null_and_fails_the_wrap_test():
    p = 37
    block = _block(p)
    got = _one_prime(np.cos(2 * np.pi * (block.a + block.b) / 4.0)[:, None], block, n_perm=999)
    assert got["snr"] > 0.5 and got["snr_p"] <= 0.002  # SNR and its null cannot tell it from Z_p
    assert abs(got["wrap"]) < 0.1  # the wrap test can: cos(2 pi 37 / 4) = 0


def test_dead_grid_is_nan():
    got = _one_prime(np.zeros((13 * 13, 3)), _block(13), n_perm=9)
    assert got["neuron"] == -1 and np.isnan(got["snr"]) and np.isnan(got["snr_p"])
