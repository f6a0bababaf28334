"""Processes on this machine: liveness, and an identity that survives pid reuse.

A pid alone does not name a process: once it exits, the kernel hands the number to the
next one. So a process the store records (a job's worker, a CLI sweep) is recorded as
its pid plus its start time (`start_ticks`: field 22 of /proc/<pid>/stat, clock ticks
since boot), and `same_process` is true only while that exact process runs. Where /proc
cannot be read the start time is unknown, and nothing is signalled on a pid's word.
"""

from __future__ import annotations

import os

__all__ = ["pid_alive", "start_ticks", "same_process", "valid_pid", "MAX_PID"]

MAX_PID = 2**22  # Linux's pid_max ceiling; a bigger "pid" comes from a damaged file, not a process


def valid_pid(pid: object) -> bool:
    """Whether `pid` could be a process id (an int, not a bool, 1..MAX_PID)."""
    return isinstance(pid, int) and not isinstance(pid, bool) and 0 < pid <= MAX_PID


def pid_alive(pid: int) -> bool:
    """True if a process with this pid exists on this machine (False for any impossible pid)."""
    if not valid_pid(pid):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, owned by another user
        return True
    return True


def _stat(pid: int) -> tuple[bytes, int] | None:
    """(state letter, start ticks) of process `pid` from /proc/<pid>/stat; None if unreadable."""
    if not valid_pid(pid):
        return None
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()  # the command name, in (), may hold blanks
        return fields[0], int(fields[19])  # fields[0] is field 3 (the state), fields[19] field 22
    except (OSError, ValueError, IndexError):
        return None


def start_ticks(pid: int) -> int | None:
    """When process `pid` started, in clock ticks since boot (/proc/<pid>/stat field 22); None if unknown."""
    stat = _stat(pid)
    return stat[1] if stat else None


def same_process(pid: object, ticks: object) -> bool:
    """Whether the process recorded as (pid, start ticks) still runs (a zombie has ended); never
    for an unknown start."""
    stat = _stat(pid) if valid_pid(pid) and isinstance(ticks, int) else None  # type: ignore[arg-type]
    return stat is not None and stat[1] == ticks and stat[0] != b"Z"
