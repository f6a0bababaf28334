"""The Z_p Fourier tests of a neuron (issue 28, analyzers._multi_prime.zp_tests) against
hand-built neurons: a Z_p Fourier neuron passes, a wave in the raw sum a + b fits as well but
fails the wrap test, and noise or shuffled activations sit inside the permutation null (checked
against Fisher's exact g-test, the same statistic's distribution for Gaussian noise)."""

from __future__ import annotations

from math import comb

import numpy as np
import pytest

from analyzers._multi_prime import FW_ALPHA, PrimeBlock, fit_sinusoid, sum_signal, wrap_score, zp_tests


def _block(p: int) -> PrimeBlock:
    a, b = np.meshgrid(np.arange(p), np.arange(p), indexing="ij")
    return PrimeBlock(p, 0, np.arange(p * p), a.ravel(), b.ravel())


def _tests(acts: np.ndarray, p: int, n_perm: int = 999) -> dict[str, np.ndarray]:
    block = _block(p)
    signal = sum_signal(acts, block)
    return {**zp_tests(acts, block, signal, fit_sinusoid(signal), n_perm), "r2": fit_sinusoid(signal)["r2"]}


def _raw(p: int) -> np.ndarray:
    block = _block(p)
    return block.a + block.b


def _zp(p: int, k: int = 5) -> np.ndarray:
    return np.cos(2 * np.pi * k * (_raw(p) % p) / p)


def _fisher_sf(x: float, m: int) -> float:
    """P(g > x) for Fisher's g (largest of m periodogram ordinates over their sum), Gaussian noise."""
    return sum((-1) ** (j - 1) * comb(m, j) * (1 - j * x) ** (m - 1) for j in range(1, int(1 / x) + 1) if j * x < 1)


def test_a_zp_fourier_neuron_and_its_relu_pass():
    p = 37
    out = _tests(np.stack([_zp(p), np.maximum(_zp(p, 3), 0)], 1), p)
    assert out["r2"][0] == pytest.approx(1) and out["r2"][1] < 0.9
    np.testing.assert_allclose(out["wrap"], 1, atol=1e-9)
    assert (out["p_fw"] <= FW_ALPHA).all() and (out["r2_pct"] > 99).all()
    np.testing.assert_array_equal(out["zp_fourier"], [1, 1])


def test_a_raw_sum_wave_fits_as_well_but_fails_the_wrap_test():
    p = 37
    waves = np.stack([np.cos(2 * np.pi * _raw(p) / 4), np.cos(2 * np.pi * _raw(p) / 6)], 1)
    out = _tests(waves, p)
    assert (out["r2"] > 0.98).all() and (out["p_fw"] <= FW_ALPHA).all()  # R^2 and its null cannot tell
    # wrap ~ cos(2 pi p / L): cos(2 pi 37 / 4) = 0, cos(2 pi 37 / 6) = 0.5
    np.testing.assert_allclose(out["wrap"], [0, 0.5], atol=0.02)
    np.testing.assert_array_equal(out["zp_fourier"], [0, 0])


def test_noise_sits_in_the_null_and_matches_fishers_g_test():
    p, n = 37, 400
    rng = np.random.default_rng(0)
    out = _tests(rng.normal(size=(p * p, n)), p, n_perm=199)
    assert not (out["zp_fourier"] == 1).any() and (out["p_fw"] > FW_ALPHA).all()
    # marginal p-values of noise are ~uniform: about 5% below 0.05
    assert 0.02 < (out["p"] <= 0.05).mean() < 0.09
    # and each agrees with Fisher's exact p-value of the same R^2 (the null's spread, not exact)
    fisher = np.array([_fisher_sf(r, (p - 1) // 2) for r in out["r2"]])
    assert np.abs(out["p"] - fisher).mean() < 0.05
    assert np.median(out["r2_null_q50"]) == pytest.approx(np.median(out["r2"]), abs=0.02)


def test_a_zp_neuron_shuffled_over_pairs_falls_into_the_null():
    p = 37
    acts = np.stack([_zp(p), np.random.default_rng(1).permutation(_zp(p))], 1)
    out = _tests(acts, p)
    assert out["zp_fourier"][0] == 1 and out["zp_fourier"][1] == 0
    assert out["p"][1] > 0.01 and 1 < out["r2_pct"][1] < 99.9


def test_only_the_planted_zp_neuron_passes_among_many_noise_neurons():
    p = 23
    rng = np.random.default_rng(2)
    acts = np.concatenate([rng.normal(size=(p * p, 300)), _zp(p, 4)[:, None] + 0.3 * rng.normal(size=(p * p, 1))], 1)
    out = _tests(acts, p)
    assert np.flatnonzero(out["zp_fourier"] == 1).tolist() == [300]


def test_small_primes_get_no_verdict():
    # at p = 5 a perfect fit ties its affine relabellings: ~p (p - 1) / p! = 1/6 of them
    out = _tests(_zp(5, 1)[:, None], 5)
    assert out["p"][0] > 0.1 and np.isnan(out["zp_fourier"][0])
    assert np.isnan(_tests(_zp(7, 1)[:, None], 7)["zp_fourier"][0])


def test_a_dead_neuron_has_no_tests():
    p = 13
    out = _tests(np.stack([np.full(p * p, 0.5), _zp(p, 2)], 1), p)
    for k in ("r2", "r2_null_q50", "p", "p_fw", "wrap", "zp_fourier"):
        assert np.isnan(out[k][0]), k
    assert out["zp_fourier"][1] == 1


def test_wrap_score_is_the_correlation_across_the_wrap():
    p = 11
    block = _block(p)
    t = _raw(p)
    # a neuron that is s on non-wrapping pairs and -s on wrapping ones: perfectly anti-correlated
    acts = np.where(t < p, t, -(t - p)).astype(float)[:, None]
    assert wrap_score(acts, block)[0] == pytest.approx(-1)
    assert wrap_score((t % p).astype(float)[:, None], block)[0] == pytest.approx(1)
