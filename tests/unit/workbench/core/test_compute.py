"""Threads under contention (issue 24 item 5): the rule, the user's setting winning, the busy
count, and results that do not depend on the thread count; the device check."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
import torch

from workbench.core import compute
from workbench.core.compute import busy_tasks, check_device, choose_threads, use_threads
from workbench.core.errors import UserError


@pytest.fixture
def untouched(monkeypatch):
    """No user setting in the environment, and no count set by the workbench yet; torch's restored after."""
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", compute.THREADS_ENV):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(compute, "_set_by_us", None)
    monkeypatch.setattr(compute, "_pinned", None)
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize("processes, cores, busy, threads", [
    (1, 2, 0, 2),  # idle: every core
    (1, 2, 1, 1),
    (1, 2, 8, 1),  # load 8 on 2 cores: one thread, never torch's default of 2
    (1, 16, 3, 13),
    (4, 16, 0, 4),  # four workers share the cores
    (4, 16, 12, 1),
    (8, 2, 0, 1),  # more workers than cores: one thread each, at least one
])
def test_the_rule(processes, cores, busy, threads):
    assert choose_threads(processes, cores=cores, busy=busy) == threads
    assert processes * threads <= max(cores, processes)  # never more threads in all than cores (or one each)


def test_busy_counts_competing_cpu_bound_processes():
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(3)]
    try:
        time.sleep(0.5)
        assert busy_tasks() >= 3
    finally:
        for p in spinners:
            p.kill()
            p.wait()


def test_the_rule_is_applied_without_a_user_setting(untouched, monkeypatch):
    monkeypatch.setattr(compute, "busy_tasks", lambda samples=5: 99)
    assert use_threads() == 1 and torch.get_num_threads() == 1
    monkeypatch.setattr(compute, "busy_tasks", lambda samples=5: 0)
    monkeypatch.setattr(compute, "usable_cores", lambda: 2)
    assert use_threads() == 2 and torch.get_num_threads() == 2
    assert use_threads(processes=2) == 1


def test_the_users_setting_wins(untouched, monkeypatch):
    monkeypatch.setattr(compute, "busy_tasks", lambda samples=5: 99)
    torch.set_num_threads(2)
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert use_threads() == 2 and torch.get_num_threads() == 2  # OMP_NUM_THREADS: torch already holds it
    monkeypatch.delenv("OMP_NUM_THREADS")
    monkeypatch.setenv(compute.THREADS_ENV, "3")
    assert use_threads() == 3 and torch.get_num_threads() == 3  # WORKBENCH_THREADS, whatever the load
    monkeypatch.delenv(compute.THREADS_ENV)
    torch.set_num_threads(2)  # the user's own call after the workbench set 3
    assert use_threads() == 2 and torch.get_num_threads() == 2
    monkeypatch.setenv(compute.THREADS_ENV, "many")
    with pytest.raises(UserError, match="WORKBENCH_THREADS"):
        use_threads()


def test_a_pinned_count_is_kept(untouched, monkeypatch):
    monkeypatch.setattr(compute, "busy_tasks", lambda samples=5: 0)
    compute.pin_threads(1)
    assert use_threads() == 1 and torch.get_num_threads() == 1


def test_a_governed_loop_follows_the_load(untouched, monkeypatch):
    busy = iter([0, 0, 0, 9, 9, 9, 0, 0, 0])
    monkeypatch.setattr(compute, "busy_tasks", lambda samples=5: next(busy))
    monkeypatch.setattr(compute, "usable_cores", lambda: 2)
    monkeypatch.setattr(compute, "GOVERN_EVERY_S", 0.0)
    step = compute.governed(torch.get_num_threads)
    seen = [step() for _ in range(9)]
    assert seen[0] == 2 and 1 in seen and seen[-1] == 2  # down when others run, back up when they stop
    monkeypatch.setenv(compute.THREADS_ENV, "1")
    use_threads()  # as an entry point does
    assert all(step() == 1 for _ in range(3))  # the user's count is never governed


def _train(store_root, threads: int) -> dict:
    from tests.conftest import TINY_SPEC
    from workbench.core.variant import parse_variant
    from workbench.store import RunKey, Store
    from workbench.store._io import load_npz, load_safetensors
    from workbench.training.trainer import plan_training, train

    compute.pin_threads(threads)
    store = Store(store_root)
    variant = parse_variant(TINY_SPEC)
    train(plan_training(variant, store, epochs=30, schedule="0:30:30", eval_every=5), store, quiet=True)
    key = RunKey(*variant.key)
    return {**load_safetensors(store.checkpoint_path(key, 30)), **load_npz(store.metrics_path(key))}


def test_results_are_bit_identical_whatever_the_threads(untouched, tmp_path, monkeypatch):
    one, two = _train(tmp_path / "one", 1), _train(tmp_path / "two", 2)
    monkeypatch.setattr(compute, "_pinned", None)  # now let the governor switch threads at every step
    flip = iter(range(10**6))
    monkeypatch.setattr(compute, "busy_tasks", lambda samples=5: 99 * (next(flip) % 2))
    monkeypatch.setattr(compute, "usable_cores", lambda: 2)
    monkeypatch.setattr(compute, "GOVERN_EVERY_S", 0.0)
    monkeypatch.setattr(compute, "pin_threads", lambda threads: None)
    switching = _train(tmp_path / "switching", 1)
    for other in (two, switching):
        assert one.keys() == other.keys()
        for name in one:
            a, b = one[name], other[name]
            assert (a == b).all() if hasattr(a, "all") else a == b, name


def test_an_unavailable_device_is_refused():
    check_device("cpu")
    if not torch.cuda.is_available():
        with pytest.raises(UserError, match="no CUDA device"):
            check_device("cuda")
    with pytest.raises(UserError, match="unknown device"):
        check_device("tpu")
