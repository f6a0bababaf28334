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


def _overlap_arrays() -> dict:
    n = 3
    overlap = np.array([[100, 80, 40], [80, 100, 38], [40, 38, 100]], dtype=np.float32)
    arrays = {"primes": np.array([11, 17, 23]), "group": np.array([0, 1, 0]), "k": np.asarray(100),
              "overlap": overlap, "jaccard": overlap / (200 - overlap), "chance": np.full((n, n), 39.06, dtype=np.float32),
              "null_q99": np.full((n, n), 48.0, dtype=np.float32),
              "overlap_p": np.array([[1, 0.001, 0.4], [0.001, 1, 0.6], [0.4, 0.6, 1]], dtype=np.float32),
              "set_names": np.array(["seen", "unseen", "extrapolation", "all", "study 11+17+23"]),
              "intersection": np.array([40, 100, np.nan, 30, 30], dtype=np.float32),
              "set_chance": np.array([39.06, 100, np.nan, 5.96, 5.96], dtype=np.float32),
              "set_null_q99": np.array([48, 100, np.nan, 12, 12], dtype=np.float32),
              "set_p": np.array([0.4, 1, np.nan, 0.001, 0.001], dtype=np.float32), "set_size": np.array([2, 1, 0, 3, 3])}
    return arrays


def _title(fig) -> str:
    """The title as read: renderers wrap long titles with <br> (renderers/_text.py)."""
    return fig.layout.title.text.replace("<br>", " ")


def test_adaptation_overlap_draws_the_null_and_counts_pairs_above_it():
    fig = get_view("adaptation_overlap").render(_overlap_arrays())
    assert "1 of 3 prime pairs share more than chance" in _title(fig) and "Top-100" in _title(fig)
    heat = fig.data[0]
    assert heat.text[0][1] == "80*" and heat.text[0][2] == "40" and heat.z[0][1] == pytest.approx(80 - 39.06)
    by_name = {t.name: t for t in fig.data[1:]}
    assert list(by_name["observed"].x) == ["seen (2)", "unseen (1)", "all (3)", "study 11+17+23 (3)"]  # empty set left out
    assert list(by_name["null 99th pct"].y) == [48, 100, 12, 12] and by_name["chance mean"].y[-1] == pytest.approx(5.96)
    assert "untrained" not in _title(fig)  # no random null stored: nothing claimed about it


def test_adaptation_overlap_reads_the_trained_overlap_against_untrained_networks():
    arrays = _overlap_arrays()
    untrained = np.full((16, 3, 3), 90.0)  # untrained networks overlap more than the trained 80, 40, 38
    untrained[:, 0, 1] = untrained[:, 1, 0] = np.linspace(60, 75, 16)  # except the pair (11, 17)
    arrays["null.adaptation_overlap.overlap"] = untrained
    arrays["null.adaptation_overlap.intersection"] = np.tile([[60, 100, np.nan, 70, 70]], (16, 1))
    fig = get_view("adaptation_overlap").render(arrays)
    assert _title(fig).endswith(", 1 more than untrained networks")
    band = next(t for t in fig.data if t.name == "untrained networks, 95%")
    assert list(band.x) == ["seen (2)", "unseen (1)", "all (3)", "study 11+17+23 (3)"] and list(band.y) == [60, 100, 70, 70]
    assert "untrained networks, 95%: 60–75" in fig.data[0].customdata[0][1]
