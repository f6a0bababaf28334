"""Issue 30's chart controls, server side: they reach every curve over training and nothing else,
an epoch step keeps its panel keys, and their values go through the URL and export links."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.store import Store
from workbench.store.clock import write_clock
from workbench.testing.synthetic import synthetic_run
from workbench.ui.dashboard import callbacks, curves, marker, panels
from workbench.query.views import view_figure
from workbench.ui.dashboard.data import resolve_variant, variant_id
from workbench.ui.dashboard.groups import GROUPS, PANELS
from workbench.ui.dashboard.layout import STATE
from workbench.ui.dashboard.marker import MARKER

EPOCHS = [0, 100, 200, 300]
ALL = [g.gid for g in GROUPS]
CHART = {"smooth": 90, "scale": ["log_x", "log_y"], "x": "step"}


def test_the_controls_reach_every_curve_over_training_and_no_per_epoch_view(store, vid):
    req = panels.make_request(store, vid, 300, {}, CHART)
    for view, (_, panel) in PANELS.items():
        chosen = panels.render_options(view, req)
        if curves.takes(view):
            assert chosen["smooth"] == 0.9 and chosen["log_x"] is chosen["log_y"] is True, view
            assert chosen["x_step"] == 1, view  # the synthetic run's recipe: full batch, one step an epoch
        else:
            assert not {"smooth", "log_x", "log_y", "x_step"} & set(chosen), view
            plain = panels.make_request(store, vid, 300, {})
            assert panels.panel_key(view, req) == panels.panel_key(view, plain), view  # no re-render


def test_smoothing_and_log_y_reach_the_drawn_figure(store, vid):
    out = callbacks.panel_outputs(store, vid, 3, {"epochs": EPOCHS}, {}, ALL, None,
                                  chart={"smooth": 80, "scale": ["log_y"], "x": "epoch"})
    fig = {v: out[3 * i] for i, v in enumerate(panels.VIEWS)}["loss_curves"]
    assert fig["layout"]["yaxis"]["type"] == "log" and fig["layout"]["meta"]["log_y"] is True
    assert any(t.get("opacity") == 0.25 and t.get("showlegend") is False for t in fig["data"])  # the raw lines
    assert fig["layout"]["xaxis"]["title"]["text"] == "epoch"
    query = out[-1]["_query"]
    assert (query["smooth"], query["axes"], query["xunit"]) == ("80", "log_y", "epoch")  # export links keep them
    assert curves.request(store, panels.make_request(store, vid, 0, {})["key"], curves.from_query(query)) == \
        {"smooth": 0.8, "log_x": False, "log_y": True, "x": "epoch", "steps": None}


@pytest.mark.parametrize("chart, expected", [
    (None, {"smooth": 0.0, "log_x": False, "log_y": False, "x": "auto"}),
    ({"smooth": 250, "scale": "log_x", "x": "time"}, {"smooth": 0.99, "log_x": False, "log_y": False, "x": "auto"}),
    ({"smooth": -3, "scale": ["log_y", 7], "x": ["step"]}, {"smooth": 0.0, "log_x": False, "log_y": True, "x": "auto"}),
])
def test_crafted_values_read_as_defaults_or_are_clamped(store, vid, chart, expected):
    req = panels.make_request(store, vid, 0, {}, chart)
    assert {k: v for k, v in req["curves"].items() if k != "steps"} == expected


def test_the_url_holds_the_controls_and_restores_them():
    keys = {f.key: f for f in STATE}
    assert {"smooth", "axes", "xunit"} <= set(keys)
    assert keys["smooth"].component == "curve-smooth" and keys["xunit"].default == "auto"
    assert curves.restore("?variant=a/b&smooth=90&axes=log_y&axes=log_x&xunit=step") == (90, ["log_y", "log_x"], "step")
    assert curves.restore("?smooth=999&axes=bogus&xunit=time") == (99, [], "time")  # the request checks the run
    assert curves.restore("?xunit=minutes") == (0, [], "auto")
    assert curves.restore("") == (0, [], "auto")


@pytest.fixture(scope="module")
def clocked(tmp_path_factory):
    """A store of two synthetic runs: seed 1 with a clock (ten seconds an epoch, doubling after
    epoch 200), seed 0 without (as a run trained before clocks were recorded)."""
    store = Store(tmp_path_factory.mktemp("clocked"))
    old = synthetic_run(store, p=7, epochs=EPOCHS, n_neurons=8, n_heads=2, analyzers=["turn"])
    new = synthetic_run(store, p=7, epochs=EPOCHS, seed=1, n_neurons=8, n_heads=2, analyzers=["turn"])
    write_clock(store, new, [0, 100, 200, 300], [0.0, 1000.0, 2000.0, 4000.0])
    return store, variant_id(old), variant_id(new)


def test_wall_time_is_offered_only_for_a_run_with_a_clock(clocked):
    store, old, new = clocked
    (choices, note), (choices_old, note_old) = curves.run_choices(store, new), curves.run_choices(store, old)
    time = {c["value"]: c for c in choices}["time"], {c["value"]: c for c in choices_old}["time"]
    assert time[0]["disabled"] is False and note == ""
    assert time[1]["disabled"] is True and "records no wall time" in note_old
    assert curves.run_choices(store, "no/such")[0][-1]["disabled"] is True
    chart = {"x": "time"}
    assert panels.make_request(store, new, 300, {}, chart)["curves"]["x"] == "time"
    assert panels.make_request(store, old, 300, {}, chart)["curves"]["x"] == "auto"  # drawn as auto


def test_a_curve_over_wall_time_keeps_its_epochs_for_clicks_and_its_marker(clocked):
    store, _, new = clocked
    req = panels.make_request(store, new, 300, {}, {"x": "time"})
    assert panels.render_options("loss_curves", req)["x_time"] is True
    assert "x_time" not in panels.render_options("neuron_heatmap", req)  # a per-epoch view: untouched
    assert panels.panel_key("loss_curves", req) != panels.panel_key("loss_curves", panels.make_request(store, new, 300, {}))
    fig = panels.render_panel(store, "loss_curves", req)[0]
    layout = fig["layout"]
    assert layout["xaxis"]["title"]["text"] == "wall time (min)"  # 4000 s reads in minutes
    first = view_figure(store, resolve_variant(store, new), "loss_curves", **panels.render_options("loss_curves", req)).data[0]
    epochs = np.asarray(first.customdata)[:, 0]
    np.testing.assert_allclose(first.x, np.interp(epochs, [0, 100, 200, 300], [0, 1000 / 60, 2000 / 60, 4000 / 60]))
    marks = [s["x0"] for s in layout["shapes"] if s.get("name") == MARKER]
    assert len(marks) == 2 and marks == pytest.approx([4000 / 60] * 2)  # epoch 300, on each subplot's time axis
    moved = [s["x0"] for s in marker.with_epoch_marker(fig, 250)["layout"]["shapes"] if s.get("name") == MARKER]
    assert moved == pytest.approx([3000 / 60] * 2)  # between two readings: interpolated
