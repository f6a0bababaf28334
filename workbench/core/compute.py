"""The compute a job runs on: its device, checked before anything is written, and its torch threads.

Threads change numbers. On the 2-core Xeon VM of 2026-12-06 one and two torch threads give
different weights for the demo after a single step (ATen splits a long reduction among its
threads, and float addition is not associative): bench/threads_results.py. So a run's
thread count is decided once, when the run is created, recorded in its variant.json
(`threads`, `threads_from`; not in its identity) and reused when it resumes, is extended
or is densified; nothing changes it while it trains. The count, in order:

1. the user's OMP_NUM_THREADS or MKL_NUM_THREADS (or a `torch.set_num_threads` of their own
   after the workbench set one): it wins, even over the record, with a warning when it
   differs from the recorded count (the run's numbers then differ from an uninterrupted
   run's; the switch is recorded in `threads_before`);
2. `--threads N` (`ask_threads`): refused in one line when it differs from a resumed run's
   record, since it would silently change the run (the user drops it, or forces a count
   with OMP_NUM_THREADS);
3. the run's record;
4. a count the caller fixed for this process (`pin_threads`: a Ray task given one core);
5. the cores this process may run on (`os.sched_getaffinity`) over the processes the job
   starts: never the momentary load, so the same command gives the same run twice.

Speed under contention comes from the wait policy, not from changing the count: torch's
OpenMP threads spin at every barrier, and on a busy machine a spinning thread holds a core
its partner needs (issue 24: 42 s with one thread, over 300 s with two at load 8). The CLI
(workbench.cli) sets OMP_WAIT_POLICY=PASSIVE before torch loads, unless the user set it:
waiting threads sleep. At load 14 on the 2-core VM the demo's 100 epochs took 123 s with
two spinning threads, 14 s with one and 9 s with two passive ones (bench/threads_contention.py,
bench/RESULTS.md).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

import torch

from workbench.core.errors import UserError

__all__ = ["check_device", "usable_cores", "default_threads", "Threads", "ask_threads", "pin_threads",
           "check_threads", "decide_threads", "set_threads", "MAX_THREADS"]

MAX_THREADS = 512  # far past any machine here; a bigger --threads is a typo
_USER_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")
_set_by_us: int | None = None  # the count set_threads last set (a different one now is the user's torch.set_num_threads)
_asked: "Threads | None" = None  # --threads for this process (ask_threads)
_pinned: int | None = None  # a count a caller fixed for this process (pin_threads): below the record and the user's


@dataclass(frozen=True)
class Threads:
    """A torch thread count and what decided it ("cores", "--threads", "OMP_NUM_THREADS", ...)."""

    count: int
    source: str


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


def default_threads(processes: int = 1) -> int:
    """The cores this process may run on, shared among the `processes` a job starts (at least one each)."""
    return max(1, usable_cores() // max(1, processes))


def check_threads(count: object, what: str = "--threads") -> int:
    """`count` as a thread count; UserError (one line) unless it is a whole number from 1 to MAX_THREADS."""
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_THREADS:
        raise UserError(f"{what} must be a whole number of threads from 1 to {MAX_THREADS}, got {count!r}")
    return count


def ask_threads(count: int | None) -> None:
    """`--threads N` for the work this process does from now on (None: the default again)."""
    global _asked
    _asked = None if count is None else Threads(check_threads(count), "--threads")


def pin_threads(threads: int) -> None:
    """Fix this process's count at `threads` where neither the user nor a run's record says otherwise
    (a Ray task given one core), and apply it now."""
    global _pinned
    _pinned = max(1, int(threads))
    set_threads(Threads(_pinned, "sweep worker"))


def _env_count(text: str) -> int:
    """The thread count an OMP/MKL variable asks for (its first level); torch's own where unreadable."""
    first = text.split(",")[0].strip()
    return int(first) if first.isascii() and first.isdigit() and int(first) > 0 else torch.get_num_threads()


def _users() -> Threads | None:
    """The user's own count for this process: OMP/MKL_NUM_THREADS, else a torch.set_num_threads of theirs."""
    for name in _USER_ENV:
        text = os.environ.get(name, "").strip()
        if text:
            return Threads(_env_count(text), name)
    if _set_by_us is not None and torch.get_num_threads() != _set_by_us:
        return Threads(torch.get_num_threads(), "torch.set_num_threads")
    return None


def decide_threads(recorded: Threads | None = None, processes: int = 1, what: str = "the run") -> Threads:
    """The torch threads for work on `what`, which was trained at `recorded` (None: new, or not
    recorded); the order is the module docstring's. UserError for a --threads that differs from
    the record; a warning on stderr when the user's environment overrides it."""
    users = _users()
    if users is not None:
        if recorded is not None and users.count != recorded.count:
            print(f"workbench: warning: {what} was trained with {recorded.count} torch thread(s) ({recorded.source}); "
                  f"{users.source} makes it {users.count}, so its numbers from here differ from an uninterrupted "
                  "run's", file=sys.stderr)
        return users
    if _asked is not None:
        if recorded is not None and _asked.count != recorded.count:
            raise UserError(f"{what} was trained with {recorded.count} torch thread(s) and thread counts change "
                            f"its numbers; leave out --threads to continue at {recorded.count}, or set "
                            f"OMP_NUM_THREADS={_asked.count} to force {_asked.count}")
        return _asked
    if recorded is not None:
        return recorded
    if _pinned is not None:
        return Threads(_pinned, "sweep worker")
    return Threads(default_threads(processes), "cores")


def set_threads(threads: Threads) -> int:
    """Give this process `threads.count` torch threads (once, before the work: never mid-run); returns it."""
    global _set_by_us
    if torch.get_num_threads() != threads.count:
        torch.set_num_threads(threads.count)
    _set_by_us = threads.count
    return threads.count
