"""The prefetcher renders the neighbouring checkpoints into the caches, and changes no answer."""

from __future__ import annotations

import pytest
from plotly.io.json import to_json_plotly

from workbench.ui.dashboard import callbacks, data, panels
from workbench.ui.dashboard.groups import GROUPS
from workbench.ui.dashboard.prefetch import Prefetcher, neighbours

EPOCHS = [0, 100, 200, 300]  # the checkpoints of the conftest store
ALL = [g.gid for g in GROUPS]


@pytest.mark.parametrize("at, previous, expected", [
    (100, None, [200, 0]), (100, 0, [200, 0]), (100, 200, [0, 200]),  # the direction of travel first
    (0, None, [100]), (300, 200, [200]), (150, None, []),  # ends; not a checkpoint: nothing
])
def test_neighbours_lead_in_the_direction_of_travel(at, previous, expected):
    assert neighbours(EPOCHS, at, previous) == expected


def _step(store, vid, index, drawn=None, prefetcher=None):
    return callbacks.panel_outputs(store, vid, index, {"epochs": EPOCHS}, {}, ALL, drawn or {}, prefetcher)


def _loads() -> tuple[int, int]:
    """(figure renders, artifact reads) so far: the misses of the two caches."""
    return data._figure_json.cache_info().misses, data._load.cache_info().misses


def test_a_step_to_a_prefetched_checkpoint_is_a_cache_hit_with_the_same_answer(store, vid):
    data.clear_caches()
    plain = _step(store, vid, 2, _step(store, vid, 1)[-1])  # epoch 100 then 200, no prefetching
    data.clear_caches()
    prefetcher = Prefetcher()
    first = _step(store, vid, 1, None, prefetcher)  # epoch 100: the prefetcher renders 200 and 0 behind it
    assert prefetcher.wait_idle()
    before = _loads()
    warmed = _step(store, vid, 2, first[-1])
    assert _loads() == before  # nothing rendered or read: figures and patches came from the caches
    assert to_json_plotly(warmed) == to_json_plotly(plain)  # and the answer is the same, patches included


def test_a_newer_request_replaces_a_pending_one(store, vid):
    prefetcher = Prefetcher()
    req = panels.make_request(store, vid, 300, {})
    views = panels.shown_per_epoch(store, req, set(ALL))
    assert views and all(v in panels.VIEWS for v in views)
    prefetcher.submit(store, panels.make_request(store, vid, 100, {}), views)
    prefetcher.submit(store, req, views)  # before the first has started, or while it runs: it gives way
    assert prefetcher.wait_idle()
    data.clear_caches()
    assert prefetcher.wait_idle()  # nothing left pending
