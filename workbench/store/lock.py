"""Per-run job locks: one `train` and one `analyze` at a time on a run, never two of a kind.

A lock is an exclusive `fcntl.flock` on a small file in the run directory
(`Store.lock_path(key, job)`), so the kernel releases it when its process dies: a
`kill -9` never leaves a run locked. The holder writes its pid and command line into the
file, which is how a refused second job can say who holds the run.

Training and analysis take different locks on purpose: `analyze` reads only finished
checkpoints (each is written atomically and announced by the resume file), so it may run
while the run trains; two trainers, or two analyzers writing the same artifacts, may not.
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
import time
from contextlib import contextmanager
from typing import Iterator

from workbench.core.errors import UserError
from workbench.store.file_store import RunKey, Store

__all__ = ["run_lock", "holder"]


def holder(store: Store, key: RunKey, job: str) -> dict | None:
    """What the lock file says about its last holder ({pid, job, command, since}), if readable."""
    try:
        return json.loads(store.lock_path(key, job).read_text() or "null")
    except (OSError, ValueError):
        return None


@contextmanager
def run_lock(store: Store, key: RunKey, job: str) -> Iterator[None]:
    """Hold the run's `job` lock for the block; UserError naming the holder if it is taken.

    Args:
        store: the store.
        key: the run.
        job: "train" or "analyze".
    """
    path = store.lock_path(key, job)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            info = holder(store, key, job) or {}
            who = f"process {info['pid']} ({info.get('command', '?')})" if "pid" in info else "another process"
            raise UserError(f"{key.family}:{key.variant} is locked for {job} by {who}; "
                            f"wait for it to finish or stop it") from None
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"pid": os.getpid(), "job": job, "command": " ".join(sys.argv[:4])[:200],
                                 "since": time.time()}).encode())
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the flock
