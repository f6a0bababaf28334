"""Runs on one shared PCA basis for the compare page: read from group_trajectories, or computed alike."""

from __future__ import annotations

import numpy as np

from workbench.analysis.group import analyze_group
from workbench.store import Store
from workbench.testing.synthetic import synthetic_run
from workbench.query.shared_paths import shared_paths

EPOCHS = [0, 100, 200, 300, 400]


def test_computed_basis_equals_the_analyzers_artifact_and_bare_runs_are_left_out(tmp_path):
    store = Store(tmp_path)
    keys = [synthetic_run(store, epochs=EPOCHS, seed=s, analyzers=["param_snapshot"]) for s in (0, 1)]
    bare = synthetic_run(store, epochs=EPOCHS, seed=2, analyzers=["loss_accuracy"])
    computed = shared_paths(store, [*keys, bare])
    assert list(computed.left_out) == [bare] and "param_snapshot" in computed.left_out[bare]
    [basis] = computed.bases
    assert basis.source == "computed" and [r.key for r in basis.runs] == keys
    assert basis.runs[0].scores.shape == (len(EPOCHS), 3) and list(basis.runs[0].epochs) == EPOCHS
    assert basis.explained[0] >= basis.explained[1] >= 0

    analyze_group(store, [store.read_variant(k).spec for k in keys])
    [stored] = shared_paths(store, keys).bases
    assert stored.source == "artifact" and [r.key for r in stored.runs] == keys
    for a, b in zip(basis.runs, stored.runs):
        np.testing.assert_allclose(a.scores, b.scores, rtol=1e-4, atol=1e-4 * np.abs(a.scores).max())
        assert a.crossing_epochs.shape == b.crossing_epochs.shape
        np.testing.assert_allclose(a.area_per_length, b.area_per_length, rtol=1e-3)
