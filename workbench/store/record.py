"""What a run's own small files say: its record (variant.json, `RunRecord`) and its job status (status.json).

`RunRecord` is the typed record: read and written only by `Store.read_record` /
`Store.write_record`, which keep the file as it was (the fields a record holds are the ones
it is written with; an old record, without the fields added since, loads as it is and is
written back unchanged). status.json is read as the truth, not as last written: a job
killed with `kill -9` never rewrites its "running", so a "running" status whose process is
gone reads as "interrupted" (`job_state`).

`train` and `analyze` record their pid in status.json (`Store.write_status`). A process counts as
gone when no process has that pid, or when the one that has it started after the status
was written (the pid was reused). A status without a pid (written before pids were
recorded) is taken at its word. The check is on this machine only: a job running on
another host that shares the store reads as interrupted.
"""

from __future__ import annotations

import os
import time
import types
import typing
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from workbench.core.errors import CorruptFile
from workbench.store._proc import pid_alive

__all__ = ["RunRecord", "job_state", "CARRIED_FIELDS"]

CARRIED_FIELDS = ("densified",)  # fields that record later work on the run: kept when training rewrites the record


class RunRecord(BaseModel):
    """variant.json: a run's identity and plan, the libraries it was trained with, and later work on it.

    The first four fields are required (every record ever written has them); the others
    are absent from records written before they existed. Unknown fields are kept.
    """

    model_config = ConfigDict(extra="allow", strict=True, frozen=True)

    variant: str  # the canonical spec, "family:key=value,..."
    epochs: int  # the epochs the run was started (or extended) to
    schedule: str  # checkpoint schedule SPEC
    eval_every: int  # evaluation cadence in epochs
    family: str | None = None
    params: dict[str, Any] | None = None  # the family's params, every field
    recipe: dict[str, Any] | None = None  # the training recipe, every field (older records: the old recipe shape)
    recipe_overrides: dict[str, Any] | None = None  # the recipe fields the spec set
    config: str | None = None  # the named config or file the run came from
    checkpoint_epochs: list[int] | None = None
    state_every: int | None = None  # full training states kept at multiples of this (workbench densify)
    stacked: bool | None = None  # trained stacked with other seeds by some job (a member replayed alone differs)
    densified: list[dict[str, Any]] | None = None  # one entry per `workbench densify` call
    versions: dict[str, str] | None = None  # python, torch, transformer_lens, numpy
    # torch threads (they change the numbers: workbench.core.compute): the count its latest epochs
    # trained at (a resume continues at it), what decided it, and earlier counts where a user forced
    # a change ({"threads", "from", "to_epoch"} each; threads None: trained before counts were recorded)
    threads: int | None = None
    threads_from: str | None = None
    threads_before: list[dict[str, Any]] | None = None

    @classmethod
    def from_json(cls, doc: dict, path) -> "RunRecord":
        """The record a variant.json document holds; CorruptFile (naming `path`) for a field of the wrong type."""
        try:
            return cls.model_validate(doc)
        except ValidationError as err:
            raise CorruptFile(path, _problem(doc, err.errors()[0])) from None

    def to_json(self) -> dict:
        """The document to write: the fields this record was read or made with, and no others."""
        return self.model_dump(exclude_unset=True)

    def carrying(self, prior: "RunRecord | None") -> "RunRecord":
        """This record with the CARRIED_FIELDS of `prior` (what densify added survives a resume)."""
        kept = {k: getattr(prior, k) for k in CARRIED_FIELDS if prior is not None and k in prior.model_fields_set}
        return self.model_copy(update=kept) if kept else self


def _expected(field: str) -> str:
    """The JSON-ish name of a field's type: `int` for `int`, `dict` for `dict[str, Any] | None`."""
    hint = RunRecord.model_fields[field].annotation
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        hint = next(a for a in typing.get_args(hint) if a is not type(None))
    return getattr(typing.get_origin(hint) or hint, "__name__", str(hint))


def _problem(doc: dict, error: dict) -> str:
    """One line for the first validation error: "'epochs' is str, not int"."""
    loc = error.get("loc") or ("?",)
    field = str(loc[0])
    if field not in RunRecord.model_fields:
        return error.get("msg", "invalid")
    if len(loc) == 1:
        return f"{field!r} is {type(doc.get(field)).__name__}, not {_expected(field)}"
    where = "".join(f"[{part!r}]" for part in loc[1:])
    return f"{field!r} is not a valid {_expected(field)}: {field}{where} is {type(error.get('input')).__name__}"


# --------------------------------------------------------------------- status.json
STATUS_FIELDS = {"job": (str,), "state": (str,), "done": (int, float), "total": (int, float), "pid": (int,),
                 "updated": (int, float)}  # status.json field -> the types it may hold (or null)


def checked_status(doc: dict, path) -> dict:
    """`doc` if each status field holds one of its types or null; CorruptFile (naming `path`) otherwise."""
    for field, kinds in STATUS_FIELDS.items():
        value = doc.get(field)
        if value is not None and (isinstance(value, bool) or not isinstance(value, kinds)):
            raise CorruptFile(path, f"{field!r} is {type(value).__name__}, not {kinds[0].__name__}")
    return doc


def new_status(done: float, total: int, state: str, job: str, eta_s: float | None = None) -> dict:
    """status.json of this process's `job`: progress (done of total), state, pid and time, and
    `eta_s` (seconds still to go, estimated) where the job knows it."""
    status = {"job": job, "state": state, "done": done, "total": total, "pid": os.getpid(), "updated": time.time()}
    return status if eta_s is None else status | {"eta_s": round(eta_s, 1)}


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
