"""Headline outputs (`register(headlines=...)`): read generically at a run's last analyzed checkpoint."""

from __future__ import annotations

import numpy as np

from workbench._io import save_npz
from workbench.markers import read_headlines
from workbench.store import RunKey, Store

KEY = RunKey("modular_addition", "p=7")


def test_headlines_come_from_the_last_analyzed_checkpoint(tmp_path):
    store = Store(tmp_path)
    for epoch, keys in ((10, [3]), (20, [1, 2])):
        save_npz({"key_freqs": np.array(keys), "key_rule": np.array("rule")}, store.artifact_path(KEY, "restricted_loss", epoch))
    assert read_headlines(store, KEY) == {"key_freqs": "1,2"}


def test_empty_and_corrupt_headlines(tmp_path):
    store = Store(tmp_path)
    save_npz({"key_freqs": np.zeros(0, dtype=np.int64)}, store.artifact_path(KEY, "restricted_loss", 5))
    assert read_headlines(store, KEY) == {"key_freqs": "none"}
    store.artifact_path(KEY, "restricted_loss", 9).write_bytes(b"not a zip")
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
