"""Seed groups on the compare page: bands from hand-built runs, grouping, the difference table."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.store import Store
from workbench.testing.synthetic import listed_run
from workbench.ui.dashboard import compare
from workbench.query.bands import _centre_and_band, add_group, common_grid
from workbench.ui.dashboard.compare_groups import grouping_of, group_table_children


def test_common_grid_keeps_the_range_every_run_covers():
    a = (np.array([0.0, 100, 200]), np.array([0.0, 1, 2]))
    b = (np.array([50.0, 150, 250]), np.array([10.0, 11, 12]))
    grid, table = common_grid([a, b])
    assert grid.tolist() == [50, 100, 150, 200]
    assert table[0].tolist() == [0.5, 1, 1.5, 2] and table[1].tolist() == [10, 10.5, 11, 11.5]


def test_band_is_the_range_or_the_interval_and_log_panels_average_in_log():
    table = np.array([[1.0, 2.0], [3.0, 6.0]])
    mean, lo, hi = _centre_and_band(table, "minmax", log_y=False)
    assert mean.tolist() == [2, 4] and lo.tolist() == [1, 2] and hi.tolist() == [3, 6]
    mean, lo, hi = _centre_and_band(np.array([[1.0], [100.0]]), "ci", log_y=True)
    assert mean[0] == pytest.approx(10.0)  # geometric mean of 1 and 100
    assert lo[0] == pytest.approx(1.0) and hi[0] == pytest.approx(100.0)  # resampled means of 2 runs span both
    assert _centre_and_band(table[:1], "minmax", False)[1] is None  # one run: no band


def test_a_group_draws_band_thin_lines_and_mean():
    import plotly.graph_objects as go
    fig = go.Figure()
    runs = [(np.array([0.0, 1]), np.array([0.0, 1])), (np.array([0.0, 1]), np.array([2.0, 3]))]
    add_group(fig, "p=17", "#1f77b4", runs, band="minmax", runs=True)
    assert len(fig.data) == 2 + 2 + 1 and fig.data[1].fill == "tonexty"
    assert fig.data[-1].name == "p=17 (n=2)" and fig.data[-1].y.tolist() == [1, 2]


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "store")
    for seed, acc, onset in ((0, 0.6, 300), (1, 0.8, 500), (2, 1.0, 400)):
        listed_run(s, f"modular_addition:p=17,seed={seed}", test_acc=acc, onset=onset)
    for seed, acc in ((0, 0.5), (1, 0.52), (2, 0.51)):
        listed_run(s, f"modular_addition:p=19,seed={seed}", test_acc=acc, onset=700)
    return s


def test_selection_becomes_seed_groups_in_selection_order(store):
    keys = list(reversed(store.runs()))  # p=19 runs first
    g = grouping_of(store, keys, "seeds", "ci", ["runs"])
    assert g.names == ["p=19 seed=0-2", "p=17 seed=0-2"] and [len(k) for k in g.keys] == [3, 3]
    assert g.band == "ci" and g.runs
    assert grouping_of(store, keys, "runs", "ci", []) is None
    assert grouping_of(store, keys, "seeds", "bogus", "x").band == "minmax"  # untrusted values fall back


def test_overlay_draws_one_mean_per_group_and_the_turns_as_a_rug(store):
    g = grouping_of(store, store.runs(), "seeds", "minmax", [])
    fig, missing = compare.overlay_figure(store, store.runs(), "test_acc", "epoch", grouping=g)
    means = [t for t in fig.data if t.showlegend is not False]
    assert [t.name for t in means] == ["p=17 seed=0-2 (n=3)", "p=19 seed=0-2 (n=3)"] and missing == []
    assert means[0].y[-1] == pytest.approx(0.8)
    ticks = [s for s in fig.layout.shapes if s.type == "line" and s.line.width == 1.5]
    assert sorted(s.x0 for s in ticks) == [300, 400, 500, 700, 700, 700]


def test_group_table_marks_differences_with_the_stated_test(store):
    children = group_table_children(grouping_of(store, store.runs(), "seeds", "minmax", []))
    text = str(children)
    assert "p=19 seed=0-2 vs p=17 seed=0-2" in text and "Welch p=" in text and "permutation p=0.1 exact" in text
    assert "within spread" in text  # 3 a side: the exact permutation p is 0.1 at best


def test_group_table_names_each_groups_outliers(tmp_path):
    s = Store(tmp_path / "store")
    for seed, acc in enumerate((0.99, 0.98, 1.0, 0.99, 0.2)):
        listed_run(s, f"modular_addition:p=17,seed={seed}", test_acc=acc, onset=400)
    for seed in range(3):
        listed_run(s, f"modular_addition:p=19,seed={seed}", test_acc=1.0, onset=500)
    children = group_table_children(grouping_of(s, s.runs(), "seeds", "minmax", []))
    rows = children[1].children[1].children
    cells = [c.children for c in rows[-1].children]
    assert cells[0] == "outliers" and cells[1].startswith("seed=4: test_acc 0.2 (-53") and cells[2] == "none"
    assert "1.4826" in children[2].children


def test_the_url_keeps_the_grouping():
    from dash import no_update
    out = dict(zip([f.key for f in compare.STATE], compare.restore("?group=seeds&band=ci&thin=runs", None)))
    assert (out["group"], out["band"], out["thin"]) == ("seeds", "ci", ["runs"]) and out["compare"] is no_update
    out = dict(zip([f.key for f in compare.STATE], compare.restore("?group=bogus&band=wide", None)))
    assert out["group"] is no_update and out["band"] is no_update  # crafted values are not applied
