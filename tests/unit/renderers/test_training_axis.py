"""Every curve over training takes log_x, x_step and x_time: x in optimizer steps, wall time or on a log
axis, epochs kept for clicks."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest

from renderers._axis import TRAINING_AXIS, as_flag, as_steps, over_training, time_unit, training_axis
from workbench.core.errors import UserError
from workbench.core.view import CLOCK_ARRAYS, get_view, list_views
from workbench.testing import view_arrays

EPOCH_X = [n for n in list_views(scope="trajectory") if get_view(n).epoch_x]


def _firsts(trace) -> np.ndarray:
    cd = np.asarray(trace.customdata)
    return cd.reshape(-1, cd.shape[-1])[:, 0] if cd.ndim >= 2 else cd


@pytest.mark.parametrize("name", EPOCH_X)
def test_every_view_over_training_declares_the_axis_options(name):
    assert set(TRAINING_AXIS) <= {o.name for o in get_view(name).options}


@pytest.mark.parametrize("name", EPOCH_X)
def test_steps_scale_every_x_and_keep_the_epoch_for_clicks(name):
    arrays = view_arrays(name)
    plain, steps = get_view(name).render(arrays), get_view(name).render(arrays, x_step=10)
    for a, b in zip(plain.data, steps.data):
        if a.x is not None and len(a.x) and a.x[0] is not None:
            np.testing.assert_allclose(np.asarray(b.x, dtype=float), 10 * np.asarray(a.x, dtype=float))
        if a.customdata is not None:
            np.testing.assert_array_equal(_firsts(a), _firsts(b))  # customdata[0] is still the epoch
    assert [s.x0 * 10 for s in plain.layout.shapes] == [s.x0 for s in steps.layout.shapes]
    titles = [steps.layout[k].title.text for k in steps.layout if k.startswith("xaxis")]
    assert "optimizer step" in titles and "epoch" not in titles
    assert steps.layout.meta["x_per_epoch"] == 10 and plain.layout.meta["x_per_epoch"] == 1


@pytest.mark.parametrize("name", EPOCH_X)
def test_wall_time_maps_every_x_and_keeps_the_epoch_for_clicks(name):
    arrays = view_arrays(name)
    clock = dict(zip(CLOCK_ARRAYS, (np.array([0.0, 1e6]), np.array([0.0, 3.6e6]))))  # an hour per 1000 epochs
    plain, timed = get_view(name).render(arrays), get_view(name).render({**arrays, **clock}, x_time=True)
    for a, b in zip(plain.data, timed.data):
        if a.x is not None and len(a.x) and a.x[0] is not None:
            np.testing.assert_allclose(np.asarray(b.x, dtype=float), np.asarray(a.x, dtype=float) / 1000)
        if a.customdata is not None:
            np.testing.assert_array_equal(_firsts(a), _firsts(b))
    assert [s.x0 / 1000 for s in plain.layout.shapes] == pytest.approx([s.x0 for s in timed.layout.shapes])
    titles = [timed.layout[k].title.text for k in timed.layout if k.startswith("xaxis")]
    assert "wall time (h)" in titles and "epoch" not in titles
    assert "d" not in [timed.layout[k].tickformat for k in timed.layout if k.startswith("xaxis")]  # 0.5 h is no epoch


@pytest.mark.parametrize("name", EPOCH_X)
def test_log_x_puts_every_x_axis_on_a_log_scale(name):
    fig = get_view(name).render(view_arrays(name), log_x=True)
    assert {fig.layout[k].type for k in fig.layout if k.startswith("xaxis")} == {"log"}
    for trace in fig.data:  # a heatmap cannot keep a column at x = 0 on a log axis
        if trace.type == "heatmap":
            assert np.all(np.asarray(trace.x, dtype=float) > 0)
            assert np.shape(trace.z)[1] == len(trace.x)


def test_turn_marks_move_with_the_points():
    arrays = {f"metrics.{k}": np.linspace(0.1, 1, 5) for k in ("train_loss", "test_loss", "train_acc", "test_acc")}
    arrays["metrics.epoch"] = np.array([0, 10, 20, 30, 40])
    arrays["turn.turn_onset_epoch"] = np.array(20.0)
    fig = get_view("loss_curves").render(arrays, x_step=7, log_x="true")
    assert {s.x0 for s in fig.layout.shapes} == {140}
    assert list(fig.data[0].x) == [0, 70, 140, 210, 280]
    assert [t.name for t in fig.data if t.name.startswith("turn")] == ["turn onset step 140"]


@pytest.mark.parametrize("bad", ["sometimes", 2, None.__class__])
def test_a_bad_log_x_is_one_line(bad):
    with pytest.raises(UserError, match="log_x must be true or false"):
        as_flag("log_x", bad)


def test_x_step_values():
    assert as_steps(None) is None and as_steps(0) is None and as_steps("0") is None  # 0: epochs anyway
    assert as_steps("10") == 10 and as_steps(np.int64(3)) == 3
    for bad in (-1, "ten", True, 2.5):
        with pytest.raises(UserError, match="x_step"):
            as_steps(bad)


def _hand_built() -> go.Figure:
    """Points at epochs 0, 10, 20, 40 (customdata: the epoch), a turn line at epoch 30 and its legend entry."""
    fig = go.Figure(go.Scatter(x=[0, 10, 20, 40], y=[4, 3, 2, 1], customdata=[[0], [10], [20], [40]]))
    fig.add_vline(x=30)
    fig.add_trace(go.Scatter(x=[None], y=[None], name="turn onset 30", customdata=[[30]]))
    fig.update_xaxes(title_text="epoch")
    return fig


CLOCK = (np.array([0.0, 20.0, 40.0]), np.array([0.0, 30.0, 90.0]))  # 1.5 s an epoch, then 3 s


def test_wall_time_maps_points_lines_marks_and_the_marker_meta_through_the_clock():
    fig = training_axis(_hand_built(), clock=CLOCK, x_step=7, log_x=True)  # the clock wins over steps
    points, mark = fig.data
    np.testing.assert_allclose(points.x, [0, 15, 30, 90])  # epoch 10: halfway between readings
    np.testing.assert_array_equal(np.asarray(points.customdata)[:, 0], [0, 10, 20, 40])  # clicks still give epochs
    (line,) = fig.layout.shapes
    assert line.x0 == line.x1 == pytest.approx(60)  # epoch 30: halfway between 30 s and 90 s
    assert mark.name == "turn onset 60 s"
    assert fig.layout.xaxis.title.text == "wall time (s, log)" and fig.layout.xaxis.type == "log"
    assert fig.layout.xaxis.tickformat == "~g"  # 0.5 min, not an epoch axis's whole numbers
    meta = fig.layout.meta
    assert meta["x_per_epoch"] == 1 and meta["x_clock"] == {"epoch": [0, 20, 40], "x": [0, 30, 90]}


@pytest.mark.parametrize("last, unit, length", [(90, "s", 1), (5400, "min", 60), (36000, "h", 3600)])
def test_a_long_run_reads_in_minutes_or_hours(last, unit, length):
    fig = training_axis(_hand_built(), clock=(np.array([0.0, 40.0]), np.array([0.0, last])))
    assert fig.layout.xaxis.title.text == f"wall time ({unit})" and time_unit(last) == (unit, length)
    assert fig.data[0].x[-1] == pytest.approx(last / length)
    assert fig.layout.meta["x_clock"]["x"][-1] == pytest.approx(last / length)


def test_x_time_takes_the_clock_from_the_arrays_and_the_renderer_never_sees_it():
    seen = {}

    @over_training
    def render(arrays: dict) -> go.Figure:
        seen.update(arrays)
        return _hand_built()

    clock = dict(zip(CLOCK_ARRAYS, CLOCK))
    fig = render({"a": np.zeros(2), **clock}, x_time="true")
    assert set(seen) == {"a"} and fig.layout.xaxis.title.text == "wall time (s)"
    assert render({"a": np.zeros(2), **clock}).layout.xaxis.title.text == "epoch"  # the clock alone changes nothing
    with pytest.raises(UserError, match="records no wall time"):
        render({"a": np.zeros(2)}, x_time=True)


@pytest.mark.parametrize(("last", "decade_ticks"), [(9_960, True), (2_000, False)])
def test_a_log_x_axis_over_most_of_two_decades_ticks_once_a_decade(last, decade_ticks):
    """Evaluations at steps 100..9,960 (a 20k-step run read at its half) drew 5000 and 10000 into one
    label with plotly's 1-2-5 ticks in a half-width panel; under 1.5 decades those ticks stay."""
    fig = go.Figure(go.Scatter(x=np.linspace(100, last, 50), y=np.ones(50)))
    fig.update_xaxes(title_text="epoch")
    assert (training_axis(fig, log_x=True).layout.xaxis.dtick == 1) == decade_ticks
