"""Jobs: train, extend, analyze or sweep in a worker process, recorded in the store's job table.

The dashboard's Runs page (and anything else) calls `submit`, which checks the request
as the command line would, records a job row (state "queued", workbench.store.jobs) and
starts a detached worker, `python -m workbench.cli.worker JOB_ID ROOT`, whose output goes
to the job's log (`Store.open_job_log`). The worker marks the job "running" with its pid,
runs the `workbench` command in-process and marks it "done" or "failed" (exit status and
last line of output). Nothing runs in the web server's request threads.

A cancelled or crashed job loses only its work in flight, since every store write is
atomic and a rerun resumes. There is no queue and no scheduler: every job starts at once,
and two jobs on one run are refused by the run's lock like two commands would be.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading

from workbench.core.analyzer import resolve_analyzers
from workbench.core.errors import UserError
from workbench.core.variant import parse_variant
from workbench.store import jobs
from workbench.store.file_store import RunKey, Store
from workbench.sweep.spec import expand, load_sweep
from workbench.training.config import parse_sets
from workbench.training.trainer import plan_training

__all__ = ["KINDS", "submit", "job_argv", "WORKER_MODULE"]

KINDS = ("train", "extend", "analyze", "sweep")
WORKER_MODULE = "workbench.cli.worker"  # what a job's worker process runs (`python -m`)


def _recipe(text: str) -> dict[str, str]:
    """'lr=3e-3, weight_decay=0.5' -> {'lr': '3e-3', 'weight_decay': '0.5'} (typed by parse_variant)."""
    return parse_sets([p.strip() for p in (text or "").split(",") if p.strip()])


def _positive(value: object, what: str) -> int | None:
    """A positive whole number from a form field (None when blank); UserError otherwise."""
    text = str(value).strip() if value is not None else ""
    if not text:
        return None
    if not text.isascii() or not text.isdigit() or int(text) <= 0:
        raise UserError(f"{what} must be a positive whole number, got {text!r}")
    return int(text)


def job_argv(store: Store, kind: str, target: str, options: dict) -> tuple[list[str], list[str]]:
    """The `workbench` command line for a job, and the run ids it works on, checked as the
    command would check them (nothing is written).

    Args:
        kind: one of KINDS; target: a variant spec (a sweep SPEC for "sweep");
        options: "recipe" ('FIELD=VALUE, ...'), "epochs", "schedule", "extra_epochs", "analyzers".
    Raises:
        UserError (one line) for anything the command would refuse up front.
    """
    if kind not in KINDS:
        raise UserError(f"unknown job kind {kind!r}; choose one of {', '.join(KINDS)}")
    target, store_arg = (target or "").strip(), ["--store", str(store.root), "--quiet"]
    if not target:
        raise UserError("give a variant (family:key=value,...)" + (" or a sweep SPEC" if kind == "sweep" else ""))
    epochs = _positive(options.get("epochs"), "epochs")
    plan = [f"--epochs={epochs}"] if epochs else []
    if kind == "sweep":
        variants = expand(load_sweep(target))
        return ["sweep", target, *plan, *store_arg], [f"{v.family.name}/{v.dir_name}" for v in variants]
    variant = parse_variant(target, recipe=_recipe(options.get("recipe", "")) if kind == "train" else None)
    vid = f"{variant.family.name}/{variant.dir_name}"
    if kind == "train":
        schedule = (options.get("schedule") or "").strip() or None
        plan_training(variant, store, epochs=epochs, schedule=schedule)
        return ["train", variant.spec, *plan, *([f"--schedule={schedule}"] if schedule else []), *store_arg], [vid]
    if not store.exists(RunKey(*variant.key)):
        raise UserError(f"no trained run for {variant.spec} in {store.root}; start a training job first")
    if kind == "extend":
        extra = _positive(options.get("extra_epochs"), "extra epochs")
        if extra is None:
            raise UserError("give the number of epochs to extend the run by")
        plan_training(variant, store, extra_epochs=extra)
        return ["train", variant.spec, f"--extra-epochs={extra}", *store_arg], [vid]
    analyzers = (options.get("analyzers") or "all").strip() or "all"
    resolve_analyzers(analyzers)
    return ["analyze", variant.spec, "--analyzers", analyzers, *store_arg], [vid]


def submit(store: Store, kind: str, target: str, options: dict | None = None) -> int:
    """Check a job request, record it and start its worker; returns the job id.

    Raises:
        UserError for a request the command would refuse (nothing recorded or started).
    """
    argv, runs = job_argv(store, kind, target, options or {})
    store.ensure_writable()
    store.root.mkdir(parents=True, exist_ok=True)
    job_id = jobs.create(store, kind, target, argv, runs)
    with store.open_job_log(job_id) as out:
        worker = subprocess.Popen([sys.executable, "-m", WORKER_MODULE, str(job_id), str(store.root)],
                                  stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                  start_new_session=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    threading.Thread(target=worker.wait, daemon=True).start()  # reap it: a zombie would read as still running
    return job_id
