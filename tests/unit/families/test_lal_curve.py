"""bench/lal_curve.py (issue 27): the data-fraction curve read from a hand-built store."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from workbench.store import RunKey, Store
from workbench.sweep.spec import expand, load_sweep

BENCH = Path(__file__).resolve().parents[3] / "bench"
SPEC = """variant: "least_action:p=5,operation=add,model=mlp,hidden_dim=8,n_layers=1,seed=42"
params: {frac_train: [0.3, 0.5, 0.8], data_seed: "0-2"}
epochs: 1000
"""


@pytest.fixture(scope="module")
def curve():
    spec = importlib.util.spec_from_file_location("lal_curve", BENCH / "lal_curve.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _outcome(epoch, done=True, last=1000):
    return {"epoch": epoch, "last": last, "done": done, "final_test": 1.0 if epoch is not None else 0.0}


def test_seed_outcome_is_the_first_evaluation_at_the_threshold(curve):
    m = {"epoch": np.array([0, 100, 200, 300]), "test_acc": np.array([0.0, 0.96, 0.5, 0.97])}
    assert curve.seed_outcome(m, {"state": "done"}, 0.95) == {"epoch": 100, "last": 300, "done": True, "final_test": 0.97}
    assert curve.seed_outcome(m, None, 0.99)["epoch"] is None
    assert curve.seed_outcome(m, None, 0.99)["done"] is False


def test_critical_fraction_is_the_smallest_where_every_seed_groks(curve):
    by_frac = {0.3: {0: _outcome(None), 1: _outcome(None), 2: _outcome(None)},
               0.5: {0: _outcome(800), 1: _outcome(None), 2: _outcome(900)},
               0.6: {0: _outcome(500), 1: _outcome(700), 2: _outcome(600)},
               0.8: {0: _outcome(300), 1: _outcome(400), 2: _outcome(None)}}
    c = curve.critical_fraction(by_frac)
    assert c["critical"] == 0.6 and c["bracket"] == (0.5, 0.6)
    assert c["per_seed"] == {0: 0.5, 1: 0.6, 2: 0.5}
    assert c["non_monotone"] == [2] and c["open"] == []


def test_a_running_or_missing_seed_keeps_a_fraction_open(curve):
    by_frac = {0.5: {0: _outcome(None, done=False), 1: _outcome(200)}, 0.8: {0: _outcome(100)}}
    c = curve.critical_fraction(by_frac)
    assert c["critical"] is None and c["open"] == [0.5, 0.8]
    assert c["non_monotone"] == []  # an open fraction is no evidence against a seed
    assert curve.critical_fraction({0.5: {0: _outcome(None)}})["critical"] is None


def test_reads_a_store_and_reports_budget_misses(curve, tmp_path, capsys):
    spec_file = tmp_path / "curve.yaml"
    spec_file.write_text(SPEC)
    store = Store(tmp_path / "store")
    grok_at = {(0.5, 0): 700, (0.8, 0): 300, (0.8, 1): 400, (0.8, 2): 500}
    for v in expand(load_sweep(str(spec_file))):
        key = RunKey(*v.key)
        epoch = grok_at.get((v.params.frac_train, v.params.data_seed))
        epochs = np.arange(0, 1001, 100)
        test = (epochs >= epoch).astype(float) if epoch is not None else np.zeros(len(epochs))
        store.write_metrics(key, {"epoch": epochs, "test_acc": test, "train_acc": np.ones(len(epochs))}, 1000)
        store.write_status(key, 1000, 1000, "done")
    cells = curve.curve_cells(store, [str(spec_file)], 0.95)
    assert set(cells) == {5} and sorted(cells[5]) == [0.3, 0.5, 0.8]
    assert cells[5][0.5][0]["epoch"] == 700 and cells[5][0.5][1]["epoch"] is None
    assert curve.critical_fraction(cells[5])["critical"] == 0.8
    assert curve.main(["--spec", str(spec_file), "--store", str(tmp_path / "store")]) == 0
    out = capsys.readouterr().out
    assert "| 5 | 0.5 | 12 | 700 | not within 1,000 | not within 1,000 | 1/3 |" in out
    assert "critical fraction 0.8 (bracket (0.5, 0.8])" in out
    fig = curve.figure(cells, 0.95)
    assert any(t.name == "data_seed 0" and list(t.y) == [700, 300] for t in fig.data)


def test_an_empty_store_is_a_one_line_refusal(curve, tmp_path, capsys):
    spec_file = tmp_path / "curve.yaml"
    spec_file.write_text(SPEC)
    assert curve.main(["--spec", str(spec_file), "--store", str(tmp_path / "none")]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
