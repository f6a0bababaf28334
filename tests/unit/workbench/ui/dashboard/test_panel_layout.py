"""Issue 30 item 10: no family's groups show the same curves in two panels (a view that draws
another's curves in full replaces it), checked on runs of all five families."""

from __future__ import annotations

import pytest

from workbench.core.view import drop_replaced, get_view, list_views
from workbench.store import Store
from workbench.testing.synthetic import listed_run
from workbench.ui.dashboard import data
from workbench.ui.dashboard.groups import GROUPS
from workbench.ui.dashboard.layout import lone_views, panel_class

SPECS = ("modular_addition:p=17", "modular_arithmetic:p=17", "least_action:p=17", "interleaved_streams",
         "universal_modular:max_p=13,train_min=2,train_max=11,n_unseen=1,d_model=16,n_heads=2,d_mlp=32,d_sin=8")


def test_a_replacing_view_drops_the_view_it_draws_in_full():
    assert drop_replaced(["loss_curves", "training_curves", "loss_decomposition"]) == \
        ["training_curves", "loss_decomposition"]
    assert drop_replaced(["loss_curves", "loss_decomposition"]) == ["loss_curves", "loss_decomposition"]
    assert drop_replaced(["smoothness", "smoothness_both"]) == ["smoothness_both"]


def test_every_replaced_view_is_a_registered_one():
    for name in list_views():
        assert all(r in list_views() for r in get_view(name).replaces), name


@pytest.mark.parametrize("spec", SPECS)
def test_no_group_shows_a_view_and_one_that_replaces_it(tmp_path, spec):
    store = Store(tmp_path / "store")
    key = listed_run(store, spec, epochs=200, every=100)
    shown = data.shown_views(store, key)
    assert shown, spec
    for group in GROUPS:
        views = [p.view for p in group.panels if p.view in shown]
        replaced = {r for v in views for r in get_view(v).replaces}
        assert not replaced & set(views), (spec, group.gid, views)


def test_least_action_shows_its_training_curves_once(tmp_path):
    store = Store(tmp_path / "store")
    shown = data.shown_views(store, listed_run(store, "least_action:p=17", epochs=200, every=100))
    assert "training_curves" in shown and "loss_curves" not in shown
    assert "smoothness_both" in shown and "smoothness" not in shown
    other = data.shown_views(store, listed_run(store, "modular_addition:p=17", epochs=200, every=100))
    assert "loss_curves" in other  # a family without the 2x2 keeps its loss curves


def test_a_half_width_panel_alone_in_its_row_is_lone(tmp_path):
    store = Store(tmp_path / "store")
    la = lone_views(data.shown_views(store, listed_run(store, "least_action:p=17", epochs=200, every=100)))
    # training: training_curves (wide), then loss_decomposition alone; embeddings: unembedding_fourier alone
    assert {"loss_decomposition", "unembedding_fourier"} <= la
    assert "training_curves" not in la  # a wide panel spans its row anyway
    ma = lone_views(data.shown_views(store, listed_run(store, "modular_addition:p=17", epochs=200, every=100)))
    assert {"loss_curves", "loss_decomposition", "neuron_freq_clusters", "neuron_heatmap"}.isdisjoint(ma)  # pairs
    assert "fourier_gini" in ma  # the third half-width panel of output, before the wide input_trace
    assert lone_views(["loss_curves"]) == {"loss_curves"} and lone_views([]) == set()
    assert panel_class("loss_curves", lone=True).split() == ["panel", "trajectory", "lone"]
    assert "lone" not in panel_class("training_curves", lone=True)
