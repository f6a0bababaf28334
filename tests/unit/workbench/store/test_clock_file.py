"""A run's clock file (wall time at each evaluation): written atomically, read back, refused when damaged."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.core.errors import CorruptFile
from workbench.query.views import run_clock, wall_time_missing
from workbench.store import RunKey, Store
from workbench.store._io import save_npz
from workbench.store.clock import read_clock, write_clock

KEY = RunKey("modular_addition", "p=7")


def test_a_clock_reads_back_as_written_and_a_run_without_one_says_why(tmp_path):
    store = Store(tmp_path)
    assert read_clock(store, KEY) is None and run_clock(store, KEY) is None
    assert "records no wall time" in wall_time_missing(store, KEY)
    write_clock(store, KEY, [0, 10, 20], [0.0, 1.5, 3.0])
    epochs, seconds = read_clock(store, KEY)
    assert epochs.dtype == np.int64 and list(epochs) == [0, 10, 20] and list(seconds) == [0.0, 1.5, 3.0]
    assert wall_time_missing(store, KEY) is None
    assert not list(store.run_dir(KEY).glob(".*tmp"))
    with pytest.raises(ValueError):
        write_clock(store, KEY, [0, 10], [0.0])


@pytest.mark.parametrize("epochs, seconds", [([0, 20, 10], [0.0, 1.0, 2.0]), ([0, 10], [2.0, 1.0]),
                                             ([0, 10], [0.0, np.nan]), ([0, 10], [0.0])])
def test_a_clock_that_goes_back_is_corrupt(tmp_path, epochs, seconds):
    store = Store(tmp_path)
    store.run_dir(KEY).mkdir(parents=True)
    save_npz({"epoch": np.asarray(epochs), "seconds": np.asarray(seconds)}, store.clock_path(KEY))
    with pytest.raises(CorruptFile, match="clock.npz"):
        read_clock(store, KEY)
    assert run_clock(store, KEY) is None and "cannot be read" in wall_time_missing(store, KEY)
