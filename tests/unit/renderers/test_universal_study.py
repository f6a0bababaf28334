"""The study-measure views (issue 28) on hand-built artifacts: groups, baselines, the study's
example primes, and the SNR-vs-null counts in the title."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.core.view import get_view

PRIMES = np.array([5, 7, 11, 13, 17, 71, 101])
GROUP = np.array([0, 0, 0, 0, 1, 1, 2])


def test_accuracy_sweep_marks_groups_baselines_and_the_study_examples():
    acc = np.array([1, 1, 0.9, 0.8, 0.5, 0.3, 0.1], dtype=np.float32)
    fig = get_view("accuracy_sweep").render({"primes": PRIMES, "group": GROUP, "accuracy": acc,
                                             "group_accuracy": np.array([0.925, 0.4, 0.1, np.nan], dtype=np.float32)})
    by_name = {t.name: t for t in fig.data}
    assert list(by_name["seen"].x) == [5, 7, 11, 13] and list(by_name["unseen"].x) == [17, 71]
    assert list(by_name["extrapolation"].x) == [101] and "below range" not in by_name
    assert by_name["raw-sum baseline (p+1)/2p"].y[3] == pytest.approx(14 / 26)
    assert by_name["chance 1/p"].y[-1] == pytest.approx(1 / 101)
    assert sorted(a.x for a in fig.layout.annotations) == [13, 71, 101]
    assert "seen 0.93, unseen 0.40, extrapolation 0.10" in fig.layout.title.text.replace("<br>", " ")  # wrapped


def test_study_snr_null_counts_primes_above_the_null_and_wrap_consistent():
    n = len(PRIMES)
    arrays = {"primes": PRIMES, "group": GROUP, "neuron": np.arange(n), "freq": np.ones(n, dtype=np.int64),
              "snr": np.array([1, 0.9, 0.8, 0.7, 0.1, 0.75, 0.05], dtype=np.float32),
              "snr_null_q50": np.full(n, 0.1, dtype=np.float32), "snr_null_q99": np.full(n, 0.3, dtype=np.float32),
              "snr_p": np.array([0.17, 0.001, 0.001, 0.001, 0.6, 0.001, 0.8], dtype=np.float32),
              "wrap": np.array([1, 1, 1, 0.95, 0.2, 0.05, np.nan], dtype=np.float32)}
    fig = get_view("study_snr_null").render(arrays)
    assert "at 4 of 7 primes, 3 also wrap-consistent" in fig.layout.title.text.replace("<br>", " ")
    open_unseen = next(t for t in fig.data if t.name == "unseen (wrap < 0.8)")
    assert list(open_unseen.x) == [17, 71] and open_unseen.marker.symbol == "circle-open"
