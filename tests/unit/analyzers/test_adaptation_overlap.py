"""The MIRAS study's adaptation measure (issue 28, analyzers/adaptation_overlap.py) against hand-built
ground truth: planted shared top neurons overlap fully and beat the null, independent random
importances sit inside it, and the null's mean and 99th percentile are the hypergeometric ones."""

from __future__ import annotations

import math

import numpy as np
import pytest

from analyzers.adaptation_overlap import SETS, overlap_null, top_sets
from tests.unit.analyzers.test_multi_prime import _context
from workbench.core.analyzer import get_analyzer

N = 256  # neurons: k = 100 (the study's) is at most half of them


def _scaled(scale_of):
    """neurons(p, a, b) whose std at prime p is proportional to scale_of(p) [N] (a shared wave times the scale)."""
    def neurons(p, a, b):
        wave = np.cos(2 * np.pi * (a + 2 * b) / np.maximum(p, 1))[:, None]
        return wave * np.stack([scale_of(int(q)) for q in p])
    return neurons


def _planted(q):
    scale = np.random.default_rng(q).uniform(0.1, 1.0, N)
    scale[:100] += 10  # the same 100 neurons lead at every prime
    return scale


def _hypergeom_q99(n: int, k: int) -> int:
    pmf = [math.comb(k, x) * math.comb(n - k, k - x) / math.comb(n, k) for x in range(k + 1)]
    return int(np.searchsorted(np.cumsum(pmf), 0.99))


def test_planted_shared_neurons_overlap_fully_and_beat_chance():
    out = get_analyzer("adaptation_overlap").fn(_context(_scaled(_planted)))
    assert int(out["k"]) == 100 and (out["n_live"] == N).all()
    assert (np.sort(out["top"], axis=1) == np.arange(100)).all()  # the wave varies at every prime, even p = 2
    off = ~np.eye(len(out["primes"]), dtype=bool)
    assert (out["overlap"] == 100).all() and (out["jaccard"] == 1).all()
    np.testing.assert_allclose(out["chance"][off], 100 ** 2 / N, rtol=1e-6)  # hypergeometric mean k^2 / n
    assert (out["overlap_p"][off] <= 0.001 + 1e-9).all() and (out["null_q99"][off] < 60).all()
    names = list(out["set_names"])
    assert names == list(SETS)
    study = names.index("study 11+17+23")
    assert out["set_size"][study] == 3 and out["intersection"][study] == 100
    assert out["set_chance"][study] == pytest.approx(N * (100 / N) ** 3, rel=1e-6) and out["set_p"][study] <= 0.001 + 1e-9


def test_independent_importances_sit_inside_the_null():
    out = get_analyzer("adaptation_overlap").fn(_context(_scaled(lambda q: np.random.default_rng(100 + q).random(N))))
    off = ~np.eye(len(out["primes"]), dtype=bool)
    assert abs(out["overlap"][off].mean() - 100 ** 2 / N) < 3  # 36 pairs around the chance mean 39.1
    assert (out["overlap"][off] <= out["null_q99"][off]).mean() >= 0.9
    assert 0.2 < out["overlap_p"][off].mean() < 0.8


def test_null_matches_the_hypergeometric_and_counts_dead_neurons_out():
    rng = np.random.default_rng(0)
    live = np.ones((3, N), dtype=bool)
    live[2, 128:] = False  # prime 2 has half its neurons dead: its set is drawn from the other half
    importance = np.where(live, rng.random((3, N)), 0.0)
    member, top = top_sets(importance, 100)
    out = overlap_null(member, live, [np.array([0, 1, 2]), np.array([], dtype=np.int64)])
    assert out["chance"][0, 1] == pytest.approx(100 ** 2 / N)
    assert out["null_q99"][0, 1] in (_hypergeom_q99(N, 100) - 1, _hypergeom_q99(N, 100), _hypergeom_q99(N, 100) + 1)
    # against prime 2, a neuron is in its set with chance 100/128 if live: 128 * (100/128) * (100/256)
    assert out["chance"][0, 2] == pytest.approx(100 * 100 / N)
    assert out["set_chance"][0] == pytest.approx(128 * (100 / N) ** 2 * (100 / 128))
    assert np.isnan(out["intersection"][1]) and np.isnan(out["set_p"][1])
    assert not member[2, 128:].any() and (top[2] < 128).all()


def test_top_sets_break_ties_by_index_and_pad_past_the_live_neurons():
    member, top = top_sets(np.array([[1.0, 2.0, 2.0, 0.0, 0.0]]), 4)
    assert top.tolist() == [[1, 2, 0, -1]] and member.tolist() == [[True, True, True, False, False]]
