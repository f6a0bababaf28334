"""Torch threads (issue 24): decided once from the user, --threads, a run's record or the
cores, never from the load; the bounds of --threads; the device check. The training side
(a run's count recorded and reused) is tests/unit/workbench/training/test_threads.py."""

from __future__ import annotations

import builtins
import os

import pytest
import torch

from workbench.core import compute
from workbench.core.compute import Threads, check_device, decide_threads
from workbench.core.errors import UserError


@pytest.fixture
def untouched(no_thread_setting, monkeypatch):
    """No user setting (tests/conftest.py), 4 usable cores."""
    monkeypatch.setattr(compute, "usable_cores", lambda: 4)


def _busy_machine(monkeypatch):
    """Every way a process could read the load says 50 runnable tasks on this machine."""
    real_open = builtins.open

    def fake_open(path, *args, **kwargs):
        if str(path) == "/proc/loadavg":
            import io
            return io.StringIO("50.00 50.00 50.00 50/900 4242\n")
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", fake_open)
    monkeypatch.setattr(os, "getloadavg", lambda: (50.0, 50.0, 50.0))


def test_the_default_is_the_cores_whatever_the_load(untouched, monkeypatch):
    idle = decide_threads(), decide_threads(processes=2), decide_threads(processes=8)
    _busy_machine(monkeypatch)
    assert (decide_threads(), decide_threads(processes=2), decide_threads(processes=8)) == idle
    assert idle == (Threads(4, "cores"), Threads(2, "cores"), Threads(1, "cores"))  # shared, at least one each


def test_a_recorded_count_beats_the_default_and_a_pin(untouched):
    recorded = Threads(3, "cores")
    assert decide_threads(recorded) == recorded
    compute.pin_threads(1)  # a Ray task's share: for new runs only
    assert decide_threads() == Threads(1, "sweep worker") and decide_threads(recorded) == recorded


def test_threads_asked_for_are_used_and_refused_against_another_record(untouched):
    compute.ask_threads(2)
    assert decide_threads() == Threads(2, "--threads") == decide_threads(Threads(2, "cores"))
    with pytest.raises(UserError, match=r"trained with 3 torch thread\(s\).*leave out --threads"):
        decide_threads(Threads(3, "cores"), what="the run")


def test_the_users_environment_wins_with_a_warning(untouched, monkeypatch, capsys):
    compute.ask_threads(2)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert decide_threads(Threads(3, "cores"), what="R") == Threads(1, "OMP_NUM_THREADS")
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("workbench: warning: R was trained with 3 torch thread(s)")
    assert decide_threads(Threads(1, "cores")) == Threads(1, "OMP_NUM_THREADS") and not capsys.readouterr().err


def test_a_torch_set_num_threads_of_the_users_own_wins(untouched):
    compute.set_threads(Threads(4, "cores"))
    torch.set_num_threads(1)  # the user's own call, after the workbench set 4
    assert decide_threads() == Threads(1, "torch.set_num_threads")


@pytest.mark.parametrize("bad", [0, -1, 513, True, 2.0, "2"])
def test_threads_out_of_bounds_are_one_line(bad):
    with pytest.raises(UserError, match="--threads must be a whole number of threads from 1 to 512"):
        compute.ask_threads(bad)


def test_an_unavailable_device_is_refused():
    check_device("cpu")
    if not torch.cuda.is_available():
        with pytest.raises(UserError, match="no CUDA device"):
            check_device("cuda")
    with pytest.raises(UserError, match="unknown device"):
        check_device("tpu")
