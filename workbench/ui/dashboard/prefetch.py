"""Render the neighbouring checkpoints of what the page shows, while the browser draws this one.

Scrubbing moves one checkpoint at a time (arrow keys, a slider drag). Right after the
server answers for checkpoint i, one background thread renders the same open per-epoch
panels at i + 1 and i - 1 (the direction of the last step first) into the caches the
panels callback reads: the figure cache for rendered views, the artifact cache for the
views the browser patches (those that declare a `repaint`). The next step is then a cache hit, and the
server's part of it shrinks to the request itself.

One worker thread; a newer request replaces a pending one, so a fast scrub never queues
stale work. Prefetching only fills caches: it never changes what a callback answers.
"""

from __future__ import annotations

import logging
import threading

from workbench.ui.dashboard import data, fast
from workbench.ui.dashboard.panels import render_options

__all__ = ["Prefetcher", "neighbours"]

log = logging.getLogger(__name__)


def neighbours(epochs: list[int], at: int | None, previous: int | None) -> list[int]:
    """The checkpoints next to `at`, the one in the direction of travel (from `previous`) first."""
    if at not in epochs:
        return []
    i = epochs.index(at)
    after, before = epochs[i + 1:i + 2], epochs[max(i - 1, 0):i]
    backwards = previous is not None and previous > at
    return before + after if backwards else after + before


class Prefetcher:
    """A single background worker that warms the caches for a request's neighbouring checkpoints."""

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._job: tuple | None = None
        self._busy = False
        self._last: dict[str, int | None] = {}  # variant id -> the checkpoint asked for last
        self._thread: threading.Thread | None = None

    def submit(self, store, req: dict, views: list[str]) -> None:
        """Replace any pending job with the neighbours of this request, for `views` (returns at once).

        Args:
            store: the served store; req: the validated request (`panels.make_request`);
            views: the per-epoch views the page shows (open, applicable to the run).
        """
        previous = self._last.get(req["vid"])
        self._last[req["vid"]] = req["at"]
        targets = neighbours(data.epochs(store, req["key"]), req["at"], previous)
        if not views or not targets:
            return
        with self._lock:
            self._job = (store, req, list(views), targets)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="dashboard-prefetch", daemon=True)
                self._thread.start()
            self._lock.notify()

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Block until no job is pending or running (tests and benchmarks); False on timeout."""
        with self._lock:
            return self._lock.wait_for(lambda: self._job is None and not self._busy, timeout)

    def _run(self) -> None:
        while True:
            with self._lock:
                if not self._lock.wait_for(lambda: self._job is not None, timeout=60.0):
                    return  # idle a minute: the thread ends, the next submit starts another
                store, req, views, targets = self._job
                self._job, self._busy = None, True
            try:
                self._warm(store, req, views, targets)
            except Exception:  # a cache warmer must never take anything down
                log.exception("prefetch failed")
            finally:
                with self._lock:
                    self._busy = False
                    self._lock.notify_all()

    def _warm(self, store, req: dict, views: list[str], targets: list[int]) -> None:
        for epoch in targets:
            for view in views:
                with self._lock:
                    if self._job is not None:
                        return  # a newer request: its neighbours matter now
                try:
                    if fast.repaints(view):
                        fast.warm(store, req["key"], view, epoch)
                    else:
                        data.view_figure_cached(store, req["key"], view, epoch, **render_options(view, req))
                except Exception as err:  # missing data, a renderer's error: the panel will say so itself
                    log.debug("prefetch of %s at %s skipped: %s", view, epoch, err)
