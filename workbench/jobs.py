"""Jobs: train, extend, analyze or sweep in a worker process, recorded in the run index.

The dashboard's Runs page (and anything else) calls `submit`, which checks the request
as the command line would, records a job row (state "queued") and starts a detached
worker, `python -m workbench.jobs JOB_ID --store ROOT`, whose output goes to the job's
log (`Store.job_log_path`). The worker marks the job "running" with its pid, runs the
`workbench` command in-process and marks it "done" or "failed" (exit status and last
line of output). Nothing runs in the web server's request threads.

`cancel` marks the job "cancelled" and sends SIGTERM to the worker's process group; a
cancelled or crashed job loses only its work in flight, since every store write is atomic
and a rerun resumes. A "running" job whose worker is gone (kill -9, machine restart)
reads as "crashed". There is no queue and no scheduler: every job starts at once, and two
jobs on one run are refused by the run's lock like two commands would be.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from contextlib import closing, contextmanager
from typing import Iterator

from workbench.core.errors import UserError
from workbench.index import connect, writing
from workbench.store import RunKey, Store

__all__ = ["KINDS", "submit", "list_jobs", "cancel", "job_argv", "run_job", "recorded"]

KINDS = ("train", "extend", "analyze", "sweep")
_WORKER_ENV = "WORKBENCH_JOB_ID"  # set in a job worker: the commands it runs are that job already


# ----------------------------------------------------------------- requests
def _recipe(text: str) -> dict[str, str]:
    """'lr=3e-3, weight_decay=0.5' -> {'lr': '3e-3', 'weight_decay': '0.5'} (typed by parse_variant)."""
    from workbench.config import parse_sets

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
    from workbench.trainer import plan_training
    from workbench.core.variant import parse_variant

    if kind not in KINDS:
        raise UserError(f"unknown job kind {kind!r}; choose one of {', '.join(KINDS)}")
    target, store_arg = (target or "").strip(), ["--store", str(store.root), "--quiet"]
    if not target:
        raise UserError("give a variant (family:key=value,...)" + (" or a sweep SPEC" if kind == "sweep" else ""))
    epochs = _positive(options.get("epochs"), "epochs")
    plan = [f"--epochs={epochs}"] if epochs else []
    if kind == "sweep":
        from workbench.sweep_spec import expand, load_sweep

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
    from workbench.core.analyzer import resolve_analyzers

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
    with closing(connect(store)) as conn, writing(conn):
        job_id = conn.execute("INSERT INTO jobs (kind, target, args, runs, state, created) VALUES (?, ?, ?, ?, ?, ?)",
                              (kind, target, json.dumps(argv), json.dumps(runs), "queued", time.time())).lastrowid
    log = store.job_log_path(job_id)
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        worker = subprocess.Popen([sys.executable, "-m", "workbench.jobs", str(job_id), str(store.root)],
                                  stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                  start_new_session=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    threading.Thread(target=worker.wait, daemon=True).start()  # reap it: a zombie would read as still running
    return job_id


# ------------------------------------------------------------------- reading
def _progress(store: Store, runs: list[str]) -> tuple[float, float] | None:
    """(done, total) summed over the job's runs' status.json files, where they have one."""
    from workbench._status import read_status

    done = total = 0.0
    for vid in runs:
        family, _, variant = vid.partition("/")
        try:
            status = read_status(store, RunKey(family, variant))
        except UserError:
            continue
        if status and isinstance(status.get("done"), (int, float)) and isinstance(status.get("total"), (int, float)):
            done, total = done + status["done"], total + status["total"]
    return (done, total) if total else None


def _state(row) -> str:
    """The row's state, a "running" or "queued" job whose worker is gone read as "crashed"."""
    from workbench._proc import pid_alive

    state = row["state"]
    if state == "running" and not (row["pid"] and pid_alive(row["pid"])):
        return "crashed"
    if state == "queued" and time.time() - row["created"] > 120:
        return "crashed"  # its worker never started
    return state


def list_jobs(store: Store, limit: int = 50) -> list[dict]:
    """The latest jobs, newest first, with live state and progress (empty without an index)."""
    if not store.index_path().is_file():
        return []
    with closing(connect(store)) as conn:
        rows = conn.execute("SELECT * FROM jobs ORDER BY id DESC LIMIT ?", (int(limit),)).fetchall()
    out = []
    for row in rows:
        job = {k: row[k] for k in row.keys()}
        job.update(state=_state(row), runs=json.loads(row["runs"]), args=json.loads(row["args"]))
        job["progress"] = _progress(store, job["runs"]) if job["state"] in ("running", "queued") else None
        out.append(job)
    return out


def cancel(store: Store, job_id: int) -> bool:
    """Cancel a queued or running job: mark it, then SIGTERM its worker's process group.

    Returns:
        Whether the job was still queued or running.
    """
    if not store.index_path().is_file():
        return False
    with closing(connect(store)) as conn, writing(conn):
        row = conn.execute("SELECT state, pid FROM jobs WHERE id = ?", (int(job_id),)).fetchone()
        if row is None or row["state"] not in ("queued", "running"):
            return False
        conn.execute("UPDATE jobs SET state = 'cancelled', finished = ? WHERE id = ?", (time.time(), int(job_id)))
    if row["pid"]:
        try:
            os.killpg(row["pid"], signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            pass
    return True


@contextmanager
def recorded(store: Store, kind: str, target: str, args: list[str], runs: list[str]) -> Iterator[int | None]:
    """Record work this process runs itself (a sweep from the command line) as a running job,
    then done, or failed with its error; yields the job id. Records nothing inside a job
    worker (that job is the record) or when the index cannot be written (warned)."""
    if os.environ.get(_WORKER_ENV):
        yield None
        return
    now = time.time()
    try:
        store.root.mkdir(parents=True, exist_ok=True)  # the work is about to write there anyway
        with closing(connect(store)) as conn, writing(conn):
            job_id = conn.execute("INSERT INTO jobs (kind, target, args, runs, state, pid, created, started) "
                                  "VALUES (?, ?, ?, ?, 'running', ?, ?, ?)",
                                  (kind, target, json.dumps(args), json.dumps(runs), os.getpid(), now, now)).lastrowid
    except (UserError, sqlite3.Error, OSError) as err:
        print(f"workbench: warning: job not recorded: {err}", file=sys.stderr)
        yield None
        return
    error: str | None = None
    try:
        yield job_id
    except BaseException as err:
        error = " ".join(str(err).split())[:300] or type(err).__name__
        raise
    finally:
        try:
            _finish(store, job_id, 0 if error is None else 1, error)
        except (UserError, sqlite3.Error):
            pass  # the job then reads as crashed once this process is gone


# -------------------------------------------------------------------- worker
def _finish(store: Store, job_id: int, code: int, error: str | None) -> None:
    with closing(connect(store)) as conn, writing(conn):  # a cancelled job stays cancelled
        conn.execute("UPDATE jobs SET state = ?, finished = ?, error = ? WHERE id = ? AND state = 'running'",
                     ("done" if code == 0 else "failed", time.time(), error, job_id))


def _last_line(store: Store, job_id: int) -> str | None:
    """The log's last line (the one-line error of a failed command), at most 300 characters."""
    try:
        with open(store.job_log_path(job_id), "rb") as f:
            f.seek(max(0, f.seek(0, os.SEEK_END) - 4096))
            lines = [ln for ln in f.read().decode("utf-8", "replace").replace("\r", "\n").splitlines() if ln.strip()]
    except OSError:
        return None
    return lines[-1].strip()[:300] if lines else None


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def run_job(store: Store, job_id: int) -> int:
    """The worker: run job `job_id`'s command in this process and record how it ended."""
    from workbench.cli import main

    with closing(connect(store)) as conn, writing(conn):
        row = conn.execute("SELECT args, state FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None or row["state"] != "queued":
            return 2
        conn.execute("UPDATE jobs SET state = 'running', pid = ?, started = ? WHERE id = ?",
                     (os.getpid(), time.time(), job_id))
    signal.signal(signal.SIGTERM, _interrupt)  # cancel: stop like Ctrl-C (writes are atomic; a rerun resumes)
    argv = json.loads(row["args"])
    os.environ[_WORKER_ENV] = str(job_id)
    print(f"job {job_id}: workbench {' '.join(argv)}", flush=True)
    try:
        code = main(argv)
    except SystemExit as exit_:  # argparse
        code = exit_.code if isinstance(exit_.code, int) else 2
    sys.stdout.flush()
    _finish(store, job_id, code, None if code == 0 else _last_line(store, job_id) or f"exit status {code}")
    print(f"job {job_id}: exit status {code}", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(run_job(Store(sys.argv[2]), int(sys.argv[1])))
