"""Coarseness measures on pure-frequency maps, at every frequency: finer patterns never score coarser."""

from __future__ import annotations

import numpy as np
import pytest

from analyzers._maps import fourier_energy
from analyzers.coarseness import downsample_preserved, fft_low_ratio, grad_magnitude
from workbench.core.fourier import fourier_basis

ROUNDOFF = 1e-6  # the measures run in float32


def _pure_maps(p, shape):
    """[F, p, p] one map per frequency k = 1..(p-1)/2, of the given spatial form."""
    a, b = np.meshgrid(np.arange(p), np.arange(p), indexing="ij")
    w = 2 * np.pi * np.arange(1, (p - 1) // 2 + 1)[:, None, None] / p
    form = {"cos(a+b)": np.cos(w * (a + b)), "sin(a-b)": np.sin(w * (a - b) + 0.3),
            "cos(a)": np.cos(w * a + 1.1), "sin(b)": np.sin(w * b)}
    return form[shape].astype(np.float32)


SHAPES = ["cos(a+b)", "sin(a-b)", "cos(a)", "sin(b)"]


@pytest.mark.parametrize("p", [113, 17])
@pytest.mark.parametrize("shape", SHAPES)
def test_grad_magnitude_rises_with_every_frequency(p, shape):
    score = grad_magnitude(_pure_maps(p, shape))
    assert np.all(np.diff(score) > 0), f"not increasing at k = {np.flatnonzero(np.diff(score) <= 0) + 2}"


@pytest.mark.parametrize("ka, kb, phase", [(56, 56, 0.0), (3, -7, 0.4), (0, 20, 1.0), (56, -56, 0.3)])
def test_grad_magnitude_of_a_pure_wave_is_its_forward_difference(ka, kb, phase):
    # a forward difference of cos(2πk n/p + φ) has mean square 2 sin²(πk/p); the map's variance is 1/2
    p = 113
    a, b = np.meshgrid(np.arange(p), np.arange(p), indexing="ij")
    wave = np.cos(2 * np.pi * (ka * a + kb * b) / p + phase)[None]
    expected = 2 * np.sqrt(np.sin(np.pi * ka / p) ** 2 + np.sin(np.pi * kb / p) ** 2)
    assert grad_magnitude(wave)[0] == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("p", [113, 17])
@pytest.mark.parametrize("shape", SHAPES)
def test_downsample_preserved_never_rises_with_frequency_and_is_never_negative(p, shape):
    score = downsample_preserved(_pure_maps(p, shape))
    assert np.all(np.diff(score) <= ROUNDOFF), f"rises at k = {np.flatnonzero(np.diff(score) > ROUNDOFF) + 2}"
    assert score.min() >= -ROUNDOFF and score[0] > 0.9


@pytest.mark.parametrize("p", [113, 17])
def test_downsample_keeps_only_what_the_coarse_grid_can_hold(p):
    s = -(-p // 4)  # coarse points per axis
    band = (s - 1) // 2
    score = downsample_preserved(_pure_maps(p, "cos(a+b)"))
    assert np.all(score[:band] > 0.2)  # k = 1..band survive, less the linear interpolation loss
    np.testing.assert_allclose(score[band:], 0, atol=ROUNDOFF)  # the anti-aliasing filter removed them


def test_fft_low_ratio_is_one_then_zero_on_pure_frequencies():
    p = 113
    maps = _pure_maps(p, "cos(a)")
    score = fft_low_ratio(maps, fourier_energy(maps, fourier_basis(p)))
    radius = ((p - 1) // 2) / 4
    k = np.arange(1, (p - 1) // 2 + 1)
    np.testing.assert_allclose(score, (k <= radius).astype(float), atol=ROUNDOFF)
