"""The compute a job runs on: its device, checked before anything is written, and its torch threads.

Threads. torch's default is one intra-op thread per core, and its threads wait for each
other at every operation: on a busy machine one of them is always descheduled, and the
small models trained here then run 5-10x slower than on one thread (issue 24: 42 s with
one thread, over 300 s with torch's default, on a 2-core machine at load 8). So every
entry point that computes (train, densify, analysis workers, sweep groups) calls
`use_threads`, which picks

    threads = max(1, min(cores // processes, (cores - busy) // processes))

from the cores this process may run on (`os.sched_getaffinity`) and `busy`, the other
tasks runnable right now (/proc/loadavg's running count, the median of a few samples,
less this process's own running threads): all the free cores on an idle machine, one
thread on a busy one, and never more threads in all than cores when a job starts
`processes` workers. A long loop goes on choosing: `governed(step)` re-applies the rule
every few seconds from the thread that computes (an OpenMP thread count belongs to the
thread that sets it), so a run started on an idle machine drops to one thread when
others start, and takes the cores back when they end.

The user's own setting wins: with OMP_NUM_THREADS or MKL_NUM_THREADS set, or
WORKBENCH_THREADS=N (N threads, whatever the load), or after `torch.set_num_threads` in
this process, nothing is changed. Results do not depend on the thread count (the
kernels used here reduce in the same order whatever the threads; tested in
tests/unit/workbench/core/test_compute.py).
"""

from __future__ import annotations

import os
import statistics
import time
from collections import deque
from typing import Callable

import torch

from workbench.core.errors import UserError

__all__ = ["check_device", "choose_threads", "use_threads", "pin_threads", "usable_cores", "busy_tasks", "user_threads",
           "governed", "GOVERN_EVERY_S"]

THREADS_ENV = "WORKBENCH_THREADS"  # N: this many torch threads, whatever the load
_USER_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")
_SAMPLES, _GAP_S = 5, 0.01  # /proc/loadavg samples and the time between them
GOVERN_EVERY_S = 5.0  # how often a governed loop looks at the load again
_set_by_us: int | None = None  # the thread count use_threads last set (a different one now is the user's)
_pinned: int | None = None  # a count a caller fixed for this process (pin_threads): kept like the user's


def check_device(device: str) -> None:
    """UserError unless torch can use `device` ("cpu", "cuda" or "cuda:N") here; call before writing."""
    kind, _, index = str(device).partition(":")
    if kind == "cpu" and not index:
        return
    if kind != "cuda" or (index and not index.isdigit()):
        raise UserError(f"unknown device {device!r}; expected cpu, cuda or cuda:N")
    if not torch.cuda.is_available():
        raise UserError(f"--device {device} asked for, but torch sees no CUDA device")
    if index and int(index) >= torch.cuda.device_count():
        raise UserError(f"--device {device}: torch sees {torch.cuda.device_count()} CUDA device(s)")


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity, e.g. a container's or taskset's share)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        return max(1, os.cpu_count() or 1)


def _own_running() -> int:
    """This process's threads that are running or runnable now (the reading one included)."""
    count = 0
    try:
        for task in os.listdir("/proc/self/task"):
            try:
                with open(f"/proc/self/task/{task}/stat", "rb") as f:
                    count += f.read().rsplit(b")", 1)[1].split()[0] == b"R"
            except OSError:
                continue  # the thread ended meanwhile
    except OSError:
        return 1
    return max(1, count)


def busy_tasks(samples: int = _SAMPLES) -> int:
    """Tasks runnable on this machine now besides this process's own (0 where /proc/loadavg is missing)."""
    counts = []
    for i in range(samples):
        try:
            with open("/proc/loadavg") as f:
                running = int(f.read().split()[3].split("/")[0])  # "R/T": runnable tasks, this reader included
        except (OSError, ValueError, IndexError):
            return 0
        counts.append(running - _own_running())
        if i + 1 < samples:
            time.sleep(_GAP_S)
    return max(0, round(statistics.median(counts)))


def choose_threads(processes: int = 1, cores: int | None = None, busy: int | None = None) -> int:
    """Torch threads for each of `processes` processes a job runs (module docstring).

    >>> choose_threads(cores=2, busy=0), choose_threads(cores=2, busy=3), choose_threads(4, cores=16, busy=0)
    (2, 1, 4)
    """
    cores = usable_cores() if cores is None else cores
    busy = busy_tasks() if busy is None else busy
    processes = max(1, processes)
    return max(1, min(cores // processes, (cores - busy) // processes))


def user_threads() -> int | None:
    """The thread count the user asked for (WORKBENCH_THREADS, OMP/MKL_NUM_THREADS, or a
    `torch.set_num_threads` since the workbench last set it); None if they did not."""
    if _pinned is not None:
        return _pinned
    text = os.environ.get(THREADS_ENV, "").strip()
    if text:
        if not text.isascii() or not text.isdigit() or not 0 < int(text) <= 4096:
            raise UserError(f"{THREADS_ENV}={text!r}: expected a whole number of threads from 1 to 4096")
        return int(text)
    if any(os.environ.get(name, "").strip() for name in _USER_ENV):
        return torch.get_num_threads()
    if _set_by_us is not None and torch.get_num_threads() != _set_by_us:
        return torch.get_num_threads()
    return None


def pin_threads(threads: int) -> None:
    """Fix this process's torch threads at `threads` (a Ray task given one core): later
    `use_threads` calls keep it, as they keep the user's."""
    global _pinned
    _pinned = max(1, int(threads))
    torch.set_num_threads(_pinned)


def use_threads(processes: int = 1) -> int:
    """Set this process's torch threads for a job that runs `processes` processes (1: itself);
    returns the threads each of them should use. The user's setting wins (module docstring)."""
    global _set_by_us
    wanted = user_threads()
    if wanted is None:
        wanted = choose_threads(processes)
    elif _pinned is not None or not os.environ.get(THREADS_ENV, "").strip():
        return max(1, wanted // max(1, processes))  # OMP/MKL, torch or pin_threads already hold the count
    else:
        wanted = max(1, wanted // max(1, processes)) if processes > 1 else wanted
    if torch.get_num_threads() != wanted:
        torch.set_num_threads(wanted)
    _set_by_us = wanted
    return wanted


class _Governor:
    """Calls `step`, and every GOVERN_EVERY_S seconds re-applies the rule in this thread."""

    def __init__(self, step: Callable, processes: int):
        self.step, self.processes = step, processes
        self.due = time.monotonic() + GOVERN_EVERY_S
        self.recent: deque[int] = deque(maxlen=3)  # the last busy counts: one sample each, the median is used

    def __call__(self, *args, **kwargs):
        if time.monotonic() >= self.due:
            self.govern()
        return self.step(*args, **kwargs)

    def govern(self) -> None:
        global _set_by_us
        self.due = time.monotonic() + GOVERN_EVERY_S
        if user_threads() is not None:
            return  # the user's count, or a pinned one, stays
        self.recent.append(busy_tasks(samples=1))
        want = choose_threads(self.processes, busy=sorted(self.recent)[len(self.recent) // 2])
        if want != torch.get_num_threads():
            torch.set_num_threads(want)
        _set_by_us = want


def governed(step: Callable, processes: int = 1) -> Callable:
    """`step` (a training step, one checkpoint's analysis), re-choosing the threads as the load changes."""
    return _Governor(step, processes)
