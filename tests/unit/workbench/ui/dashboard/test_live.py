"""Issue 30 item 10: the explore page follows a run while it trains (live.poll)."""

from __future__ import annotations

from dash import no_update

from workbench.store import Store
from workbench.testing.synthetic import synthetic_run
from workbench.ui.dashboard import data, live
from workbench.ui.dashboard.callbacks import slider_marks


def test_new_checkpoints_grow_the_slider_and_the_progress_counts_epochs(tmp_path):
    store = Store(tmp_path)
    key = synthetic_run(store, p=7, epochs=[0, 100, 200], n_neurons=8, n_heads=2, analyzers=["turn"])
    store.write_status(key, 250, 300, "running")
    vid = data.variant_id(key)
    info = {"vid": vid, "epochs": [0, 100], "turn": None, "groups": ["training"]}
    new, top, marks, value, note = live.poll(store, info, 1, slider_marks)  # at the last: follows the newest
    assert new["epochs"] == [0, 100, 200] and new["groups"] == ["training"] and top == 2 and value == 2
    assert marks["2"] and note == "training: epoch 250 of 300 (83%)"
    assert live.poll(store, info, 0, slider_marks)[3] == 0  # elsewhere: keeps the epoch shown
    same = live.poll(store, new, 2, slider_marks)  # nothing new: the slider is left alone
    assert same[:4] == (no_update,) * 4 and same[4] == "training: epoch 250 of 300 (83%)"
    store.write_status(key, 300, 300, "done")
    assert live.poll(store, new, 2, slider_marks)[4] == ""  # finished: no progress line


def test_a_bad_poll_changes_nothing(tmp_path):
    store = Store(tmp_path)
    for info in (None, {"vid": "../x"}, {"vid": "nope/run"}):
        assert live.poll(store, info, 0, slider_marks) == (no_update,) * 4 + ("",)


def test_a_run_without_its_turn_analyzed_is_not_said_to_have_no_turn(tmp_path):
    store = Store(tmp_path)
    bare = synthetic_run(store, p=7, epochs=[0, 100], seed=0, n_neurons=8, n_heads=2, analyzers=["neuron_activations"])
    turned = synthetic_run(store, p=7, epochs=[0, 100], seed=1, n_neurons=8, n_heads=2, analyzers=["turn"])
    assert not data.markers_analyzed(store, bare) and data.markers_analyzed(store, turned)
