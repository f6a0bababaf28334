"""Per-checkpoint analysis in worker processes: `workbench analyze --jobs N`.

Each worker is spawned (a fork would inherit torch's and BLAS's thread pools, which do not
survive it), builds the parent's `CheckpointJob` once (same store, run, options and
references, read from the store at the epochs the parent read them) and runs `CheckpointJob.checkpoint` on the epochs it is handed, writing
each artifact atomically itself, exactly as the parent would. The parent merges the
workers' tallies in epoch order, so the result does not depend on which worker finished
first. Each worker runs the torch threads the parent chose for it (workbench.core.compute:
the cores, or the user's count, shared between the workers, at least one each) and BLAS on one thread, as
the parent's loop does. A worker that dies (killed, out of memory) is one line naming what
happened; the artifacts already written stay, and a rerun resumes.
"""

from __future__ import annotations

import multiprocessing
import os
from multiprocessing.connection import wait
from typing import Callable

import torch
from threadpoolctl import threadpool_limits

from workbench.analysis.checkpoint import CheckpointJob
from workbench.core.errors import UserError
from workbench.core.stop import check as check_stop
from workbench.store import Store

__all__ = ["default_jobs", "run_parallel", "MAX_DEFAULT_JOBS"]

MAX_DEFAULT_JOBS = 16  # each worker holds a model, its probe cache and (on CUDA) a context
MIN_CHECKPOINTS_PER_JOB = 4  # a spawned worker first imports torch, TransformerLens and the plugins (4.4 s of CPU)

_worker = None  # the worker process's CheckpointJob, built once by _start


def default_jobs(n_checkpoints: int, cpus: int | None = None) -> int:
    """Workers for `n_checkpoints` on `cpus` cores (default: the cores this process may use).

    One per two cores (each worker runs torch on the cores it is given; on the 2-core VM two
    workers measured no faster than one, bench/RESULTS.md), at most MAX_DEFAULT_JOBS and at
    most one per MIN_CHECKPOINTS_PER_JOB checkpoints: 1 on a 2-core machine.

    >>> default_jobs(36, cpus=2), default_jobs(36, cpus=64), default_jobs(200, cpus=64)
    (1, 9, 16)
    """
    cpus = cpus or len(os.sched_getaffinity(0))
    return max(1, min(cpus // 2, MAX_DEFAULT_JOBS, n_checkpoints // MIN_CHECKPOINTS_PER_JOB))


def _start(root, key, force: bool, device: str, options: dict, ref_epochs: dict, ref_stamp: str, threads: int,
           probe=None) -> None:
    """Worker set-up: one CheckpointJob for this process, reading the parent's references from the store.

    The references travel as (analyzer -> epoch), never as arrays: spawn writes the process's
    arguments into a pipe whose read end the parent holds until the write ends, so arguments over
    the pipe's buffer hang the parent for good if the worker dies before reading them (Python 3.11).
    They are always the canonical probe's (a named probe's job reads the same references).
    """
    global _worker
    torch.set_num_threads(threads)
    threadpool_limits(limits=1, user_api="blas")  # for the worker's lifetime, as the parent's loop runs
    canonical = Store(root)
    store = canonical.with_probe(None if probe is None else probe.probe.name)
    _worker = CheckpointJob(store, key, store.read_variant(key), force, device, options, quiet=True, probe=probe)
    _worker.refs = {name: canonical.read_artifact(key, name, epoch) for name, epoch in ref_epochs.items()}
    _worker.ref_epochs, _worker.ref_stamp = dict(ref_epochs), ref_stamp


def _checkpoint(epoch: int, names: list[str]) -> tuple:
    """Run one checkpoint in this worker; what it added to the tallies."""
    job = _worker
    computed, skipped, failed, errors = job.computed, job.skipped, len(job.failed), set(job.errors)
    job.checkpoint(epoch, names)
    return (epoch, job.computed - computed, job.skipped - skipped, job.failed[failed:],
            {k: v for k, v in job.errors.items() if k not in errors}, job.diverged)


def _serve(conn, args: tuple, names: list[str]) -> None:
    """Worker loop: build the job once, then answer each epoch sent with its tallies; None stops it."""
    _start(*args)
    while (epoch := conn.recv()) is not None:
        try:
            conn.send(("ok", _checkpoint(epoch, names)))
        except Exception as err:  # noqa: BLE001 -- re-raised in the parent, as a pool's future would
            conn.send(("error", err))


def _died(done: int, total: int) -> UserError:
    return UserError(f"an analysis worker process died (killed, or out of memory) after {done} of {total} "
                     f"checkpoints; what was written is kept: rerun to finish")


def _readable(conn) -> bool:
    """Whether a worker's pipe has an answer (or an error) to read; a reset pipe reads as an error."""
    try:
        return conn.poll()
    except OSError:
        return True


def _hand(conn, todo: list[int], busy: dict, proc, done: int, total: int) -> None:
    """Send the next epoch of `todo` to this worker and mark it busy (nothing when all are handed out)."""
    if todo:
        try:
            conn.send(todo.pop(0))
        except OSError:  # BrokenPipeError: the worker is gone
            raise _died(done, total) from None
        busy[conn] = proc


def run_parallel(job, epochs: list[int], names: list[str], jobs: int, tick: Callable[[], None],
                 threads: int | None = None) -> None:
    """`job.checkpoint(e, names)` for every e of `epochs` in `jobs` processes; tallies merged into `job`.

    Each worker has its own pipe and is handed one epoch at a time; the parent waits on the pipes
    and on the processes' sentinels together, so a worker that dies at any moment (while it
    starts, computes or answers) is seen at once and the others are killed. A process pool
    shares one call queue and its locks between workers, and its shutdown can wait for good on
    a worker killed while holding them (seen once in CI: issue 24's test hung 300 s).

    Args:
        job: the parent's CheckpointJob (references already prepared).
        epochs, names: checkpoints and per-epoch analyzers.
        jobs: worker processes.
        tick: called once per finished checkpoint (progress bar, status).
        threads: torch threads per worker (default: the parent's, shared out).
    Raises:
        UserError (one line) if a worker process died.
    """
    threads = threads or max(1, torch.get_num_threads() // jobs)
    args = (job.store.root, job.key, job.force, job.device, job.options, job.ref_epochs, job.ref_stamp, threads,
            job.probe)
    ctx = multiprocessing.get_context("spawn")
    todo, results, workers = list(epochs), [], []
    try:
        for _ in range(min(jobs, len(todo))):
            conn, child = ctx.Pipe()
            proc = ctx.Process(target=_serve, args=(child, args, names), daemon=True)
            proc.start()
            child.close()
            workers.append((proc, conn))
        busy = {}  # the pipe of each worker with an epoch in hand -> its process
        for proc, conn in workers:
            _hand(conn, todo, busy, proc, len(results), len(epochs))
        while busy:
            ready = wait(list(busy) + [proc.sentinel for proc in busy.values()], timeout=1.0)
            check_stop()  # a cancel whose KeyboardInterrupt was swallowed still stops here
            for conn in [c for c in busy if c in ready or _readable(c)]:
                try:
                    status, value = conn.recv()
                except (EOFError, OSError):  # its end closed or reset: the worker is gone
                    raise _died(len(results), len(epochs)) from None
                if status == "error":
                    raise value
                results.append(value)
                tick()
                proc = busy.pop(conn)
                _hand(conn, todo, busy, proc, len(results), len(epochs))
            if any(not proc.is_alive() for conn, proc in busy.items() if not _readable(conn)):
                raise _died(len(results), len(epochs))
        for proc, conn in workers:
            try:
                conn.send(None)
            except OSError:  # it died after its last answer: nothing was lost
                continue
            proc.join(timeout=30)
    finally:
        for proc, conn in workers:
            if proc.is_alive():
                proc.kill()
            proc.join(timeout=10)
            conn.close()
    for _, computed, skipped, failed, errors, diverged in sorted(results, key=lambda r: r[0]):
        job.computed += computed
        job.skipped += skipped
        job.failed += [f for f in failed if f not in job.failed]
        for name, error in errors.items():
            job.errors.setdefault(name, error)
        if diverged is not None and (job.diverged is None or diverged < job.diverged):
            job.diverged = diverged
