"""Group-scope analysis (workbench.analysis.group) and the group_trajectories analyzer over synthetic runs."""

from __future__ import annotations

import numpy as np
import pytest

from analyzers.param_pca import pca_scores
from workbench.analysis.group import analyze_group, group_id
from workbench.analysis.pipeline import analyze
from workbench.core.analyzer import get_analyzer
from workbench.core.errors import UserError
from workbench.store import Store
from workbench.testing._analyzers import check_group_analyzer
from workbench.testing.synthetic import synthetic_run

EPOCHS = [0, 100, 200, 300, 400, 500]


def _spec(store: Store, key) -> str:
    return store.read_variant(key).spec


@pytest.fixture
def store(tmp_path) -> Store:
    return Store(tmp_path)


def test_runs_share_one_basis_and_a_run_without_snapshots_is_left_out_with_why(store):
    keys = [synthetic_run(store, epochs=EPOCHS, seed=s, analyzers=["param_snapshot"]) for s in (0, 1)]
    bare = synthetic_run(store, epochs=EPOCHS, seed=2, analyzers=["loss_accuracy"])
    specs = [_spec(store, k) for k in (*keys, bare)]
    result = analyze_group(store, specs)
    assert result.group == group_id(specs[::-1]) and result.computed == ["group_trajectories"]
    assert list(result.left_out["group_trajectories"]) == [specs[2]]
    out = store.read_group_artifact(result.group, "group_trajectories")
    assert list(out["runs"]) == specs[:2] and out["scores"].shape == (2, len(EPOCHS), 3)
    assert list(out["left_out_runs"]) == [specs[2]] and "param_snapshot" in str(out["left_out_why"][0])
    assert out["self_intersects"].shape == (2,) and np.all(out["path_length"] > 0)
    assert len(out["crossing_run"]) == int(out["n_crossings"].sum()) == len(out["crossing_points"])
    assert analyze_group(store, specs).computed == []  # up to date: nothing rewritten


def test_one_run_alone_is_its_own_pca_up_to_sign(store):
    key = synthetic_run(store, epochs=EPOCHS, seed=0, analyzers=["param_snapshot"])
    result = analyze_group(store, [_spec(store, key)])
    scores = store.read_group_artifact(result.group, "group_trajectories")["scores"][0]
    flat = np.stack([store.read_artifact(key, "param_snapshot", e)["flat"] for e in EPOCHS])
    own, _ = pca_scores(flat, 3)
    np.testing.assert_allclose(np.abs(scores), np.abs(own), rtol=1e-4, atol=1e-4 * np.abs(own).max())


def test_bad_groups_are_one_line_errors(store):
    key = synthetic_run(store, epochs=EPOCHS, seed=0, analyzers=["param_snapshot"])
    spec = _spec(store, key)
    with pytest.raises(UserError, match="no trained run"):
        analyze_group(store, [spec, "modular_addition:p=19"])
    with pytest.raises(UserError, match="not group analyzers"):
        analyze_group(store, [spec], analyzers="param_pca")
    with pytest.raises(UserError, match="several runs"):
        analyze(spec, store, analyzers="group_trajectories", quiet=True)


def test_group_trajectories_passes_the_analyzer_checks_on_a_tiny_run():
    check_group_analyzer(get_analyzer("group_trajectories"), "modular_addition")
