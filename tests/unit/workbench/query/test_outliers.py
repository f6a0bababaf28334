"""Outliers of a group: runs more than k robust (MAD-based) spreads from the median, on hand-built values."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.query.groups import Group
from workbench.query.outliers import K, group_outliers, outlier_line, outliers, robust_scale


def test_robust_scale_is_scaled_mad_and_ignores_one_wild_value():
    # median 10, deviations 0,1,1,2,1000 -> MAD 1 -> 1.4826
    assert robust_scale([10, 9, 11, 12, 1010]) == pytest.approx(1.4826)
    # more than half agree exactly: MAD 0, mean absolute deviation 1/5 -> 1.2533 * 0.2
    assert robust_scale([1.0, 1.0, 1.0, 1.0, 2.0]) == pytest.approx(1.2533 * 0.2)
    assert robust_scale([3.0, 3.0, 3.0]) == 0.0


def test_one_wild_run_is_found_and_signed():
    values = {"a": 10.0, "b": 9.0, "c": 11.0, "d": 12.0, "e": 1010.0}
    found = outliers(values)
    assert list(found) == ["e"] and found["e"] == pytest.approx((1010 - 11) / 1.4826)  # median 11, MAD 1
    low = outliers({**values, "e": -990.0})
    assert low["e"] == pytest.approx(-1000 / 1.4826)  # median 10


def test_the_threshold_is_k_spreads_exclusive():
    # median 0, MAD 1 (scale 1.4826): a run at exactly 3 spreads is not beyond k, just above it is
    base = {"a": -1.0, "b": 0.0, "c": 1.0, "d": -1.0, "e": 1.0}
    assert outliers({**base, "x": 3 * 1.4826 - 1e-9, "y": 0.0}) == {}
    assert list(outliers({**base, "x": 3 * 1.4826 + 1e-6, "y": 0.0})) == ["x"]
    assert list(outliers({**base, "x": 2.5 * 1.4826, "y": 0.0}, k=2)) == ["x"]
    assert K == 3


def test_mean_absolute_deviation_fallback_when_most_runs_agree():
    # four runs at 1.0, one at 0.3: MAD 0; scale 1.2533 * 0.7 / 5 -> the odd run is -3.99 spreads
    found = outliers({"s0": 1.0, "s1": 1.0, "s2": 1.0, "s3": 1.0, "s4": 0.3})
    assert list(found) == ["s4"] and found["s4"] == pytest.approx(-0.7 / (1.2533 * 0.14))
    # with three runs the same shape is -2.39 spreads: not an outlier at k=3
    assert outliers({"s0": 1.0, "s1": 1.0, "s2": 0.3}) == {}


def test_no_outliers_below_three_runs_or_when_all_agree():
    assert outliers({"a": 0.0, "b": 100.0}) == {}
    assert outliers({"a": 0.5, "b": 0.5, "c": 0.5, "d": 0.5}) == {}


@pytest.mark.parametrize("values, k", [({"a": 1.0, "b": float("nan"), "c": 1.0}, 3), ({"a": 1.0}, 0)])
def test_bad_input_raises(values, k):
    with pytest.raises(ValueError):
        outliers(values, k)


def test_group_outliers_skip_runs_missing_a_quantity():
    runs = ("f:seed=0", "f:seed=1", "f:seed=2", "f:seed=3", "f:seed=4")
    g = Group("f", "seed=0-4", {}, {}, 10, runs, {"seed": (0, 1, 2, 3, 4)},
              values={"test_acc": (0.99, 0.98, 1.0, 0.99, 0.2), "turn_epoch": (400.0, 9000.0, 410.0, 390.0)},
              missing=(("f:seed=1", "turn_epoch", "turn found no such epoch"),))
    found = group_outliers(g)
    # turn_epoch of seeds 0, 2, 3, 4 (seed 1 lacks it): 9000 belongs to seed 2, not to the 3rd run
    assert [(o.quantity, o.run) for o in found] == [("test_acc", "f:seed=4"), ("turn_epoch", "f:seed=2")]
    assert found[1].value == 9000.0 and found[1].median == pytest.approx(405.0)
    line = outlier_line(found, lambda spec: spec.split(":")[1])
    assert line.startswith("seed=4: test_acc 0.2 (") and "; seed=2: turn_epoch 9000 (+" in line


def test_the_threshold_is_the_normal_null_at_small_n_and_holds_its_rate():
    from workbench.query.outliers import null_threshold, threshold
    assert 15 < null_threshold(3) < 30 and 6 < null_threshold(5) < 10 and 3.5 < null_threshold(20) < 4.5
    assert threshold(5) == null_threshold(5) and threshold(5, k=50) == 50 and threshold(2) == float("inf")
    rng = np.random.default_rng(123)  # groups of 5 normal runs: an outlier about 5% of the time, not the 26% of k=3
    draws = rng.standard_normal((2000, 5))
    flagged = sum(bool(outliers({str(i): v for i, v in enumerate(row)}, threshold(5))) for row in draws)
    plain = sum(bool(outliers({str(i): v for i, v in enumerate(row)})) for row in draws)
    assert 0.02 < flagged / 2000 < 0.09 and plain / 2000 > 0.15
