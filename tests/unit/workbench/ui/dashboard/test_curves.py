"""Issue 30's chart controls, server side: they reach every curve over training and nothing else,
an epoch step keeps its panel keys, and their values go through the URL and export links."""

from __future__ import annotations

import pytest

from workbench.ui.dashboard import callbacks, curves, panels
from workbench.ui.dashboard.groups import GROUPS, PANELS
from workbench.ui.dashboard.layout import STATE

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
    assert curves.restore("?smooth=999&axes=bogus&xunit=time") == (99, [], "auto")  # wall time is not drawable
    assert curves.restore("") == (0, [], "auto")
