"""Spread and difference tests against numbers worked out by hand."""

import math

import numpy as np
import pytest

from workbench.query import stats


def test_spread_mean_std_range():
    s = stats.spread([1, 2, 3, 4])
    assert (s.n, s.mean, s.min, s.max) == (4, 2.5, 1.0, 4.0)
    assert s.std == pytest.approx(math.sqrt(5 / 3))  # squared deviations 2.25+0.25+0.25+2.25 over n-1=3


def test_spread_of_one_run_has_no_std_and_a_point_interval():
    s = stats.spread([7.0])
    assert math.isnan(s.std) and (s.lo, s.hi) == (7.0, 7.0)
    assert s.brief() == "7.000"


def test_spread_refuses_nothing_and_nan():
    for bad in ([], [1.0, float("nan")]):
        with pytest.raises(ValueError):
            stats.spread(bad)


def test_bootstrap_of_two_values_spans_them():
    # resampled means of [0, 1] are 0, 0.5, 1 with probability 1/4, 1/2, 1/4: the 2.5th
    # percentile is 0 and the 97.5th is 1; the central 40% (30th..70th) is 0.5 alone
    assert stats.bootstrap_interval([0.0, 1.0]) == (0.0, 1.0)
    assert stats.bootstrap_interval([0.0, 1.0], level=0.4) == (0.5, 0.5)


def test_bootstrap_matches_the_normal_width_for_many_values():
    # 0..99: population std sqrt((100^2-1)/12) = 28.866, so the mean's 95% interval is
    # 49.5 ± 1.96 * 28.866 / sqrt(100) = 49.5 ± 5.658
    lo, hi = stats.bootstrap_interval(np.arange(100.0))
    assert (hi - lo) / 2 == pytest.approx(5.658, rel=0.05)
    assert (lo + hi) / 2 == pytest.approx(49.5, abs=0.3)


def test_bootstrap_is_fixed_by_its_seed():
    x = [0.3, 0.9, 0.1, 0.5]
    assert stats.bootstrap_interval(x) == stats.bootstrap_interval(x)
    assert stats.spread(x).lo == stats.bootstrap_interval(x)[0]


def test_welch_p_by_hand():
    # means 3 and 6, variances 2.5 and 10: t = -3 / sqrt(2.5/5 + 10/5) = -1.8974,
    # Welch df = 2.5^2 / (0.5^2/4 + 2^2/4) = 5.882; two-sided p of t on 5.882 df
    from scipy.stats import t
    assert stats.welch_p([1, 2, 3, 4, 5], [2, 4, 6, 8, 10]) == pytest.approx(2 * t.sf(3 / math.sqrt(2.5), 6.25 / 1.0625))
    assert stats.welch_p([1, 2, 3, 4, 5], [2, 4, 6, 8, 10]) == pytest.approx(0.1075, abs=1e-4)


def test_welch_undefined_without_variance_or_values():
    assert math.isnan(stats.welch_p([1, 1], [2, 2]))
    assert math.isnan(stats.welch_p([1], [2, 3]))


def test_permutation_exact_three_a_side():
    # 20 ways to pick 3 of 6; only the observed split and its mirror reach |diff| = 3
    p, exact = stats.permutation_p([1, 2, 3], [4, 5, 6])
    assert exact and p == pytest.approx(2 / 20)


def test_three_seeds_a_side_never_differ_four_can():
    d3 = stats.compare([1, 2, 3], [4, 5, 6])  # Welch t = 3/sqrt(2/3) = 3.674 on 4 df: p = 0.0213
    assert d3.welch_p == pytest.approx(0.02131, abs=1e-4)
    assert d3.verdict == "within spread"  # the permutation p is 0.1 at best
    d4 = stats.compare([0, 0, 0, 0], [1, 1, 1, 1])  # 2 of C(8,4)=70; Welch undefined (no variance)
    assert d4.permutation_p == pytest.approx(2 / 70) and d4.verdict == "differs"


def test_overlapping_groups_are_within_spread():
    d = stats.compare([0.1, 0.5, 0.9, 0.3, 0.7], [0.2, 0.6, 0.4, 0.8, 0.5])
    assert d.verdict == "within spread" and d.permutation_p > 0.5 and d.exact


def test_many_runs_draw_relabellings():
    a, b = np.arange(10.0), np.arange(10.0) + 20  # C(20,10) = 184,756 > EXACT_LIMIT
    d = stats.compare(a, b)
    # the observed split is 2 of 184,756: a few draws may hit it or its mirror
    assert not d.exact and d.permutation_p < 10 / stats.PERMUTATIONS
    assert d.verdict == "differs" and "permutation p" in d.brief()


def test_bootstrap_band_is_the_interval_at_each_point():
    # column 0 holds runs 0 and 1 (means of resamples 0, 0.5, 1: the interval spans 0..1); column 1 never varies
    lo, hi = stats.bootstrap_band([[0.0, 5.0], [1.0, 5.0]])
    assert lo.tolist() == [0.0, 5.0] and hi.tolist() == [1.0, 5.0]


def test_brief_says_when_welch_is_undefined():
    assert stats.compare([1, 1, 1, 1], [2, 2, 2, 2]).brief() == \
        "differs (Welch n/a: no variance, permutation p=0.029 exact)"
