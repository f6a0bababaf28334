"""Stacked members split into chunks by free device memory (workbench.training.members.chunk_sizes)."""

from __future__ import annotations

import pytest

from workbench.training.members import MEMORY_HEADROOM, chunk_sizes

GiB = 2**30


@pytest.mark.parametrize("n, free, per, expected", [
    (256, 100 * GiB, GiB, [64] * 4),            # 80 fit at a time: 4 even chunks, not 80+80+80+16
    (64, 80 * GiB, 50 * 2**20, [64]),           # everything fits: one chunk
    (8, 10 * GiB, GiB, [8]),                    # 10 GiB x 0.8 holds exactly 8
    (10, 10 * GiB, GiB, [5, 5]),                # 8 fit: two chunks of 5
    (7, 3 * GiB, GiB, [2, 2, 2, 1]),            # 2 fit: four chunks
    (5, 0, GiB, [1] * 5),                       # nothing free: one member at a time, never zero
    (3, 10 * GiB, 0, [3]),                      # a zero estimate cannot divide by zero
])
def test_chunk_sizes(n, free, per, expected):
    sizes = chunk_sizes(n, free, per)
    assert sizes == expected
    assert sum(sizes) == n and min(sizes) >= 1
    fit = max(1, int(free * MEMORY_HEADROOM) // max(1, per))
    assert max(sizes) <= max(1, fit)  # every chunk fits
    assert max(sizes) - min(sizes) <= 1  # as even as possible
    assert len(sizes) == -(-n // min(n, fit))  # as few as possible
