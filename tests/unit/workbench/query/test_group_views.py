"""A run group drawn in a per-run view over training: mean, band, thin runs, turn rug, pooled null."""

from __future__ import annotations

import numpy as np
import pytest

import workbench
from workbench.core.errors import UserError
from workbench.query.group_views import distinct, group_view_figure, grouped_views
from workbench.store import RunKey, Store
from workbench.testing.synthetic import listed_run

ACCS, ONSETS = (0.6, 0.8, 1.0), (300, 500, 400)
GRID = np.arange(0, 1001, 100)


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "store")
    for seed, (acc, onset) in enumerate(zip(ACCS, ONSETS)):
        listed_run(s, f"modular_addition:p=17,seed={seed}", test_acc=acc, onset=onset)
    return s


def _keys(store):
    return [RunKey("modular_addition", k.variant) for k in store.runs()]


def _traces(fig, name, axis="x2"):
    return [t for t in fig.data if t.name == name and (t.xaxis or "x") == axis]


def test_mean_and_minmax_band_are_the_runs_mean_and_range(store):
    fig = group_view_figure(store, _keys(store), "loss_curves", band="minmax").figure
    (mean,) = _traces(fig, "test (n=3)")
    # listed_run's test accuracy is linspace(0, acc): the mean run is linspace(0, mean acc)
    assert np.allclose(mean.y, GRID / 1000 * np.mean(ACCS))
    band = [t for t in fig.data if t.fill == "tonexty" and (t.xaxis or "x") == "x2" and "test" in (t.legendgroup or "")]
    assert len(band) == 1
    assert np.allclose(band[0].y, GRID / 1000 * min(ACCS))  # the band's lower edge; the trace before is its top
    top = fig.data[fig.data.index(band[0]) - 1]
    assert np.allclose(top.y, GRID / 1000 * max(ACCS))


def test_log_panel_mean_is_geometric_and_ci_sits_inside_the_range(store):
    fig = group_view_figure(store, _keys(store), "loss_curves", band="ci").figure
    (loss,) = _traces(fig, "test (n=3)", axis="x")
    assert np.allclose(loss.y, np.linspace(2, 0.1, len(GRID)))  # every run has the same loss: its geometric mean
    (acc,) = _traces(fig, "test (n=3)")
    lo = next(t for t in fig.data if t.fill == "tonexty" and (t.xaxis or "x") == "x2" and "test" in t.legendgroup)
    assert np.all(lo.y >= GRID / 1000 * min(ACCS) - 1e-9) and np.all(lo.y <= np.asarray(acc.y) + 1e-9)


def test_runs_draws_each_run_thin_and_no_mean(store):
    fig = group_view_figure(store, _keys(store), "loss_curves", draw="runs").figure
    thin = [t for t in fig.data if (t.xaxis or "x") == "x2" and t.legendgroup == "test (n=3)"]
    assert len(thin) == 3 and all(t.line.width == 1 for t in thin)
    assert sorted(round(float(t.y[-1]), 6) for t in thin) == list(ACCS)
    assert not any(t.fill == "tonexty" for t in fig.data)
    both = group_view_figure(store, _keys(store), "loss_curves", draw="both").figure
    assert len([t for t in both.data if (t.xaxis or "x") == "x2" and t.legendgroup == "test (n=3)"]) == 3 + 2 + 1


def test_turn_is_a_rug_per_run_on_every_panel_with_the_group_range(store):
    fig = group_view_figure(store, _keys(store), "loss_curves").figure
    ticks = sorted((s.xref, s.x0) for s in fig.layout.shapes if s.type == "line" and s.line.width == 1.5
                   and s.y0 < 0.05)  # the onset row (lowest)
    assert ticks == [(x, e) for x in ("x", "x2") for e in sorted(ONSETS)]
    names = [t.name for t in fig.data if t.name and t.name.startswith("turn onset")]
    assert names == ["turn onset: mean 400, range 300–500 (n=3)"]
    assert not any(s.type == "line" and s.x0 == s.x1 and s.yref == "y domain" and s.y1 == 1 for s in fig.layout.shapes)


def test_a_run_without_data_is_left_out_with_why(store):
    ghost = RunKey("modular_addition", "p=17,seed=9")
    drawn = group_view_figure(store, [*_keys(store), ghost], "loss_curves")
    assert list(drawn.left_out) == [ghost] and "no trained run" in drawn.left_out[ghost]
    assert "group of 3 runs" in drawn.figure.layout.title.text


def test_pooled_null_draws_every_runs_null(store):
    names = np.array(["W_E", "W_U"])
    for i, key in enumerate(_keys(store)):
        store.write_summary(key, "dimensionality_trajectory", {
            "epochs": GRID, "matrix_names": names, "participation_ratio": np.full((len(GRID), 2), 3.0 + i),
            "spectral_gap": np.ones((len(GRID), 2))})
        store.write_null(key, "effective_dim", {"participation_ratio": np.full((16, 2), 20.0 + i),
                                                "null_kind": np.array("random"), "null_epoch": np.array(-1)})
    fig = group_view_figure(store, _keys(store), "dimensionality").figure
    nulls = [t for t in fig.data if "null" in (t.name or "")]
    assert nulls and all("48 draws" in t.name for t in nulls)  # 16 draws a run, 3 runs
    assert np.allclose(_traces(fig, "W_E (n=3)", axis="x")[0].y, 4.0)


def test_bad_view_band_or_draw_is_a_user_error(store):
    with pytest.raises(UserError, match="not a curve over training"):
        group_view_figure(store, _keys(store), "neuron_freq_clusters")
    with pytest.raises(UserError, match="band must be one of"):
        group_view_figure(store, _keys(store), "loss_curves", band="sometimes")
    assert "loss_curves" in grouped_views(store, _keys(store))


def test_api_finds_the_group_by_where_label_or_spec(store):
    listed_run(store, "modular_addition:p=19,seed=0", onset=200)
    fig = workbench.group_figure("p=17", "loss_curves", store=store, draw="both")
    assert isinstance(fig, workbench.Figure) and fig.layout.meta["left_out"] == {}
    label = workbench.list_groups(store)[0].label
    assert workbench.group_figure(label, "loss_curves", store=store).layout.title.text.count("group of 3 runs") == 1
    with pytest.raises(UserError, match="2 run groups match"):
        workbench.group_figure("n>=1", "loss_curves", store=store)


def test_runs_that_drew_the_same_null_count_it_once():
    same = np.arange(16.0)[:, None]
    assert len(distinct([same, same.copy(), same + 1])) == 2
    assert len(distinct([np.full((4, 1), np.nan), np.full((4, 1), np.nan)])) == 1


@pytest.fixture(scope="module")
def synthetic_pair(tmp_path_factory):
    from workbench.testing.synthetic import synthetic_run

    s = Store(tmp_path_factory.mktemp("pair") / "store")
    return s, [synthetic_run(s, p=17, seed=seed, n_neurons=8, epochs=[0, 50, 100]) for seed in (0, 1)]


def _every_groupable_view():
    from workbench.core.view import get_view, list_views

    return [v for v in list_views("trajectory") if get_view(v).epoch_x]


@pytest.mark.parametrize("view", _every_groupable_view())
def test_every_view_over_training_draws_a_group(synthetic_pair, view):
    store, keys = synthetic_pair
    drawn = group_view_figure(store, keys, view, draw="both")
    if len(drawn.left_out) == len(keys):  # the view does not apply to modular_addition: said, not drawn
        assert all(why for why in drawn.left_out.values())
        return
    assert "group of 2 runs" in drawn.figure.layout.title.text
    assert drawn.figure.data, f"{view}: nothing drawn"


def test_a_group_is_not_drawn_against_wall_time(store):
    from workbench.store.clock import write_clock

    for key in _keys(store):
        write_clock(store, key, [0, 1000], [0.0, 60.0])
    with pytest.raises(UserError, match="each run has its own wall time"):
        group_view_figure(store, _keys(store), "loss_curves", x_time=True)
    assert group_view_figure(store, _keys(store), "loss_curves").figure.layout.xaxis.title.text == "epoch"
