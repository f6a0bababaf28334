"""Jobs: typed train / extend / analyze / sweep requests run by worker processes, at most N at once.

The Runs page turns its form into a typed request (`from_form`: every field must be
text, numbers are checked here, so a crafted value is a message, never a 500), and
`submit` checks it as the command would (workbench.requests.runs_of, nothing written),
records a job row (state "queued", workbench.store.jobs) and starts workers for as many
queued jobs as free slots allow (`start_queued`; `max_running`, WORKBENCH_MAX_JOBS).
A worker, `python -m workbench.cli.worker JOB_ID ROOT`, runs in a session of its own
with its output in the job's log (`Store.open_job_log`), and when its job ends starts
the next queued one. A job never reads a file: its config is a name, its sweep inline.

A cancelled or crashed job loses only its work in flight, since every store write is
atomic and a rerun resumes; two jobs on one run are refused by the run's lock like two
commands would be.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading

from tqdm import tqdm

from workbench.core.analyzer import resolve_analyzers
from workbench.core.compute import usable_cores
from workbench.core.errors import UserError
from workbench.core.variant import parse_variant
from workbench.requests import MAX_EPOCHS, AnalyzeRequest, SweepRequest, TrainRequest, checked, runs_of
from workbench.store import jobs
from workbench.store.file_store import RunKey, Store
from workbench.training.config import parse_sets

__all__ = ["KINDS", "FIELDS", "from_form", "submit", "start_queued", "max_running", "WORKER_MODULE", "MAX_QUEUED",
           "MAX_JOBS_ENV", "progress_text"]

KINDS = ("train", "extend", "analyze", "sweep")
FIELDS = ("target", "config", "recipe", "epochs", "schedule", "extra_epochs", "analyzers")  # the form's fields
WORKER_MODULE = "workbench.cli.worker"  # what a job's worker process runs (`python -m`)
MAX_JOBS_ENV = "WORKBENCH_MAX_JOBS"  # N: at most N jobs run at once (default: one per two cores, at least one)
MAX_QUEUED = 20  # jobs that may wait for a slot; more are refused in the page
Request = TrainRequest | AnalyzeRequest | SweepRequest


def max_running() -> int:
    """How many jobs may run at once: WORKBENCH_MAX_JOBS, else one per two usable cores (at least one)."""
    text = os.environ.get(MAX_JOBS_ENV, "").strip()
    if text:
        if not text.isascii() or not text.isdigit() or not 0 < int(text) <= 256:
            raise UserError(f"{MAX_JOBS_ENV}={text!r}: expected a whole number of jobs from 1 to 256")
        return int(text)
    return max(1, usable_cores() // 2)


# ------------------------------------------------------------------ the form
def _text(values: dict, field: str) -> str | None:
    """A form field's text, stripped (None when blank); UserError for anything but text."""
    value = values.get(field)
    if value is None:
        return None
    if not isinstance(value, str):
        raise UserError(f"{field.replace('_', ' ')} must be text, got {type(value).__name__}")
    return value.strip() or None


def _count(values: dict, field: str) -> int | None:
    """A positive whole number from a form field (None when blank), at most MAX_EPOCHS."""
    text = _text(values, field)
    if text is None:
        return None
    name, digits = field.replace("_", " "), text.lstrip("0")
    if not text.isascii() or not text.isdigit() or not digits:
        raise UserError(f"{name} must be a positive whole number, got {text[:30]!r}")
    if len(digits) > len(str(MAX_EPOCHS)) or int(digits) > MAX_EPOCHS:  # a 23-digit count never reaches int()
        raise UserError(f"{name} must be at most {MAX_EPOCHS:,}, got {text[:30]!r}")
    return int(digits)


def _recipe(text: str | None) -> dict[str, str]:
    """'lr=3e-3, weight_decay=0.5' -> {'lr': '3e-3', 'weight_decay': '0.5'} (typed by parse_variant)."""
    return parse_sets([p.strip() for p in (text or "").split(",") if p.strip()])


def from_form(kind: object, values: dict) -> tuple[str, Request]:
    """(the job's kind, its typed request) from the Runs page's form.

    Args:
        kind: one of KINDS; values: FIELDS -> what the page sent (text, or None when blank).
    Raises:
        UserError (one line) for a wrong type, a malformed number, a missing target.
    """
    if kind not in KINDS:
        raise UserError(f"unknown job kind {str(kind)[:30]!r}; choose one of {', '.join(KINDS)}")
    target, config = _text(values, "target"), _text(values, "config") if kind == "train" else None
    if not target and not config:
        raise UserError("give a variant (family:key=value,...)" + (" or a config name" if kind == "train" else "")
                        + (" or a sweep SPEC" if kind == "sweep" else ""))
    common = {"quiet": True}
    if kind == "train":
        return kind, checked(TrainRequest, variant=target, config=config, recipe=_recipe(_text(values, "recipe")),
                             epochs=_count(values, "epochs"), schedule=_text(values, "schedule"), **common)
    if kind == "extend":
        extra = _count(values, "extra_epochs")
        if extra is None:
            raise UserError("give the number of epochs to extend the run by")
        return kind, checked(TrainRequest, variant=target, extra_epochs=extra, **common)
    if kind == "analyze":
        return kind, checked(AnalyzeRequest, variant=target, analyzers=_text(values, "analyzers") or "all", **common)
    return kind, checked(SweepRequest, spec=target, epochs=_count(values, "epochs"), **common)


# -------------------------------------------------------------------- submit
def _check(store: Store, request: Request) -> list[str]:
    """The runs `request` works on, checked as running it would check them (nothing written)."""
    if isinstance(request, AnalyzeRequest) or (isinstance(request, TrainRequest) and request.extra_epochs):
        variant = parse_variant(request.variant or "")
        if not store.exists(RunKey(*variant.key)):
            raise UserError(f"no trained run for {variant.spec} in {store.root}; start a training job first")
    if isinstance(request, AnalyzeRequest):
        resolve_analyzers(request.analyzers)
    return runs_of(request, store, files=False)


def submit(store: Store, kind: str, request: Request) -> tuple[int, bool]:
    """Check a job's request, record it queued and start it if a slot is free; returns the job
    id and whether it started now.

    Raises:
        UserError for a request the command would refuse, or a full queue (nothing recorded or started).
    """
    runs = _check(store, request)
    store.ensure_writable()
    store.root.mkdir(parents=True, exist_ok=True)
    target = getattr(request, "spec", None) or request.variant or f"config {request.config}"
    job_id = jobs.create(store, kind, target, request.model_dump(mode="json"), runs, max_queued=MAX_QUEUED)
    return job_id, job_id in start_queued(store)


def start_queued(store: Store) -> list[int]:
    """Start a worker for each queued job a free slot allows; the ids started."""
    started = jobs.take_slots(store, max_running())
    for job_id in started:
        try:
            worker = _launch(store, job_id)
        except OSError as err:
            jobs.finish(store, job_id, 1, f"its worker could not be started: {err.strerror or err}")
            continue
        jobs.launched(store, job_id, worker.pid)
        threading.Thread(target=worker.wait, daemon=True).start()  # reap it: a zombie would read as still running
    return started


def _launch(store: Store, job_id: int) -> subprocess.Popen:
    with store.open_job_log(job_id) as out:
        return subprocess.Popen([sys.executable, "-m", WORKER_MODULE, str(job_id), str(store.root)],
                                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})


def progress_text(job: dict) -> str:
    """'120/300 (40%) ~01:05 left' for a running job of `list_jobs` (the estimate where known), '' otherwise."""
    done, eta = job.get("progress"), job.get("eta_s")
    if not done:
        return ""
    return (f"{done[0]:g}/{done[1]:g} ({100 * done[0] / done[1]:.0f}%)"
            + (f" ~{tqdm.format_interval(eta)} left" if eta is not None else ""))
