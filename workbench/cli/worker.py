"""The job worker: `python -m workbench.cli.worker JOB_ID ROOT` runs one job's typed request.

workbench.ui.jobs starts it detached, in a session of its own (so that a cancel can stop
its whole process group), its output going to the job's log. It marks the job "running"
with its pid and start time (workbench.store.jobs.claim), runs the job's request
(workbench.requests.execute, never reading a file: a job's config is a name, its sweep
inline), records how it ended (exit status, the log's last line) and then starts the
next queued job if a slot is free. SIGTERM (a cancel) stops it like Ctrl-C: every write
is atomic, and a rerun resumes.
"""

from __future__ import annotations

import os
import sqlite3
import sys

from workbench.cli import guarded
from workbench.core.errors import UserError
from workbench.core.stop import on_sigterm
from workbench.requests import execute, request_of
from workbench.store import Store, jobs
from workbench.ui.jobs import start_queued

__all__ = ["run_job"]


def _last_line(store: Store, job_id: int) -> str | None:
    """The log's last line (the one-line error of a failed command), at most 300 characters."""
    lines = [ln for ln in (store.job_log_tail(job_id, 4096) or "").splitlines() if ln.strip()]
    return lines[-1].strip()[:300] if lines else None


def _execute(store: Store, job_id: int, data: object) -> None:
    request = request_of(data)
    print(f"job {job_id}: {request.kind} {request.model_dump_json(exclude_defaults=True)}", flush=True)
    execute(request, store, files=False)


def run_job(store: Store, job_id: int) -> int:
    """The worker: run job `job_id`'s request in this process, record how it ended, start the next."""
    data = jobs.claim(store, job_id)
    if data is None:  # not ours to run: cancelled before it started, or another worker has it
        return 2
    os.environ[jobs.WORKER_ENV] = str(job_id)
    with on_sigterm():  # cancel: stop like Ctrl-C (writes are atomic; a rerun resumes)
        code = guarded(lambda: _execute(store, job_id, data))
    sys.stdout.flush()
    sys.stderr.flush()
    jobs.finish(store, job_id, code, None if code == 0 else _last_line(store, job_id) or f"exit status {code}")
    print(f"job {job_id}: exit status {code}", flush=True)
    try:
        start_queued(store)  # this job's slot is free: the next queued job may start
    except (UserError, sqlite3.Error, OSError) as err:
        print(f"job {job_id}: the next queued job could not be started: {err}", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(run_job(Store(sys.argv[2]), int(sys.argv[1])))
