"""A run's torch thread count: decided once when it is created, recorded in variant.json and
reused when it resumes (bit-identical to an uninterrupted run at that count), whatever the
cores or load the resuming process sees; a different --threads is refused, the user's
OMP_NUM_THREADS wins and the switch is recorded; a record from before counts were kept loads."""

from __future__ import annotations

import json

import pytest
import torch

from tests.conftest import TINY_SPEC
from workbench.core import compute
from workbench.core.errors import UserError
from workbench.core.variant import parse_variant
from workbench.store import RunKey, Store
from workbench.training.trainer import plan_training, train

KEY = RunKey(*parse_variant(TINY_SPEC).key)


@pytest.fixture
def no_setting(no_thread_setting, monkeypatch):
    """No user setting (tests/conftest.py), 1 usable core (fast beside other jobs)."""
    monkeypatch.setattr(compute, "usable_cores", lambda: 1)


def _train(store: Store, epochs: int | None = None, extra: int | None = None) -> None:
    variant = parse_variant(TINY_SPEC)
    if extra is None:
        plan = plan_training(variant, store, epochs=epochs, schedule="0:20:10", eval_every=5)
    else:
        plan = plan_training(variant, store, extra_epochs=extra)
    train(plan, store, quiet=True)


def _record(store: Store) -> dict:
    return json.loads(store.variant_path(KEY).read_text())


def _same_run(a: Store, b: Store, epoch: int) -> bool:
    wa, wb = a.load_checkpoint(KEY, epoch), b.load_checkpoint(KEY, epoch)
    ma, mb = a.read_metrics(KEY), b.read_metrics(KEY)
    return all(torch.equal(wa[k], wb[k]) for k in wa) and all((ma[k] == mb[k]).all() for k in ma)


def test_a_resumed_run_keeps_its_recorded_count(no_setting, tmp_path, monkeypatch):
    straight, resumed = Store(tmp_path / "straight"), Store(tmp_path / "resumed")
    _train(straight, epochs=20)
    _train(straight, extra=20)
    _train(resumed, epochs=20)
    assert _record(resumed)["threads"] == 1 and _record(resumed)["threads_from"] == "cores"

    monkeypatch.setattr(compute, "usable_cores", lambda: 2)  # the machine changed: the default would be 2 now
    counts = []
    monkeypatch.setattr(torch, "set_num_threads", lambda n, real=torch.set_num_threads: (counts.append(n), real(n)))
    _train(resumed, extra=20)
    assert counts in ([], [1]) and torch.get_num_threads() == 1  # set once, before the loop, to the recorded 1
    record = _record(resumed)
    assert record["threads"] == 1 and record["threads_from"] == "cores" and "threads_before" not in record
    assert _same_run(straight, resumed, 40)  # resumed = uninterrupted, at that count, on this machine


def test_a_different_threads_is_refused_and_the_users_environment_recorded(no_setting, tmp_path, monkeypatch,
                                                                          capsys):
    store = Store(tmp_path)
    _train(store, epochs=20)
    before = store.variant_path(KEY).read_bytes()
    compute.ask_threads(2)
    with pytest.raises(UserError, match=r"trained with 1 torch thread\(s\)"):
        _train(store, extra=20)
    assert store.variant_path(KEY).read_bytes() == before and store.checkpoint_epochs(KEY)[-1] == 20

    monkeypatch.setenv("OMP_NUM_THREADS", "2")  # the user forces it: a warning, and the record says so
    _train(store, extra=2)
    assert "warning" in capsys.readouterr().err
    record = _record(store)
    assert (record["threads"], record["threads_from"]) == (2, "OMP_NUM_THREADS")
    assert record["threads_before"] == [{"threads": 1, "from": "cores", "to_epoch": 20}]


def test_a_record_from_before_thread_counts_resumes(no_setting, tmp_path):
    store = Store(tmp_path)
    _train(store, epochs=20)
    old = {k: v for k, v in _record(store).items() if not k.startswith("threads")}
    store.variant_path(KEY).write_text(json.dumps(old))
    assert store.read_record(KEY).threads is None
    _train(store, extra=2)
    record = _record(store)
    assert (record["threads"], record["threads_from"]) == (1, "cores")
    assert record["threads_before"] == [{"threads": None, "from": "not recorded", "to_epoch": 20}]
