"""Issue 30's chart controls on every curve over training, at the renderer: EMA smoothing with the
raw line faint behind, log y, and a legend wherever several named curves share a figure."""

from __future__ import annotations

import numpy as np
import pytest

from renderers._smooth import RAW_OPACITY, as_weight, ema
from workbench.core.errors import UserError
from workbench.core.view import get_view, list_views
from workbench.testing import view_arrays

EPOCH_X = [n for n in list_views(scope="trajectory") if get_view(n).epoch_x]


def _metrics() -> dict:
    arrays = {"metrics.epoch": np.arange(0, 50, 10), "metrics.train_loss": np.array([4.0, 2, 3, 1, 0.5]),
              "metrics.test_loss": np.array([5.0, 4, 4, 3, 1]), "metrics.train_acc": np.array([0, 0.5, 0.6, 1, 1]),
              "metrics.test_acc": np.array([0, 0.1, 0.2, 0.9, 1])}
    return arrays


def test_ema_is_debiased_and_steps_over_gaps():
    # by hand, weight 0.5 on 0, 0, 1, 1: levels 0, 0, .5, .75 over norms .5, .75, .875, .9375
    np.testing.assert_allclose(ema([0, 0, 1, 1], 0.5), [0, 0, 0.5 / 0.875, 0.75 / 0.9375])
    np.testing.assert_allclose(ema([3, 3, 3], 0.9), [3, 3, 3])  # a constant stays put from the first point
    out = ema([1, np.nan, 1, None], 0.8)
    assert out[0] == out[2] == 1 and np.isnan(out[1]) and np.isnan(out[3])
    np.testing.assert_allclose(ema([1, 5, 2], 0), [1, 5, 2])


@pytest.mark.parametrize("bad", [1, 1.5, -0.1, "x", True])
def test_a_weight_outside_0_to_1_is_a_user_error(bad):
    with pytest.raises(UserError, match="option smooth"):
        as_weight(bad)


def test_smoothing_draws_the_raw_line_faint_behind_in_the_same_colour_and_legend_group():
    plain = get_view("loss_curves").render(_metrics())
    fig = get_view("loss_curves").render(_metrics(), smooth=0.6)
    lines = [t for t in plain.data if t.y is not None and len(t.y) >= 3]
    raw, smoothed = fig.data[:len(lines)], fig.data[len(lines):]
    assert len(fig.data) == len(plain.data) + len(lines)
    for original, faint, line in zip(lines, raw, [t for t in smoothed if t.y is not None and len(t.y) >= 3]):
        np.testing.assert_allclose(faint.y, original.y)  # the raw points, unchanged
        np.testing.assert_allclose(line.y, ema(original.y, 0.6))
        assert faint.opacity == RAW_OPACITY and faint.showlegend is False and faint.hoverinfo == "skip"
        assert faint.line.color == line.line.color and faint.legendgroup == line.legendgroup  # one legend click
        assert (faint.xaxis, faint.yaxis) == (line.xaxis, line.yaxis)
        np.testing.assert_array_equal(np.asarray(faint.customdata), np.asarray(original.customdata))
    assert get_view("loss_curves").render(_metrics(), smooth=0).to_dict() == plain.to_dict()  # 0 is off


def test_log_y_drops_a_linear_range_and_leaves_heatmap_rows_alone():
    fig = get_view("loss_curves").render(_metrics(), log_y=True)
    axes = {k: fig.layout[k] for k in fig.layout if k.startswith("yaxis")}
    assert {a.type for a in axes.values()} == {"log"} and all(a.range is None for a in axes.values())
    assert fig.layout.meta["log_y"] is True
    mixed = get_view("freq_specialization").render(view_arrays("freq_specialization"), log_y=True)
    heat = {t.yaxis for t in mixed.data if t.type == "heatmap"}
    for trace in mixed.data:
        axis = mixed.layout["yaxis" + (trace.yaxis or "y")[1:]]
        assert (axis.type == "log") == (trace.yaxis not in heat), trace.yaxis


@pytest.mark.parametrize("name", EPOCH_X)
def test_every_curve_over_training_smooths_and_keeps_a_legend_for_several_curves(name):
    fig = get_view(name).render(view_arrays(name), smooth=0.9, log_y=True)
    named = {t.name for t in fig.data if t.showlegend is not False and t.name}
    if len(named) >= 2:  # several curves: Plotly's legend is where a click hides or shows one
        assert fig.layout.showlegend is not False, name
