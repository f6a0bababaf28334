"""The job table in the store's run index: jobs started from the dashboard, and sweeps.

A job row records what runs (kind, target, the typed request, the runs it works on), its
state and its process. A job is `queued` until a slot frees (`take_slots`: at most N run
at once), `starting` once its worker is launched, `running` once the worker claims it,
then `done`, `failed`, `interrupted` (Ctrl-C, or a SIGTERM that was not a cancel: a rerun
resumes) or `cancelled`. Its process is recorded as pid + start time
(workbench.store._proc), so a pid the kernel has since given to another process is never
taken for the job: such a job reads "crashed", and cancelling it signals nothing.

`cancel` stops a running job's whole process group (a worker leads its own), or the
process alone for a command-line sweep (whose group is its caller's), waits until it is
gone, and says so if it could not. `recorded` records work this process runs itself,
`claim` / `finish` are the worker's side (workbench.cli.worker), and starting workers is
workbench.ui.jobs.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import sys
import time
from contextlib import closing, contextmanager
from typing import Any, Iterator

from workbench.core.errors import UserError
from workbench.core.stop import on_sigterm
from workbench.store._proc import pid_alive, same_process, start_ticks, valid_pid
from workbench.store.file_store import RunKey, Store
from workbench.store.index import connect, writing

__all__ = ["INTERRUPTED", "create", "list_jobs", "cancel", "recorded", "claim", "finish", "take_slots", "launched", "active_count",
           "WORKER_ENV", "ACTIVE"]

WORKER_ENV = "WORKBENCH_JOB_ID"  # set in a job worker: the commands it runs are that job already
ACTIVE = ("queued", "starting", "running")  # states a job can be cancelled in
_LAUNCH_S = 60  # a job marked starting whose worker never recorded itself by then reads as crashed
INTERRUPTED = 130  # the exit status of work stopped like Ctrl-C (workbench.cli.guarded)
_STOP_S = 15.0  # how long cancel waits for a job to stop after SIGTERM before SIGKILL


def create(store: Store, kind: str, target: str, request: Any, runs: list[str], max_queued: int | None = None) -> int:
    """Record a queued job (`request`: its typed request as JSON-ready data); its id.

    Raises:
        UserError if `max_queued` jobs already wait (checked in the same transaction).
    """
    with closing(connect(store)) as conn, writing(conn):
        waiting = conn.execute("SELECT COUNT(*) FROM jobs WHERE state = 'queued'").fetchone()[0]
        if max_queued is not None and waiting >= max_queued:
            raise UserError(f"{waiting} jobs already wait for a free slot (at most {max_queued}); wait for them, or "
                            "cancel some")
        return conn.execute("INSERT INTO jobs (kind, target, args, runs, state, created) VALUES (?, ?, ?, ?, ?, ?)",
                            (kind, target, json.dumps(request), json.dumps(runs), "queued", time.time())).lastrowid


# ------------------------------------------------------------------- reading
def _progress(store: Store, row) -> tuple[tuple[float, float] | None, float | None]:
    """((done, total), seconds left) summed over the job's runs' status.json files that this job
    wrote: of its own kind (an analyze job's, not the training's "300/300" before it), and written
    since it was queued. Seconds left: the runs' own estimates (eta_s, counted down since written),
    else extrapolated from the job's pace so far; None when neither is known."""
    done = total = 0.0
    etas: list[float] = []
    runs, wanted = _json(row["runs"], []), "analyze" if row["kind"] == "analyze" else "train"
    for vid in runs if isinstance(runs, list) else []:
        family, _, variant = str(vid).partition("/")
        try:
            status = store.read_status(RunKey(family, variant))
        except UserError:
            continue
        if not status or status.get("job") != wanted or not _number(status.get("updated")) >= row["created"]:
            continue
        if isinstance(status.get("done"), (int, float)) and isinstance(status.get("total"), (int, float)):
            done, total = done + status["done"], total + status["total"]
            if _number(status.get("eta_s")) >= 0 and status["done"] < status["total"]:
                etas.append(max(0.0, status["eta_s"] - max(0.0, time.time() - status["updated"])))
    if not total:
        return None, None
    return (done, total), sum(etas) if etas else _pace(row, done, total)


def _pace(row, done: float, total: float) -> float | None:
    """Seconds left at the pace since the job started (None before any progress)."""
    started = _number(row["started"])
    if not 0 < done < total or started == float("-inf"):
        return None
    return (time.time() - started) * (total - done) / done


def _number(value: object) -> float:
    """A number read from a file, or -inf for anything else (a damaged status.json)."""
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else float("-inf")


def _alive(row) -> bool:
    """Whether the job's recorded process still runs (a row from before start times: its pid)."""
    if row["pid_start"] is None:
        return pid_alive(row["pid"]) if valid_pid(row["pid"]) else False
    return same_process(row["pid"], row["pid_start"])


def _state(row) -> str:
    """The row's state; a running or starting job whose process is gone reads as "crashed"."""
    state = row["state"]
    if state == "running" and not _alive(row):
        return "crashed"
    if state == "starting" and (not _alive(row) if row["pid"] is not None
                                else time.time() - (row["started"] or row["created"]) > _LAUNCH_S):
        return "crashed"
    return state


def _json(text: str | None, default: Any) -> Any:
    """A JSON column; `default` for a damaged one (the row still lists)."""
    try:
        return json.loads(text) if text is not None else default
    except (TypeError, ValueError):
        return default


def list_jobs(store: Store, limit: int = 50) -> list[dict]:
    """The latest jobs, newest first, with live state, progress and "eta_s" (seconds left, estimated;
    None when unknown or not running) (empty without an index)."""
    if not store.index_path().is_file():
        return []
    with closing(connect(store)) as conn:
        rows = conn.execute("SELECT * FROM jobs ORDER BY id DESC LIMIT ?", (int(limit),)).fetchall()
    out = []
    for row in rows:
        job = {k: row[k] for k in row.keys()}
        runs = _json(row["runs"], None)
        job.update(state=_state(row), runs=runs if isinstance(runs, list) else [], args=_json(row["args"], None))
        if runs is None or job["args"] is None:
            job["error"] = job["error"] or "this job's row in the run index is damaged (not JSON)"
        job["progress"], job["eta_s"] = _progress(store, row) if job["state"] in ("running", "starting") else (None, None)
        out.append(job)
    return out


def active_count(conn: sqlite3.Connection) -> int:
    """Jobs starting or running whose process is alive (those that hold a slot)."""
    rows = conn.execute("SELECT * FROM jobs WHERE state IN ('starting', 'running')").fetchall()
    return sum(_state(r) in ("starting", "running") for r in rows)


# --------------------------------------------------------------------- slots
def take_slots(store: Store, limit: int) -> list[int]:
    """Mark the oldest queued jobs `starting`, as many as leave at most `limit` active; their ids.

    One write transaction, so two launchers never hand out the same slot.
    """
    with closing(connect(store)) as conn, writing(conn):
        free = limit - active_count(conn)
        if free <= 0:
            return []
        ids = [r["id"] for r in conn.execute("SELECT id FROM jobs WHERE state = 'queued' ORDER BY id LIMIT ?", (free,))]
        conn.executemany("UPDATE jobs SET state = 'starting', started = ? WHERE id = ?", [(time.time(), i) for i in ids])
    return ids


def launched(store: Store, job_id: int, pid: int) -> None:
    """Record the worker process started for a `starting` job (it leads its own process group)."""
    with closing(connect(store)) as conn, writing(conn):
        conn.execute("UPDATE jobs SET pid = ?, pid_start = ?, own_group = 1 WHERE id = ? AND state = 'starting'",
                     (pid, start_ticks(pid), job_id))


# -------------------------------------------------------------------- cancel
def cancel(store: Store, job_id: int, wait: float = _STOP_S) -> bool:
    """Cancel a queued or running job: mark it cancelled and stop its process.

    Returns:
        Whether the job was still queued or running (False for a finished, crashed or unknown job).
    Raises:
        UserError if its process could not be stopped (the job is then marked as it was).
    """
    if not store.index_path().is_file():
        return False
    with closing(connect(store)) as conn, writing(conn):
        row = conn.execute("SELECT * FROM jobs WHERE id = ?", (int(job_id),)).fetchone()
        if row is None or _state(row) not in ACTIVE:
            return False  # finished, or its process is gone: nothing to stop, nothing signalled
        conn.execute("UPDATE jobs SET state = 'cancelled', finished = ? WHERE id = ?", (time.time(), int(job_id)))
    if row["pid"] is None:
        return True  # never started
    try:
        _stop(row, wait)
    except UserError:
        with closing(connect(store)) as conn, writing(conn):
            conn.execute("UPDATE jobs SET state = ?, finished = NULL WHERE id = ? AND state = 'cancelled'",
                         (row["state"], int(job_id)))
        raise
    return True


def _signal(row, sig: int) -> None:
    """Send `sig` to the job's process group (a worker) or its process (a command-line sweep)."""
    pid = row["pid"]
    if not same_process(pid, row["pid_start"]):
        if row["own_group"]:  # the leader is gone; members of its group may remain
            try:
                os.killpg(pid, sig)
            except ProcessLookupError:
                pass
        return
    (os.killpg if row["own_group"] else os.kill)(pid, sig)


def _gone(row) -> bool:
    if same_process(row["pid"], row["pid_start"]):
        return False
    if not row["own_group"]:
        return True
    try:
        os.killpg(row["pid"], 0)  # a pgid is never handed out while its group has members
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _stop(row, wait: float) -> None:
    """SIGTERM, then SIGKILL after `wait` s; UserError if the process (group) is still there."""
    what = f"job {row['id']} (process {'group ' if row['own_group'] else ''}{row['pid']})"
    if row["pid_start"] is None:
        raise UserError(f"cannot stop {what}: its start time was not recorded, so its pid cannot be told from a "
                        "process that reused it; stop it yourself")
    try:
        for sig, patience in ((signal.SIGTERM, wait), (signal.SIGKILL, 5.0)):
            _signal(row, sig)
            deadline = time.monotonic() + patience
            while time.monotonic() < deadline:
                if _gone(row):
                    return
                time.sleep(0.1)
    except PermissionError:
        raise UserError(f"cannot stop {what}: not permitted to signal it (another user's process)") from None
    raise UserError(f"could not stop {what}: still running after SIGTERM and SIGKILL")


# ------------------------------------------------------------ own work recorded
@contextmanager
def recorded(store: Store, kind: str, target: str, args: Any, runs: list[str]) -> Iterator[int | None]:
    """Record work this process runs itself (a sweep from the command line) as a running job,
    then done, or failed with its error; yields the job id. Records nothing inside a job
    worker (that job is the record) or when the index cannot be written (warned)."""
    if os.environ.get(WORKER_ENV):
        yield None
        return
    now, pid = time.time(), os.getpid()
    try:
        store.root.mkdir(parents=True, exist_ok=True)  # the work is about to write there anyway
        with closing(connect(store)) as conn, writing(conn):
            job_id = conn.execute(
                "INSERT INTO jobs (kind, target, args, runs, state, pid, pid_start, own_group, created, started) "
                "VALUES (?, ?, ?, ?, 'running', ?, ?, ?, ?, ?)",
                (kind, target, json.dumps(args), json.dumps(runs), pid, start_ticks(pid), int(os.getpgrp() == pid),
                 now, now)).lastrowid
    except (UserError, sqlite3.Error, OSError) as err:
        print(f"workbench: warning: job not recorded: {err}", file=sys.stderr)
        yield None
        return
    code, error = 0, None
    try:
        with on_sigterm():  # a cancel stops this process like Ctrl-C, so its job row is finished
            yield job_id
    except KeyboardInterrupt:
        code, error = INTERRUPTED, "interrupted (Ctrl-C or SIGTERM); rerun the same command to resume"
        raise
    except BaseException as err:
        code, error = 1, " ".join(str(err).split())[:300] or type(err).__name__
        raise
    finally:
        try:
            finish(store, job_id, code, error)
        except (UserError, sqlite3.Error):
            pass  # the job then reads as crashed once this process is gone


# -------------------------------------------------------------------- worker
def claim(store: Store, job_id: int) -> Any:
    """Mark `starting` job `job_id` running in this process; its request, or None if it is not
    this process's to run (cancelled before it started, or another worker's)."""
    pid = os.getpid()
    with closing(connect(store)) as conn, writing(conn):
        row = conn.execute("SELECT args, state, pid FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None or row["state"] != "starting" or row["pid"] not in (None, pid):
            return None
        conn.execute("UPDATE jobs SET state = 'running', pid = ?, pid_start = ?, own_group = ?, started = ? "
                     "WHERE id = ?", (pid, start_ticks(pid), int(os.getpgrp() == pid), time.time(), job_id))
    return _json(row["args"], None)


def finish(store: Store, job_id: int, code: int, error: str | None) -> None:
    """Mark a running (or starting: its worker failed to start) job done (exit status 0), interrupted
    (INTERRUPTED: Ctrl-C, or a SIGTERM that was not a cancel) or failed, with `error`."""
    state = "done" if code == 0 else "interrupted" if code == INTERRUPTED else "failed"
    with closing(connect(store)) as conn, writing(conn):  # a cancelled job stays cancelled
        conn.execute("UPDATE jobs SET state = ?, finished = ?, error = ? WHERE id = ? AND state IN ('running', 'starting')",
                     (state, time.time(), error, job_id))
