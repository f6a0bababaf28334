"""The training clock (wall time at each evaluation): monotone, continued across a resume, shared by
stacked members, absent for runs trained before it, and never part of what exact resume compares."""

from __future__ import annotations

import numpy as np
import torch

from workbench.core.variant import parse_variant
from workbench.store import RunKey, Store
from workbench.store.clock import read_clock, write_clock
from workbench.training.trainer import plan_training, train, train_members

SPEC = "modular_addition:p=11,frac_train=0.5"
KEY = RunKey(*parse_variant(SPEC).key)
PLAN = {"schedule": "0:12:4", "eval_every": 2}


def _train(store: Store, epochs: int, spec: str = SPEC) -> None:
    train(plan_training(parse_variant(spec), store, epochs=epochs, **PLAN), store, quiet=True)


def test_a_fresh_run_records_a_monotone_clock_at_every_evaluation(tmp_path):
    store = Store(tmp_path)
    _train(store, 12)
    epochs, seconds = read_clock(store, KEY)
    np.testing.assert_array_equal(epochs, store.read_metrics(KEY)["epoch"])  # every evaluated epoch
    assert seconds[0] == 0.0 and np.all(np.diff(seconds) > 0)
    assert "clock" not in " ".join(store.read_metrics(KEY))  # not a metrics column


def test_a_resumed_run_continues_its_clock_and_stays_bit_identical(tmp_path):
    straight, resumed = Store(tmp_path / "a"), Store(tmp_path / "b")
    _train(straight, 12)
    _train(resumed, 8)
    before = read_clock(resumed, KEY)
    write_clock(resumed, KEY, [*before[0], 10], [*before[1], 1e9])  # a reading a kill left past the checkpoint
    _train(resumed, 12)
    epochs, seconds = read_clock(resumed, KEY)
    np.testing.assert_array_equal(epochs, read_clock(straight, KEY)[0])
    kept = epochs <= 8
    np.testing.assert_array_equal(seconds[kept], before[1])  # epochs <= 8: unchanged
    assert np.all(seconds[~kept] > before[1][-1]) and np.all(np.diff(seconds) > 0) and seconds[-1] < 1e9
    a, b = straight.read_metrics(KEY), resumed.read_metrics(KEY)
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    wa, wb = straight.load_checkpoint(KEY, 12), resumed.load_checkpoint(KEY, 12)
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


def test_a_run_without_a_clock_resumes_without_one(tmp_path):
    store = Store(tmp_path)
    _train(store, 8)
    store.clock_path(KEY).unlink()  # as a run trained before clocks were recorded
    _train(store, 12)
    assert read_clock(store, KEY) is None and store.checkpoint_epochs(KEY)[-1] == 12


def test_stacked_members_share_one_clock(tmp_path):
    store = Store(tmp_path)
    specs = [f"{SPEC},seed={s}" for s in (0, 1)]
    train_members([plan_training(parse_variant(s), store, epochs=8, **PLAN) for s in specs], store, quiet=True)
    clocks = [read_clock(store, RunKey(*parse_variant(s).key)) for s in specs]
    assert all(np.array_equal(c[0], clocks[0][0]) and np.array_equal(c[1], clocks[0][1]) for c in clocks)
