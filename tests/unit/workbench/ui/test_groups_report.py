"""`workbench report --groups`: several run groups side by side, with their spread and when each run reached a test accuracy."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.cli import main
from workbench.store import Store
from workbench.testing.synthetic import listed_run
from workbench.ui.groups_report import first_epochs, write_groups_report


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "store")
    for p, accs in ((17, (1.0, 1.0, 0.6)), (19, (1.0, 1.0, 1.0))):
        for seed, acc in enumerate(accs):
            listed_run(s, f"modular_addition:p={p},seed={seed}", test_acc=acc, onset=300 + 100 * seed)
    return s


def test_first_epochs_are_the_first_evaluation_at_or_above_each_threshold(store):
    key = next(k for k in store.runs() if "p=17" in k.variant and "seed=2" in k.variant)
    # test_acc rises linearly 0 -> 0.6 over epochs 0..1000 (0.06 per 100): >= 0.5 first at 900, 0.95 never
    assert first_epochs(store.read_metrics(key)) == {0.5: 900.0, 0.95: None}
    metrics = {"epoch": np.array([0, 10, 20]), "test_acc": np.array([0.2, 0.96, 0.4])}
    assert first_epochs(metrics, (0.5, 0.95, 0.99)) == {0.5: 10.0, 0.95: 10.0, 0.99: None}  # the first, not the last


def test_report_shows_each_group_its_spread_and_who_reached_what(store):
    path = write_groups_report(store, "lr=0.001", band="minmax")
    page = path.read_text()
    assert "2 run groups where lr=0.001" in page
    assert "0.8667 ± 0.23" in page and "1.000 ± 0" in page  # final test accuracy of p=17 (1, 1, 0.6) and of p=19
    assert "Against the first group" in page and "needs 2+ runs a side" not in page
    assert "seed=0: 1,000, seed=1: 1,000, seed=2: not within 1,000" in page  # p=17 at 0.95
    assert "2/3" in page and "(the 2 that reached it)" in page  # counted, not averaged
    assert "seed=0: 500, seed=1: 500, seed=2: 900" in page  # p=17 at 0.5
    assert "Every run the clause selects is in a group." in page


def test_cli_writes_it_and_refuses_bad_input_in_one_line(store, capsys, tmp_path):
    out = tmp_path / "grid.html"
    assert main(["report", "--groups", "", "--out", str(out), "--store", str(store.root)]) == 0
    assert out.is_file() and "2 run groups" in out.read_text()
    for args, words in ((["--groups", "p=23"], "no run group matches"),
                        (["--groups", "p=17 and"], "p=17 and"),
                        (["--groups", "p=17", "--draw", "runs"], "takes no VARIANT"),
                        (["--groups", "p=17", "modular_addition"], "takes no VARIANT")):
        capsys.readouterr()
        assert main(["report", *args, "--out", str(tmp_path / "no.html"), "--store", str(store.root)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and words in err and "Traceback" not in err, err
    assert not (tmp_path / "no.html").exists()
