"""The training clock: seconds of training so far at each evaluated epoch, for wall time as an x axis.

A monotone clock (time.perf_counter) read when an epoch's steps are done, before it is
evaluated, so each reading includes the evaluations and checkpoints before it but not its
own. A fresh run reads 0.0 at epoch 0. A resumed run continues from the reading stored at
the epoch it resumes from, so the time between sessions (and the resume's own loading) is
not counted; readings past that epoch (left by a kill) are dropped, as the metrics' are.
Stacked members share one clock. A run resumed from an epoch its clock lacks (trained
before clocks were recorded) records none: a clock that restarts mid-run would misplace
every point before it. The readings never enter the weights, the metrics or anything
compared for exact resume; the store writes them to their own file (workbench.store.clock).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from workbench.core.errors import CorruptFile
from workbench.store import RunKey, Store
from workbench.store.clock import read_clock, write_clock

__all__ = ["TrainingClock"]


class TrainingClock:
    """Readings of one training job (shared by its stacked members), counted from when it is made;
    `None` epochs: not recording."""

    def __init__(self, epochs: list[int] | None = None, seconds: list[float] | None = None):
        self.epochs, self.seconds = (epochs, seconds) if epochs is not None else (None, None)
        self._base = seconds[-1] if seconds else 0.0
        self._t0 = time.perf_counter()

    @classmethod
    def start(cls, store: Store, keys: Sequence[RunKey], start_epoch: int, fresh: bool) -> "TrainingClock":
        """A fresh run's clock at 0, or a resumed one's from the lead member's reading at `start_epoch`
        (not recording if any member lacks that reading or its clock is unreadable)."""
        if fresh:
            return cls([0], [0.0])  # no training yet at epoch 0
        kept = [_through(store, key, start_epoch) for key in keys]
        return cls(*kept[0]) if all(k is not None for k in kept) else cls()

    @property
    def recording(self) -> bool:
        return self.epochs is not None

    def mark(self, epoch: int) -> None:
        """Record the seconds of training so far at `epoch` (once per epoch)."""
        if self.recording and (not self.epochs or epoch > self.epochs[-1]):
            self.epochs.append(epoch)
            self.seconds.append(self._base + time.perf_counter() - self._t0)

    def write(self, store: Store, key: RunKey) -> None:
        """Store the readings so far as the run's clock (nothing if not recording)."""
        if self.recording:
            write_clock(store, key, self.epochs, self.seconds)


def _through(store: Store, key: RunKey, epoch: int) -> tuple[list[int], list[float]] | None:
    """The run's readings at epochs <= `epoch`, if it has one at `epoch`; None otherwise."""
    try:
        clock = read_clock(store, key)
    except CorruptFile:
        return None
    if clock is None or epoch not in set(clock[0].tolist()):
        return None
    keep = clock[0] <= epoch
    return clock[0][keep].tolist(), clock[1][keep].tolist()
