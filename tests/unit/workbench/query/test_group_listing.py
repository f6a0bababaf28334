"""`workbench list --group` and `workbench.list_groups` over a store of fake finished runs."""

from __future__ import annotations

import pytest

import workbench
from workbench.cli import main
from workbench.store import Store
from workbench.testing.synthetic import listed_run


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "store")
    for seed, acc, onset in ((0, 0.6, 300), (1, 0.8, 500), (2, 1.0, 400)):
        listed_run(s, f"modular_addition:p=17,seed={seed}", test_acc=acc, onset=onset)
    listed_run(s, "modular_addition:p=19,seed=0", test_acc=1.0, onset=600)
    listed_run(s, "modular_addition:p=19,seed=1", test_acc=1.0)  # not analyzed
    return s


def test_api_returns_one_group_per_setting(store):
    table = workbench.list_groups(store)
    assert [(g.params["p"], g.n) for g in table] == [(17, 3), (19, 2)]
    acc = table[0].stats["test_acc"]
    assert acc.mean == pytest.approx(0.8) and acc.std == pytest.approx(0.2)
    assert acc.lo >= 0.6 and acc.hi <= 1.0 and acc.lo < 0.8 < acc.hi
    assert table[0].stats["turn_onset_epoch"].mean == pytest.approx(400)
    rec = table.records()[0]
    assert rec["n"] == 3 and rec["test_acc_mean"] == pytest.approx(0.8)


def test_where_filters_groups_on_params_means_and_n(store):
    assert [g.params["p"] for g in workbench.list_groups(store, where="test_acc<0.9")] == [17]
    assert [g.params["p"] for g in workbench.list_groups(store, where="n=2")] == [19]
    assert [g.params["p"] for g in workbench.list_groups(store, where="p=19 or turn_onset>350")] == [17, 19]


def test_cli_prints_rows_within_120_columns(store, capsys):
    assert main(["list", "--group", "--store", str(store.root)]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if "  n=" in line]
    assert len(rows) == 2 and rows[0].startswith("  p=17 seed=0-2  n=3  test_acc 0.8000 ± 0.20")
    assert "turn_onset 400.0 ± 100" in rows[0]
    assert "left out of turn_onset_epoch, turn_midpoint_epoch: seed=1 (turn not run)" in out
    assert all(len(line) <= 120 for line in out.splitlines())


@pytest.mark.parametrize("args, says", [
    (["--where", "p=17 and"], "ends too soon"),
    (["--where", "nope=3"], "unknown field 'nope'"),
    (["--sort", "p"], "--sort orders runs"),
])
def test_bad_group_options_are_one_line_exit_2(store, capsys, args, says):
    assert main(["list", "--group", "--store", str(store.root), *args]) == 2
    err = capsys.readouterr().err.strip()
    assert says in err and "\n" not in err


def test_runs_in_no_group_are_filtered_by_their_own_fields(store, monkeypatch):
    from workbench.query import group_listing
    from workbench.store.index import run_rows
    rows = run_rows(store)
    cut = {**rows[0], "spec": "modular_addition:p=23,seed=0", "variant": "p=23,seed=0",
           "params": {**rows[0]["params"], "p": 23}, "checkpoints": [0, 100]}  # stopped at 100 of 1000
    monkeypatch.setattr(group_listing, "run_rows", lambda s: [*rows, cut])
    assert workbench.list_groups(store).outside == [("modular_addition:p=23,seed=0", "trained 100 of 1000 epochs")]
    assert workbench.list_groups(store, where="p=17").outside == []
    assert len(workbench.list_groups(store, where="p=23").outside) == 1


def test_a_group_with_an_outlier_names_it_in_one_line(tmp_path, capsys):
    s = Store(tmp_path / "store")
    for seed, acc in enumerate((0.99, 0.98, 1.0, 0.99, 0.2)):
        listed_run(s, f"modular_addition:p=17,seed={seed}", test_acc=acc, onset=400 + 10 * seed)
    for seed in range(3):
        listed_run(s, f"modular_addition:p=19,seed={seed}", test_acc=1.0, onset=500)
    assert main(["list", "--group", "--store", str(s.root)]) == 0
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.startswith("    outliers (")]
    assert len(lines) == 1 and lines[0].startswith("    outliers (> 7.8 MAD spreads from the median, the 95% null at n=5): seed=4: test_acc 0.2 (")
    assert "1.4826" in out and all(len(line) <= 120 for line in out.splitlines())
