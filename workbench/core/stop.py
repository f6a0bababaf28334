"""A stop request (a cancel's SIGTERM) that a swallowed exception cannot lose.

A cancel sends SIGTERM; the job should stop like Ctrl-C, so that its record is finished and
a rerun resumes (every write is atomic). Raising KeyboardInterrupt from the signal handler
alone is not enough: if the signal arrives while Python runs a finalizer or a callback whose
exceptions are printed and dropped ("Exception ignored in ..."), the interrupt is lost, the
job runs on, and the cancel escalates to SIGKILL. So the handler also sets a flag, and the
long loops (training steps, analysis epochs, waits on workers) call `check()`, which raises
KeyboardInterrupt again for as long as the flag is set.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["check", "requested", "on_sigterm"]

_requested = False


def _handler(signum, frame) -> None:
    global _requested
    _requested = True
    raise KeyboardInterrupt


def requested() -> bool:
    """Whether a stop was requested in this process (and not yet handled by `on_sigterm`'s exit)."""
    return _requested


def check() -> None:
    """Raise KeyboardInterrupt if a stop was requested; call between steps of long work."""
    if _requested:
        raise KeyboardInterrupt


@contextmanager
def on_sigterm() -> Iterator[None]:
    """Within this block SIGTERM stops the work like Ctrl-C, and stays requested until it ends.

    Main thread only (elsewhere a no-op: Python runs signal handlers in the main thread).
    """
    global _requested
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        _requested = False
