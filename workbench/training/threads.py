"""A run's torch threads: read from its record when it resumes, written into it when it trains.

Thread counts change a run's numbers (workbench.core.compute), so the count a run was
created with is kept in variant.json and reused: a resume, an extension or a densify
replay continues at it, whatever the machine's load or the cores it now has. Only the
user's own environment (OMP_NUM_THREADS) overrides it, and the switch is recorded
(`threads_before`), so the record always says which epochs ran at which count.
"""

from __future__ import annotations

from typing import Any

from workbench.core.compute import Threads, decide_threads
from workbench.store import RunRecord

__all__ = ["recorded_threads", "run_threads", "threads_fields"]

_RECORDED = "the run's record"  # the source of a count whose source a record leaves out


def recorded_threads(record: RunRecord | None, after: int | None = None) -> Threads | None:
    """The count `record` says trained the epochs after epoch `after` (None: its latest count);
    None where the record does not say (a run trained before counts were recorded)."""
    if record is None or record.threads is None:
        return None
    if after is not None:
        for segment in record.threads_before or []:
            if after < segment.get("to_epoch", -1):
                count = segment.get("threads")
                return Threads(count, segment.get("from") or _RECORDED) if isinstance(count, int) else None
    return Threads(record.threads, record.threads_from or _RECORDED)


def run_threads(priors: list[RunRecord | None], what: str, after: int | None = None) -> Threads:
    """The count for training runs whose records are `priors` (None: a new run), one stacked job:
    the first recorded count among them, else the default (`compute.decide_threads`)."""
    recorded = next((t for t in (recorded_threads(p, after) for p in priors) if t is not None), None)
    return decide_threads(recorded, what=what)


def threads_fields(prior: RunRecord | None, threads: Threads, start_epoch: int) -> dict[str, Any]:
    """variant.json's thread fields for a run that trains from `start_epoch` at `threads`
    (`prior`: its record so far; None for a new run)."""
    fields: dict[str, Any] = {"threads": threads.count, "threads_from": threads.source}
    before = list(prior.threads_before or []) if prior is not None else []
    if prior is not None and start_epoch > 0 and prior.threads != threads.count:
        before.append({"threads": prior.threads, "from": prior.threads_from or "not recorded", "to_epoch": start_epoch})
    if before:
        fields["threads_before"] = before
    return fields
