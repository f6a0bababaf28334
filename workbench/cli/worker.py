"""The job worker: `python -m workbench.cli.worker JOB_ID ROOT` runs one queued job's command.

workbench.ui.jobs.submit starts it detached, its output going to the job's log. It marks
the job "running" with its pid (workbench.store.jobs.claim), runs the `workbench` command
in this process and records how it ended (exit status and the log's last line). SIGTERM
(a cancel) stops it like Ctrl-C: every write is atomic, and a rerun resumes.
"""

from __future__ import annotations

import os
import signal
import sys

from workbench.cli import main
from workbench.store import Store, jobs

__all__ = ["run_job"]


def _last_line(store: Store, job_id: int) -> str | None:
    """The log's last line (the one-line error of a failed command), at most 300 characters."""
    lines = [ln for ln in (store.job_log_tail(job_id, 4096) or "").splitlines() if ln.strip()]
    return lines[-1].strip()[:300] if lines else None


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def run_job(store: Store, job_id: int) -> int:
    """The worker: run job `job_id`'s command in this process and record how it ended."""
    argv = jobs.claim(store, job_id)
    if argv is None:  # not queued: cancelled before it started, or another worker has it
        return 2
    signal.signal(signal.SIGTERM, _interrupt)  # cancel: stop like Ctrl-C (writes are atomic; a rerun resumes)
    os.environ[jobs.WORKER_ENV] = str(job_id)
    print(f"job {job_id}: workbench {' '.join(argv)}", flush=True)
    try:
        code = main(argv)
    except SystemExit as exit_:  # argparse
        code = exit_.code if isinstance(exit_.code, int) else 2
    sys.stdout.flush()
    jobs.finish(store, job_id, code, None if code == 0 else _last_line(store, job_id) or f"exit status {code}")
    print(f"job {job_id}: exit status {code}", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(run_job(Store(sys.argv[2]), int(sys.argv[1])))
