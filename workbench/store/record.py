"""What a run's own small files say: its record (variant.json) and its job status (status.json).

The record is read with the fields that `list`, `report` and `analyze` rely on checked,
and `run_variant` turns it into the Variant it names. status.json is read as the truth,
not as last written: a job killed with `kill -9` never rewrites its "running", so a
"running" status whose process is gone reads as "interrupted".

`train` and `analyze` record their pid in status.json (`write_status`). A process counts as
gone when no process has that pid, or when the one that has it started after the status
was written (the pid was reused). A status without a pid (written before pids were
recorded) is taken at its word. The check is on this machine only: a job running on
another host that shares the store reads as interrupted.
"""

from __future__ import annotations

import os
import time

from workbench.core.errors import CorruptFile, MissingFile, UserError
from workbench.core.variant import Variant, parse_variant
from workbench.store._io import load_json, save_json
from workbench.store._proc import pid_alive
from workbench.store.file_store import RunKey, Store

__all__ = ["read_record", "run_variant", "read_status", "job_state", "write_status"]

_RECORD_FIELDS = {"variant": (str,), "epochs": (int,), "schedule": (str,), "eval_every": (int,)}  # required field -> types


def read_record(store: Store, key: RunKey) -> dict:
    """The run's variant.json as a dict.

    Raises:
        MissingFile if there is none; CorruptFile if it is unreadable, not a JSON object,
        lacks "variant" or "epochs", or holds one of the wrong type.
    """
    path = store.variant_path(key)
    return _checked(path, load_json(path, expect=dict, keys=tuple(_RECORD_FIELDS)), _RECORD_FIELDS, nullable=False)


def _checked(path, doc: dict, fields: dict[str, tuple[type, ...]], nullable: bool) -> dict:
    """`doc` if each of `fields` holds one of its types (or null, where `nullable`); CorruptFile otherwise."""
    for field, kinds in fields.items():
        value = doc.get(field)
        if (value is not None or not nullable) and (isinstance(value, bool) or not isinstance(value, kinds)):
            raise CorruptFile(path, f"{field!r} is {type(value).__name__}, not {kinds[0].__name__}")
    return doc


_STATUS_FIELDS = {"job": (str,), "state": (str,), "done": (int, float), "total": (int, float), "pid": (int,),
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


def read_status(store: Store, key: RunKey, as_written: bool = False) -> dict | None:
    """The run's status.json with "state" as `job_state` reads it (or as written, with
    `as_written`); None if there is none.

    Raises:
        CorruptFile if status.json is unreadable, not a JSON object, or has a field of the
        wrong type (e.g. a `done` that is a string).
    """
    path = store.status_path(key)
    try:
        status = _checked(path, load_json(path, expect=dict), _STATUS_FIELDS, nullable=True)
    except MissingFile:
        return None
    return status if as_written else {**status, "state": job_state(status)}


def run_variant(store: Store, key: RunKey) -> Variant:
    """The Variant recorded in a run's variant.json (CorruptFile if its spec no longer parses)."""
    spec = read_record(store, key)["variant"]
    try:
        return parse_variant(spec)
    except CorruptFile:
        raise
    except UserError as err:
        raise CorruptFile(store.variant_path(key), f"its variant {spec!r} does not parse ({err})") from None


def write_status(store: Store, key: RunKey, done: int, total: int, state: str, job: str = "train") -> None:
    """status.json: this process's `job` progress (done of total) and state ("running" or "done")."""
    save_json({"job": job, "state": state, "done": done, "total": total, "pid": os.getpid(),
               "updated": time.time()}, store.status_path(key))
