"""A run's status.json as the truth, not as last written: a job killed with `kill -9` never
rewrites its "running", so a "running" status whose process is gone reads as "interrupted".

`train` and `analyze` record their pid in status.json. A process counts as gone when no
process has that pid, or when the one that has it started after the status was written
(the pid was reused). A status without a pid (written before pids were recorded) is taken
at its word. The check is on this machine only: a job running on another host that
shares the store reads as interrupted.
"""

from __future__ import annotations

import os
import time

from workbench._io import load_json
from workbench._proc import pid_alive
from workbench.core.errors import CorruptFile, MissingFile
from workbench.store import RunKey, Store

__all__ = ["read_status", "job_state"]

_FIELDS = {"job": (str,), "state": (str,), "done": (int, float), "total": (int, float), "pid": (int,),
           "updated": (int, float)}  # status.json field -> the types it may hold (or null)


def _started_at(pid: int) -> float | None:
    """When process `pid` started (epoch seconds), from /proc; None where that is unknown."""
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        with open("/proc/uptime") as f:
            uptime = float(f.read().split()[0])
        return time.time() - uptime + int(fields[19]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def _writer_alive(status: dict) -> bool | None:
    """Whether the process that wrote `status` still runs; None if the status names no pid."""
    pid = status.get("pid")
    if isinstance(pid, bool) or not isinstance(pid, int):
        return None
    if not pid_alive(pid):
        return False
    started, updated = _started_at(pid), status.get("updated")
    if started is not None and isinstance(updated, (int, float)) and started > updated + 1.0:
        return False  # a newer process has the pid: ours is gone
    return True


def job_state(status: dict) -> str:
    """The status's state, with a "running" job whose process is gone read as "interrupted"."""
    state = str(status.get("state", ""))
    if state == "running" and _writer_alive(status) is False:
        return "interrupted"
    return state


def read_status(store: Store, key: RunKey) -> dict | None:
    """The run's status.json with "state" as `job_state` reads it; None if there is none.

    Raises:
        CorruptFile if status.json is unreadable, not a JSON object, or has a field of the
        wrong type (e.g. a `done` that is a string).
    """
    path = store.status_path(key)
    try:
        status = load_json(path, expect=dict)
    except MissingFile:
        return None
    for field, kinds in _FIELDS.items():
        value = status.get(field)
        if value is not None and (isinstance(value, bool) or not isinstance(value, kinds)):
            raise CorruptFile(path, f"{field!r} is {type(value).__name__}, not {kinds[0].__name__}")
    return {**status, "state": job_state(status)}
