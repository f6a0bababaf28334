"""Torch threads (issue 24): decided once from the user, --threads, a run's record or the
cores, never from the load; the bounds of --threads; the CLI's passive OpenMP wait policy;
the device check. The training side
(a run's count recorded and reused) is tests/unit/workbench/training/test_threads.py."""

from __future__ import annotations

import builtins
import io
import os
import subprocess
import sys

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


@pytest.mark.parametrize("env, policy", [
    ({}, "PASSIVE"),  # the CLI's: waiting OpenMP threads sleep instead of spinning on a busy machine
    ({"OMP_WAIT_POLICY": "ACTIVE"}, "ACTIVE"),  # the user's own wins
    ({"GOMP_SPINCOUNT": "1000"}, None),  # so does a spin count of theirs
])
def test_the_cli_sets_a_passive_wait_policy_before_torch_loads(env, policy):
    clean = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    code = "import os, sys, workbench.cli; print(os.environ.get('OMP_WAIT_POLICY'), 'torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], env={**clean, **env}, capture_output=True, text=True, check=True)
    assert out.stdout.split() == [str(policy), "False"]  # set before torch loads (libgomp reads it once)
