"""`workbench analyze --group CLAUSE`: group analyzers over the run groups `list --group` shows."""

from __future__ import annotations

import pytest

from workbench.analysis.group import group_id
from workbench.cli import main
from workbench.store import Store
from workbench.testing.synthetic import synthetic_run

EPOCHS = [0, 100, 200, 300]


@pytest.fixture
def store(tmp_path) -> Store:
    s = Store(tmp_path / "store")
    for seed in (0, 1, 2):
        synthetic_run(s, epochs=EPOCHS, seed=seed, analyzers=["param_snapshot"])
    return s


def _specs(store: Store) -> list[str]:
    return [store.read_variant(k).spec for k in store.runs()]


def test_each_matching_group_gets_its_artifact(store, capsys):
    assert main(["analyze", "--group", "n=3", "--store", str(store.root)]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    gid = group_id(_specs(store))
    assert len(out) == 1 and "(n=3), group " + gid in out[0] and "group_trajectories.npz" in out[0]
    arrays = store.read_group_artifact(gid, "group_trajectories")
    assert sorted(arrays["runs"]) == sorted(_specs(store)) and arrays["scores"].shape[:2] == (3, len(EPOCHS))
    assert main(["analyze", "--group", "all", "--store", str(store.root)]) == 0
    assert capsys.readouterr().out.strip().endswith(": up to date")


@pytest.mark.parametrize("args, says", [
    (["--group", "n=3 and"], "ends too soon"),
    (["--group", "nope=1"], "unknown field 'nope'"),
    (["--group", "n=7"], "no run group matches 'n=7'"),
    (["--group", " "], "--group ' ' is empty"),
    (["--group", "all", "--analyzers", "param_pca"], "not group analyzers"),
    (["--group", "all", "--epochs", "0"], "takes no --epochs"),
    (["modular_addition:p=7", "--group", "all"], "takes no VARIANT"),
])
def test_bad_group_input_is_one_line_exit_2_and_writes_nothing(store, capsys, args, says):
    assert main(["analyze", *args, "--store", str(store.root)]) == 2
    err = capsys.readouterr().err.strip()
    assert says in err and "\n" not in err
    assert not (store.root / ".groups").exists()


def test_analyzers_lists_the_group_analyzers_as_group_scope(capsys):
    assert main(["analyzers"]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines()]
    assert ["group_trajectories", "trajectory", "group"] == next(r[:3] for r in rows if r[0] == "group_trajectories")
