"""A run's wall time: the seconds of training so far at each evaluated epoch (clock.npz).

The trainer writes it beside the metrics at every checkpoint (workbench.training.clock).
It is a file of its own, not a column of metrics.npz, because it is the one thing two
trainings of the same run do not share: resume, densify and the sweep backends are
checked bit-identical in their metrics, and code that draws or tabulates every metric
column would pick a clock column up. Arrays: `epoch` (int64, increasing) and `seconds`
(float64, non-decreasing). A run trained before it was recorded has none; readers say so
(`NO_CLOCK`) instead of failing.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from workbench.core.errors import CorruptFile, MissingFile
from workbench.store._io import load_npz, save_npz
from workbench.store.file_store import RunKey, Store

__all__ = ["read_clock", "write_clock", "clock_signature", "NO_CLOCK"]

NO_CLOCK = "the run records no wall time (trained before it was recorded)"


def write_clock(store: Store, key: RunKey, epochs: Sequence[int], seconds: Sequence[float]) -> None:
    """Replace the run's clock with (epoch, seconds) pairs, atomically."""
    if len(epochs) != len(seconds):
        raise ValueError(f"{len(epochs)} epochs but {len(seconds)} times")
    save_npz({"epoch": np.asarray(epochs, dtype=np.int64), "seconds": np.asarray(seconds, dtype=np.float64)},
             store.clock_path(key))


def read_clock(store: Store, key: RunKey) -> tuple[np.ndarray, np.ndarray] | None:
    """(epochs, seconds) of the run's clock; None if it has none.

    Raises:
        CorruptFile (one line naming the file) if it cannot be read or its epochs do not increase
        or its times decrease.
    """
    path = store.clock_path(key)
    try:
        arrays = load_npz(path, keys=("epoch", "seconds"))
    except MissingFile:
        return None
    epochs, seconds = arrays["epoch"], arrays["seconds"]
    if epochs.ndim != 1 or epochs.shape != seconds.shape or np.any(np.diff(epochs) <= 0) \
            or np.any(np.diff(seconds) < 0) or not np.all(np.isfinite(seconds)):
        raise CorruptFile(path, "its epochs do not increase, or its times are not a non-decreasing series")
    return epochs.astype(np.int64), seconds.astype(np.float64)


def clock_signature(store: Store, key: RunKey) -> tuple[int, int] | None:
    """What changes whenever the clock is rewritten (for caches); None without one."""
    return store._signature(store.clock_path(key))
