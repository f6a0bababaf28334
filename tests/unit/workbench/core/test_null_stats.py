"""Percentiles and bands against a null's draws (workbench.core.nulls), by hand."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.core.analyzer import register_analyzer
from workbench.core.nulls import null_band, null_percentile


def test_percentile_counts_draws_below_and_half_the_ties():
    draws = np.array([1.0, 2.0, 3.0, 4.0])
    assert null_percentile(5.0, draws) == 100.0
    assert null_percentile(0.0, draws) == 0.0
    assert null_percentile(2.5, draws) == 50.0
    assert null_percentile(2.0, draws) == pytest.approx(100 * 1.5 / 4)  # one below, one tie


def test_percentile_is_elementwise_and_ignores_non_finite_draws():
    draws = np.array([[0.0, 10.0], [1.0, np.nan], [2.0, 30.0]])  # [draw, element]
    got = null_percentile(np.array([1.5, 20.0]), draws)
    np.testing.assert_allclose(got, [100 * 2 / 3, 50.0])
    assert np.isnan(null_percentile(np.array([np.nan, 1.0]), draws)[0])
    assert np.isnan(null_percentile(1.0, np.full(3, np.nan)))


def test_percentile_refuses_draws_of_another_shape():
    with pytest.raises(ValueError, match="draw"):
        null_percentile(np.zeros(3), np.zeros((5, 2)))


def test_band_is_the_central_percentiles_per_element_or_pooled():
    draws = np.arange(101, dtype=float)[:, None] * np.array([1.0, 2.0])  # [draw, element]
    lo, hi = null_band(draws, 5, 95)
    np.testing.assert_allclose(lo, [5, 10])
    np.testing.assert_allclose(hi, [95, 190])
    lo, hi = null_band(draws, 0, 100, pool=True)
    assert (lo, hi) == (0.0, 200.0)
    lo, hi = null_band(np.full((4, 2), np.nan))
    assert np.isnan(lo).all() and np.isnan(hi).all()


@pytest.mark.parametrize("bad", [dict(null="shuffle", headlines=("x",)), dict(null="init"),
                                 dict(null="init", null_outputs=("names",), kinds={"names": "label"}),
                                 dict(null="init", scope="summary", headlines=("x",)),
                                 dict(null=("random", "random"), headlines=("x",)),
                                 dict(null=("permutation", "shuffle"), headlines=("x",))])
def test_a_null_is_declared_on_real_outputs_of_a_per_epoch_analyzer(bad):
    with pytest.raises(ValueError, match="null"):
        register_analyzer("test_bad_null", kind="weights", outputs={"x": (), "names": ("k",)}, **bad)(lambda ctx: {})
