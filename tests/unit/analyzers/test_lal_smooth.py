"""The least-action study's smoothness definition (issue 27) against hand-built grids, and the
analyzer that reports it beside ours: what it scores for a constant, a one-row grid, the
exact targets and random labels (its null)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from _helpers import epoch_ctx

from analyzers._lal_smooth import class_index_grid, dc_floor, study_mask, study_null, study_smoothness
from workbench.core.analyzer import get_analyzer


def _grid(p: int):
    return np.meshgrid(np.arange(p), np.arange(p), indexing="ij")


@pytest.mark.parametrize("p, bins", [(17, 49), (113, 2453)])
def test_mask_is_the_studys_circle_in_cycles_per_sample(p, bins):
    freqs = torch.fft.fftfreq(p)  # the study's construction: sqrt(fx^2 + fy^2) <= K / p
    fx, fy = torch.meshgrid(freqs, freqs, indexing="ij")
    theirs = (torch.sqrt(fx ** 2 + fy ** 2) <= (p // 4) / p).numpy()
    assert study_mask(p).sum() == bins and np.array_equal(study_mask(p), theirs) and study_mask(p)[0, 0]


@pytest.mark.parametrize("c, score", [(3, 1.0), (16, 1.0), (0, 0.0)])
def test_a_constant_class_scores_one_unless_it_is_class_zero(c, score):
    assert study_smoothness(np.full((17, 17), float(c))) == pytest.approx(score, abs=1e-9)


def test_a_grid_lit_on_one_row_has_a_flat_spectrum_on_one_axis():
    grid = np.zeros((17, 17))
    grid[0, :] = 1.0  # FFT2 = 17 on every k_a at k_b = 0: the circle keeps 2K + 1 = 9 of those 17 bins
    assert study_smoothness(grid) == pytest.approx(9 / 17, abs=1e-9)


@pytest.mark.parametrize("p", [17, 113])
def test_the_dc_floor_is_the_zero_frequency_share_of_a_balanced_grid(p):
    a, b = _grid(p)
    power = np.abs(np.fft.fft2((a + b) % p)) ** 2  # every label p times: Parseval gives the floor exactly
    assert power[0, 0] / power.sum() == pytest.approx(dc_floor(p), rel=1e-12)
    assert dc_floor(17) == pytest.approx(0.727, abs=1e-3)


def test_random_labels_score_near_the_exact_targets_and_multiply_below_them():
    a, b = _grid(17)
    add, multiply = study_smoothness((a + b) % 17), study_smoothness((a * b) % 17)
    null_mean, null_sd = study_null(17)
    assert add == pytest.approx(0.939, abs=1e-3) and multiply == pytest.approx(0.767, abs=1e-3)
    assert null_mean == pytest.approx(0.773, abs=0.01) and 0.005 < null_sd < 0.03
    assert multiply < null_mean < add  # the exact multiply table scores below random labels
    assert study_smoothness((a + b + 1) % 17) == pytest.approx(add, abs=1e-9)  # every answer wrong, same score
    assert study_null(17) == (null_mean, null_sd)  # seeded


def test_class_index_grid_refuses_rows_that_miss_pairs():
    with pytest.raises(ValueError, match="cover 2 of the 9"):
        class_index_grid(np.ones(2), np.array([0, 1]), np.array([0, 1]), 3)


def test_analyzer_scores_a_constant_model_one_in_the_studys_definition_and_undefined_in_ours():
    p = 17
    logits = np.zeros((p * p, 3, p), np.float32)
    logits[:, 2, 5] = 30.0  # every pair answered 5: test accuracy 1/17
    out = get_analyzer("spectral_smoothness").fn(epoch_ctx(None, p, logits=logits))
    assert float(out["smoothness_study"]) == pytest.approx(1.0)
    assert np.isnan(float(out["smoothness"]))  # ours leaves DC out: a constant has no power left to share
    assert float(out["smoothness_study_soft"]) == pytest.approx(1.0, abs=1e-9)
    assert float(out["study_target"]) == pytest.approx(0.939, abs=1e-3)
    assert float(out["study_null_mean"]) == pytest.approx(0.773, abs=0.01) and int(out["study_k"]) == 4


def test_analyzer_on_the_exact_model_and_on_uniform_logits():
    p = 17
    a, b = np.divmod(np.arange(p * p), p)
    exact = np.zeros((p * p, 3, p), np.float32)
    exact[np.arange(p * p), 2, (a + b) % p] = 30.0
    out = get_analyzer("spectral_smoothness").fn(epoch_ctx(None, p, logits=exact))
    assert float(out["smoothness_study"]) == pytest.approx(float(out["study_target"]), abs=1e-9)
    uniform = get_analyzer("spectral_smoothness").fn(epoch_ctx(None, p))  # argmax ties -> class 0 everywhere
    assert float(uniform["smoothness_study"]) == pytest.approx(0.0, abs=1e-9)
    assert float(uniform["smoothness_study_soft"]) == pytest.approx(1.0, abs=1e-9)  # expected index constant (p-1)/2
