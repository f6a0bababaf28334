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
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from typing import Callable

import torch
from threadpoolctl import threadpool_limits

from workbench.analysis.checkpoint import CheckpointJob
from workbench.core.errors import UserError
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
    """Worker initializer: one CheckpointJob for this process, reading the parent's references from the store.

    The references travel as (analyzer -> epoch), never as arrays: spawn writes the initializer's
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


def run_parallel(job, epochs: list[int], names: list[str], jobs: int, tick: Callable[[], None],
                 threads: int | None = None) -> None:
    """`job.checkpoint(e, names)` for every e of `epochs` in `jobs` processes; tallies merged into `job`.

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
    args = (job.store.root, job.key, job.force, job.device, job.options, job.ref_epochs, job.ref_stamp, threads, job.probe)
    results = []
    try:
        with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn"), initializer=_start,
                                 initargs=args) as pool:
            for future in as_completed([pool.submit(_checkpoint, e, names) for e in epochs]):
                results.append(future.result())
                tick()
    except BrokenProcessPool:
        raise UserError(f"an analysis worker process died (killed, or out of memory) after {len(results)} of "
                        f"{len(epochs)} checkpoints; what was written is kept: rerun to finish") from None
    for _, computed, skipped, failed, errors, diverged in sorted(results, key=lambda r: r[0]):
        job.computed += computed
        job.skipped += skipped
        job.failed += [f for f in failed if f not in job.failed]
        for name, error in errors.items():
            job.errors.setdefault(name, error)
        if diverged is not None and (job.diverged is None or diverged < job.diverged):
            job.diverged = diverged
