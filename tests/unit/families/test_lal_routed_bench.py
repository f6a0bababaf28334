"""bench/lal_routed.py (issue 27) on a hand-built store: the table at a common epoch, and a one-line refusal."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from workbench.store import Store
from workbench.training.config import load_config

BENCH = Path(__file__).resolve().parents[3] / "bench"


def _load():
    spec = importlib.util.spec_from_file_location("lal_routed", BENCH / "lal_routed.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_table_compares_seeds_at_the_epoch_all_reached(tmp_path, capsys):
    bench, store = _load(), Store(tmp_path / "s")
    recipe = load_config("lal_validate").recipe
    for seed, last in ((0, 1500), (1, 1000), (2, 1200)):
        epochs = np.arange(0, last + 1, 100)
        test = np.where(epochs >= 900, 0.1 * (seed + 1), 0.0)
        store.write_metrics(bench._key("routed_study", seed, recipe),
                            {"epoch": epochs, "train_acc": np.ones(len(epochs)), "test_acc": test}, last)
    assert bench.main(["--store", str(tmp_path / "s")]) == 0
    out = capsys.readouterr().out
    assert "| routed_study | 0 | 1,500 | 1,000 | 1.000 | 0.100 | 0.100 | never |" in out
    assert "| routed_study | mean over 3 | | 1,000 | | 0.200 ± 0.100 [0.100, 0.300] | | |" in out


def test_no_runs_is_a_one_line_refusal(tmp_path, capsys):
    assert _load().main(["--store", str(tmp_path / "none")]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
