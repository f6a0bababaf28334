"""The job table in the store's run index: jobs started from the dashboard, and sweeps.

A job row records what runs (kind, target, the command line, the runs it works on), its
state and its worker's pid. `list_jobs` reads them with live state and progress (a
"running" job whose worker is gone reads as "crashed"), `cancel` marks one cancelled and
sends SIGTERM to its worker's process group, `recorded` records work this process runs
itself (a sweep from the command line), and `claim` / `finish` are the worker's side
(workbench.cli.worker). Starting a job is workbench.ui.jobs.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import sys
import time
from contextlib import closing, contextmanager
from typing import Iterator

from workbench.core.errors import UserError
from workbench.store._proc import pid_alive
from workbench.store.file_store import RunKey, Store
from workbench.store.index import connect, writing

__all__ = ["create", "list_jobs", "cancel", "recorded", "claim", "finish", "WORKER_ENV"]

WORKER_ENV = "WORKBENCH_JOB_ID"  # set in a job worker: the commands it runs are that job already


def create(store: Store, kind: str, target: str, argv: list[str], runs: list[str]) -> int:
    """Record a queued job; its id."""
    with closing(connect(store)) as conn, writing(conn):
        return conn.execute("INSERT INTO jobs (kind, target, args, runs, state, created) VALUES (?, ?, ?, ?, ?, ?)",
                            (kind, target, json.dumps(argv), json.dumps(runs), "queued", time.time())).lastrowid


# ------------------------------------------------------------------- reading
def _progress(store: Store, runs: list[str]) -> tuple[float, float] | None:
    """(done, total) summed over the job's runs' status.json files, where they have one."""
    done = total = 0.0
    for vid in runs:
        family, _, variant = vid.partition("/")
        try:
            status = store.read_status(RunKey(family, variant))
        except UserError:
            continue
        if status and isinstance(status.get("done"), (int, float)) and isinstance(status.get("total"), (int, float)):
            done, total = done + status["done"], total + status["total"]
    return (done, total) if total else None


def _state(row) -> str:
    """The row's state, a "running" or "queued" job whose worker is gone read as "crashed"."""
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
    if os.environ.get(WORKER_ENV):
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
            finish(store, job_id, 0 if error is None else 1, error)
        except (UserError, sqlite3.Error):
            pass  # the job then reads as crashed once this process is gone


# -------------------------------------------------------------------- worker
def claim(store: Store, job_id: int) -> list[str] | None:
    """Mark queued job `job_id` running in this process; its command line, or None if it is not queued."""
    with closing(connect(store)) as conn, writing(conn):
        row = conn.execute("SELECT args, state FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None or row["state"] != "queued":
            return None
        conn.execute("UPDATE jobs SET state = 'running', pid = ?, started = ? WHERE id = ?",
                     (os.getpid(), time.time(), job_id))
    return json.loads(row["args"])


def finish(store: Store, job_id: int, code: int, error: str | None) -> None:
    """Mark a running job done (exit status 0) or failed with `error`."""
    with closing(connect(store)) as conn, writing(conn):  # a cancelled job stays cancelled
        conn.execute("UPDATE jobs SET state = ?, finished = ?, error = ? WHERE id = ? AND state = 'running'",
                     ("done" if code == 0 else "failed", time.time(), error, job_id))
