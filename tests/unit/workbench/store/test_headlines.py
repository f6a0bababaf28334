"""Headline outputs (`register_analyzer(headlines=...)`): read generically at a run's last analyzed checkpoint."""

from __future__ import annotations

import re

import numpy as np
import pytest

from workbench.core.analyzer import _ANALYZERS, register_analyzer
from workbench.store import RunKey, Store
from workbench.store._io import save_npz
from workbench.store.markers import read_headlines

KEY = RunKey("modular_addition", "p=7")


def _keys(keys, source="blocks.0.mlp.hook_post") -> dict:
    """The headline outputs of a key_frequencies artifact: its strict keys, their source, each source's share."""
    return {"key_freqs": np.array(keys, dtype=np.int64), "key_source": np.array(source),
            "source_names": np.array([source, "logits"]), "explained": np.array([0.9, 0.25])}


def test_headlines_come_from_the_last_analyzed_checkpoint(tmp_path):
    store = Store(tmp_path)
    for epoch, keys in ((10, [3]), (20, [1, 2])):
        save_npz(_keys(keys), store.artifact_path(KEY, "key_frequencies", epoch))
    assert read_headlines(store, KEY) == {"key_freqs": "1,2", "key_source": "blocks.0.mlp.hook_post",
                                          "key_source_explained": "blocks.0.mlp.hook_post 0.9,logits 0.25"}


def test_empty_and_corrupt_headlines(tmp_path):
    store = Store(tmp_path)
    save_npz(_keys([]), store.artifact_path(KEY, "key_frequencies", 5))
    assert read_headlines(store, KEY)["key_freqs"] == "none"
    store.artifact_path(KEY, "key_frequencies", 9).write_bytes(b"not a zip")
    assert read_headlines(store, KEY) == {}  # the last one is unreadable: left out, never raised


def test_summary_headlines_are_read_from_the_summary_and_errors_reach_the_caller(tmp_path):
    store = Store(tmp_path)
    key = RunKey("universal_modular", "demo")
    save_npz({"alerted_primes": np.array([37, 41])}, store.summary_path(key, "prime_regressions"))
    assert read_headlines(store, key) == {"alerted_primes": "37,41"}
    store.summary_path(key, "prime_regressions").write_bytes(b"not a zip")
    seen = []
    assert read_headlines(store, key, on_error=seen.append) == {}
    assert len(seen) == 1 and "summary.npz" in str(seen[0])


def test_a_named_axis_labels_each_value_and_floats_read_to_three_digits(tmp_path):
    store = Store(tmp_path)  # effective_dim declares participation_ratio, over ("matrix",), as "participation_ratios"
    save_npz({"participation_ratio": np.array([12.345, 4.0], dtype=np.float32),
              "matrix_names": np.array(["embed.W_E", "unembed.W_U"])}, store.artifact_path(KEY, "effective_dim", 5))
    assert read_headlines(store, KEY) == {"participation_ratios": "embed.W_E 12.3,unembed.W_U 4"}


def test_a_headline_with_a_stored_null_states_its_percentile_per_value(tmp_path):
    store = Store(tmp_path)  # effective_dim declares a random null over participation_ratio
    save_npz({"participation_ratio": np.array([2.0, 9.0], dtype=np.float32),
              "matrix_names": np.array(["embed.W_E", "unembed.W_U"])}, store.artifact_path(KEY, "effective_dim", 5))
    draws = np.array([[5.0, 5.0], [6.0, 8.0], [7.0, 9.0], [8.0, 10.0]])  # [draw, matrix]
    store.write_null(KEY, "effective_dim", {"participation_ratio": draws, "null_kind": np.array("random")})
    assert read_headlines(store, KEY) == {"participation_ratios": "embed.W_E 2,unembed.W_U 9",
                                          "participation_ratios_null_pctl": "embed.W_E 0,unembed.W_U 62.5"}
    store.write_null(KEY, "effective_dim", {"participation_ratio": draws[:, :1], "null_kind": np.array("random")})
    assert "participation_ratios_null_pctl" not in read_headlines(store, KEY)  # a stale null of another shape


def test_a_headline_states_its_percentile_against_each_declared_null(tmp_path):
    store = Store(tmp_path)  # neuron_freq_clusters declares a permutation null and a random one beside it
    save_npz({"mean_dominant_frac": np.array(0.5, dtype=np.float32)},
             store.artifact_path(KEY, "neuron_freq_clusters", 5))
    store.write_null(KEY, "neuron_freq_clusters", {
        "mean_dominant_frac": np.array([0.1, 0.2, 0.3, 0.4]), "null_kind": np.array("permutation"),
        "random.mean_dominant_frac": np.array([0.4, 0.5, 0.6, 0.7]), "random.null_kind": np.array("random")})
    assert read_headlines(store, KEY) == {"neuron_fourier_frac": "0.5", "neuron_fourier_frac_null_pctl": "100",
                                          "neuron_fourier_frac_random_null_pctl": "37.5"}


def _never(ctx):
    return {}


@pytest.mark.parametrize("declared, message", [
    ({"headlines": {"dominant_freqs": "key_freqs"}}, "headline 'key_freqs' is already declared by 'key_frequencies'"),
    ({"headlines": ("nope",)}, "headlines must be among its outputs"),
    ({"scope": "summary", "trajectories": {"total_norm": ("x", None, "X")}}, "'total_norm' is already declared"),
    ({"scope": "summary", "trajectories": {"t": ("ranks", None, "X")}}, "trajectories must be"),  # not over epochs
    ({"scope": "summary", "trajectories": {"t": ("table", None, "X")}}, "trajectories must be"),  # 2-D needs a column
    ({"scope": "summary", "trajectories": {"t": ("x", "W_E", "X")}}, "trajectories must be"),  # 1-D has none
    ({"trajectories": {"t": ("x", None, "X")}}, "trajectories must be"),  # per-epoch analyzers have no trajectory
])
def test_headline_and_trajectory_declarations_are_checked_at_registration(declared, message):
    outputs = {"dominant_freqs": ("rank",), "ranks": ("rank",), "x": ("epoch",), "table": ("epoch", "matrix"),
               "matrix_names": ("matrix",)}
    with pytest.raises(ValueError, match=re.escape(message)):
        register_analyzer("never_registered", kind="trajectory", outputs=outputs, **declared)(_never)
    assert "never_registered" not in _ANALYZERS
