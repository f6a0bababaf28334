"""Explore-page callbacks called as plain functions on a small synthetic store."""

from __future__ import annotations

import json

import pytest
from dash import Patch, no_update
from dash.exceptions import PreventUpdate

from workbench.core.errors import UserError
from workbench.query.views import run_views
from workbench.ui.dashboard import app as app_module
from workbench.ui.dashboard import callbacks, data, fast, panels
from workbench.ui.dashboard.groups import GROUPS, PANELS
from workbench.ui.dashboard.marker import EPOCH_X_VIEWS, MARKER, with_epoch_marker
from workbench.ui.dashboard.values import index_from_click, select_epoch, select_index

EPOCHS = [0, 100, 200, 300]  # the checkpoints of the conftest store

DEFAULT = [g.gid for g in GROUPS if g.open]
ALL = [g.gid for g in GROUPS]


def _by_view(outputs: list) -> dict:
    """{view: (figure, message, class)} from the panels callback's flat outputs."""
    return {v: tuple(outputs[3 * i:3 * i + 3]) for i, v in enumerate(panels.VIEWS)}


def _panels(store, vid, index=3, neuron=0, head=0, groups=DEFAULT, drawn=None, epochs=EPOCHS):
    values = {"neuron": neuron, "head": head}
    out = callbacks.panel_outputs(store, vid, index, {"epochs": epochs}, values, groups, drawn)
    return _by_view(out[:-1]), out[-1]


def _title(fig) -> str:
    return fig["layout"]["title"]["text"]


# ------------------------------------------------------------------ validation
@pytest.mark.parametrize("bad", [
    None, 42, "", "modular_addition", "modular_addition/..", "../etc/passwd", "modular_addition/../../x",
    "modular_addition/p=7/extra", "/etc/passwd", "modular_addition/p=999,seed=0",
])
def test_resolve_variant_rejects_anything_not_in_store(store, bad):
    with pytest.raises(UserError):
        data.resolve_variant(store, bad)
    with pytest.raises(PreventUpdate):
        callbacks.panel_outputs(store, bad, 0, {"epochs": EPOCHS}, {}, DEFAULT, {})


def test_select_epoch_snaps_and_follows_clicks():
    assert select_epoch(EPOCHS, 140) == 100
    assert select_epoch(EPOCHS, None) == 300
    assert select_epoch(EPOCHS, 100, {"points": [{"customdata": [260, 0.5]}]}) == 300
    assert select_epoch(EPOCHS, 100, {"points": [{"x": 3}]}) == 100
    assert select_epoch([], 100) is None


@pytest.mark.parametrize("click, expected", [
    ({"points": [{"customdata": [7, "x"]}]}, 7), ({"points": [{"customdata": 3.0}]}, 3),
    ({"points": [{"customdata": {"0": 114}}]}, 114),  # how plotly.js reports a typed-array row
    ({"points": [{"customdata": [-1]}]}, None), ({"points": [{"customdata": [True]}]}, None),
    ({"points": [{"customdata": [float("nan")]}]}, None), ({"points": [{"customdata": [float("inf")]}]}, None),
    ({"points": []}, None), (None, None), ("junk", None), ({"points": [{"customdata": ["7"]}]}, None),
])
def test_index_from_click(click, expected):
    assert index_from_click(click) == expected


@pytest.mark.parametrize("value", ["abc", float("inf"), float("-inf"), float("nan"), [], {}, True, 1e308, "9" * 40])
def test_crafted_indices_become_valid(value):
    assert select_index(value, limit=24) in range(24)
    assert select_epoch(EPOCHS, value) in EPOCHS


# ---------------------------------------------------------------- controls
def test_slider_positions_are_checkpoints_with_turn(store, vid):
    out = dict(zip(callbacks.CONTROL_OUTPUTS, callbacks.controls(store, "", vid, None, {})))
    assert (out["min"], out["max"]) == (0, len(EPOCHS) - 1)
    assert out["epochs"]["epochs"] == EPOCHS and sorted(map(int, out["marks"])) == list(range(len(EPOCHS)))
    turn = out["epochs"]["turn"]  # the onset; its mark sits on the checkpoint nearest it
    at = min(EPOCHS, key=lambda e: abs(e - turn))
    assert out["marks"][str(EPOCHS.index(at))]["label"] == f"turn {turn}"
    marks = callbacks.slider_marks([0, 700, 800], 700, 750)  # an onset between two checkpoints
    assert marks["1"]["label"] == "turn 750" and marks["2"] == "800"
    for n, top in ((20, 3500), (16, 1500), (40, 25000)):  # labels never crowd, the last one included
        labelled = [int(i) for i, m in callbacks.slider_marks([round(top * i / (n - 1)) for i in range(n)], None).items()
                    if m]
        assert labelled[0] == 0 and labelled[-1] == n - 1 and len(labelled) * (7 * len(str(top)) + 12) <= 240
        assert min(b - a for a, b in zip(labelled, labelled[1:])) >= 0.75 * labelled[1], labelled
    assert out["ranges"] == {"neuron": 24, "head": 4, "scale": ["shared", "neuron"], "trace_input": None,
                             "probe": ["canonical"]} and out["groups"] is no_update
    assert out["neuron_box"] == {} and out["top_neuron_box"] == {"display": "none"}  # no view of this run takes it
    assert out["probe"] == "canonical" and out["probe_names"] == ["canonical"]  # a name control's entries too


def test_url_restores_the_state(store, vid):
    other = data.variant_id(store.runs()[1])
    search = f"?variant={other}&epoch=190&neuron=99&head=2&groups=attention,bogus"
    out = dict(zip(callbacks.CONTROL_OUTPUTS, callbacks.controls(store, search, vid, "url", {})))
    assert out["variant"] == other and out["epochs"]["epochs"][out["value"]] == 200
    assert out["neuron"] == 99 and out["head"] == 2 and out["groups"] == ["attention"]  # the browser clamps 99 to 23,
    assert out["ranges"]["neuron"] == 24  # with a note saying so (options.CLAMP_JS); the server clamps silently:
    req = panels.make_request(store, other, 200, {"neuron": 99, "head": 2})
    assert req["options"]["neuron"] == 23 and req["options"]["head"] == 2
    # the variant picker wins over the URL once the user picks another run
    out = dict(zip(callbacks.CONTROL_OUTPUTS, callbacks.controls(store, search, vid, "variant", {})))
    assert out["variant"] is no_update and out["groups"] is no_update


def test_switching_variant_keeps_the_epoch_it_has(store, vid):
    other = data.variant_id(store.runs()[1])
    current = {"epoch": 1, "epochs": {"epochs": EPOCHS}}
    out = dict(zip(callbacks.CONTROL_OUTPUTS, callbacks.controls(store, "", other, "variant", current)))
    assert out["epochs"]["epochs"][out["value"]] == 100


def test_live_run_opens_at_the_latest_analyzed_checkpoint(tmp_path):
    from workbench.store import Store
    from workbench.testing.synthetic import synthetic_run

    store = Store(tmp_path)
    key = synthetic_run(store, p=7, epochs=[0, 100], n_neurons=8, n_heads=2)
    for epoch in (200, 300):  # trained, not analyzed yet
        store.checkpoint_path(key, epoch).write_bytes(b"")
    out = dict(zip(callbacks.CONTROL_OUTPUTS, callbacks.controls(store, "", data.variant_id(key), None, {})))
    assert out["epochs"]["epochs"] == [0, 100, 200, 300] and out["value"] == 1


# ---------------------------------------------------------------- panels
def test_one_request_renders_the_open_panels_with_their_epoch(store, vid):
    views, drawn = _panels(store, vid, index=2)
    for view, (fig, msg, cls) in views.items():
        group, panel = PANELS[view]
        if group.gid not in DEFAULT:
            assert (fig, msg, cls) == (no_update,) * 3, view
        elif not panel.per_epoch:
            assert "per-epoch" not in cls and "epoch 200" not in json.dumps(fig, default=str)
        else:
            assert _title(fig).startswith("epoch 200 · ") and "per-epoch" in cls, view
    assert set(drawn) - {"_query", "_name"} == {p.view for g in GROUPS if g.open for p in g.panels}
    assert drawn["_query"]["epoch"] == 200 and drawn["_name"].endswith("_panels_epoch200")


@pytest.mark.parametrize("groups", [DEFAULT, ALL])
def test_epoch_step_redraws_only_open_per_epoch_panels(store, vid, groups):
    _, drawn = _panels(store, vid, index=2, groups=groups)
    views, drawn2 = _panels(store, vid, index=1, groups=groups, drawn=drawn)
    applies = set(run_views(store, data.resolve_variant(store, vid)))
    for view, (fig, _, cls) in views.items():
        group, panel = PANELS[view]
        changed = group.gid in groups and panel.per_epoch and view in applies
        assert (fig is not no_update) == changed, view
    assert isinstance(views["neuron_heatmap"][0], Patch)
    assert isinstance(views["neuron_grid"][0], Patch) == (groups == ALL)
    again, _ = _panels(store, vid, index=1, groups=groups, drawn=drawn2)
    assert all(fig is no_update for fig, _, _ in again.values())  # nothing changed: nothing sent


def test_neuron_change_redraws_only_what_shows_the_neuron(store, vid):
    _, drawn = _panels(store, vid, groups=ALL)
    views, _ = _panels(store, vid, neuron=5, groups=ALL, drawn=drawn)
    changed = [v for v, (fig, _, _) in views.items() if fig is not no_update]
    applies = set(run_views(store, data.resolve_variant(store, vid)))
    assert changed == [v for v, (_, p) in PANELS.items() if "neuron" in p.options and v in applies]
    assert changed == ["neuron_freq_clusters", "neuron_heatmap"]  # the ring, and the heatmap
    ops = json.dumps(views["neuron_heatmap"][0].to_plotly_json())
    assert "neuron 5" in ops and "epoch 300" in ops and "bdata" in ops


def test_opening_a_group_renders_it_once(store, vid):
    _, drawn = _panels(store, vid)
    views, drawn = _panels(store, vid, groups=DEFAULT + ["attention"], drawn=drawn)
    changed = {v for v, (fig, _, _) in views.items() if fig is not no_update}
    assert changed == {p.view for p in next(g for g in GROUPS if g.gid == "attention").panels}


def test_trajectories_carry_the_epoch_marker_on_every_axis(store, vid):
    views, _ = _panels(store, vid, index=1)
    shapes = views["loss_curves"][0]["layout"]["shapes"]
    marks = [s for s in shapes if s.get("name") == MARKER]
    assert marks and all(m["x0"] == 100 and m["yref"] == "paper" for m in marks)
    assert "loss_curves" in EPOCH_X_VIEWS and "pca_trajectory" not in EPOCH_X_VIEWS


def test_epoch_marker_keeps_other_shapes_and_spans_its_subplot():
    turn = {"type": "line", "name": "turn", "x0": 5, "x1": 5}
    fig = {"data": [], "layout": {"xaxis": {"anchor": "y"}, "xaxis2": {"anchor": "y2"}, "yaxis2": {"domain": [0, 0.4]},
                                  "shapes": [turn]}}
    twice = with_epoch_marker(with_epoch_marker(fig, 300), 400)
    marks = [s for s in twice["layout"]["shapes"] if s.get("name") == MARKER]
    assert [(m["xref"], m["y0"], m["y1"], m["x0"]) for m in marks] == [("x", 0, 1, 400), ("x2", 0, 0.4, 400)]
    assert turn in twice["layout"]["shapes"] and fig["layout"]["shapes"] == [turn]  # input not mutated
    assert with_epoch_marker(fig, None) is fig


def test_epoch_marker_follows_a_figure_drawn_in_optimizer_steps():
    fig = {"data": [], "layout": {"xaxis": {"anchor": "y"}, "meta": {"x_per_epoch": 10, "log_x": True}}}
    (mark,) = with_epoch_marker(fig, 300)["layout"]["shapes"]
    assert mark["x0"] == mark["x1"] == 3000


def test_log_x_reaches_every_curve_over_training_and_nothing_else(store, vid):
    out = callbacks.panel_outputs(store, vid, 3, {"epochs": EPOCHS}, {}, ALL, None, chart={"scale": ["log_x"]})
    views = _by_view(out[:-1])
    fig = views["loss_curves"][0]
    assert fig["layout"]["xaxis"]["type"] == "log" and fig["layout"]["meta"]["log_x"] is True
    req = panels.make_request(store, vid, 300, {}, {"scale": ["log_x"]})
    assert panels.render_options("loss_curves", req) == {"log_x": True}
    assert "log_x" not in panels.render_options("neuron_heatmap", req)
    assert panels.panel_key("loss_curves", req) != panels.panel_key("loss_curves", panels.make_request(store, vid, 300, {}))


def test_missing_artifacts_show_the_command_for_that_variant(store):
    key = store.runs()[1]  # only neuron_activations and turn were written
    views, _ = _panels(store, data.variant_id(key), index=1, groups=["embeddings"], epochs=EPOCHS[:3])
    fig, msg, cls = views["embedding_fourier"]
    text = json.dumps([m.to_plotly_json() for m in msg], default=str)
    assert fig is no_update and "empty" in cls
    assert f"workbench analyze {key.family}:{key.variant} --analyzers embedding_fourier" in text
    assert "epoch 100" in text


def test_clickable_customdata_reaches_the_browser_as_plain_lists(store, vid):
    """dcc.Graph drops base64 customdata from clickData, so panels must send plain lists."""
    views, _ = _panels(store, vid)
    for view in ("loss_curves", "neuron_freq_clusters"):
        assert isinstance(views[view][0]["data"][0]["customdata"], list), view


def test_grid_keeps_its_neurons_across_epochs(store, vid):
    views, drawn = _panels(store, vid, index=0, groups=ALL)
    key = data.resolve_variant(store, vid)
    pinned = fast.pinned_options(store, key, ["neuron_grid"])["neuron_grid"]["neurons"]
    assert drawn["neuron_grid"]["base"]["options"]["neurons"] == pinned and len(pinned) == 16
    assert [t["name"] for t in views["neuron_grid"][0]["data"]] == [f"neuron {n}" for n in pinned]
    step, _ = _panels(store, vid, index=2, groups=ALL, drawn=drawn)  # another epoch: the same neurons, patched
    ops = json.dumps(step["neuron_grid"][0].to_plotly_json())
    assert ops.count("bdata") == 16 and "epoch 200" in ops and "cmax" in ops


# ------------------------------------------------------ crafted and corrupt input
@pytest.mark.parametrize("value", ["abc", float("inf"), float("-inf"), float("nan"), [], {"a": 1}, True, -5, 1e300])
def test_crafted_values_never_raise(store, vid, value):
    out = callbacks.panel_outputs(store, vid, value, value, value, value, value)
    assert len(out) == 3 * len(panels.VIEWS) + 1
    callbacks.panel_outputs(store, vid, 1, {"epochs": [value, "x", None]}, {"neuron": value, "head": value,
                                                                           "scale": value}, ALL, {"loss_curves": value})
    res = callbacks.controls(store, value, vid, "url", {"epoch": value, "epochs": value,
                                                       "options": {"neuron": value, "head": value, "scale": value}})
    assert len(res) == len(callbacks.CONTROL_OUTPUTS)


def test_crafted_drawn_base_falls_back_to_a_full_render(store, vid):
    crafted = {"neuron_heatmap": {"key": "x", "base": {"vid": vid, "view": "neuron_heatmap", "options": 5}},
               "neuron_grid": {"key": "y", "base": {"vid": vid, "view": "neuron_grid", "traces": 1,
                                                    "options": {"neurons": [10**9]}}}}
    views, _ = _panels(store, vid, groups=ALL, drawn=crafted)
    assert isinstance(views["neuron_heatmap"][0], dict) and isinstance(views["neuron_grid"][0], dict)


def test_pages_callback_survives_crafted_paths(store):
    app = app_module.create_app(store)
    client = app.server.test_client()
    pairs = [(f"page-{p}", "className") for p in ("explore", "compare", "reports", "runs")] + [("explore-controls", "style")]
    body = {"output": ".." + "...".join(f"{i}.{p}" for i, p in pairs) + "..",
            "outputs": [{"id": i, "property": p} for i, p in pairs],
            "inputs": [{"id": "url", "property": "pathname", "value": ["not", "a", "path"]}], "changedPropIds": []}
    assert client.post("/_dash-update-component", json=body).status_code == 200


def test_groups_come_from_each_views_declaration():
    from workbench.core.view import get_view, list_views

    placed = {p.view: (g.gid, p) for g in GROUPS for p in g.panels}
    assert set(placed) == set(list_views())  # a new view needs no dashboard edit to appear
    for name, (gid, panel) in placed.items():
        view = get_view(name)
        assert (gid, panel.click, panel.wide, panel.epoch_x) == (view.group, view.click, view.wide, view.epoch_x)
    orders = [[get_view(p.view).order for p in g.panels] for g in GROUPS]
    assert all(o == sorted(o) for o in orders)
    assert "pca_trajectory" not in EPOCH_X_VIEWS and "loss_curves" in EPOCH_X_VIEWS  # pca's x is PC1


def test_only_panels_on_screen_are_rendered_and_the_rest_when_they_come_into_view(store, vid):
    first = callbacks.panel_outputs(store, vid, 3, {"epochs": EPOCHS}, {}, ALL, {}, None, ["neuron_heatmap"])
    views, drawn = _by_view(first[:-1]), first[-1]
    rendered = [v for v, (fig, _, _) in views.items() if fig is not no_update]
    assert rendered == ["neuron_heatmap"] and set(drawn) - {"_query", "_name"} == {"neuron_heatmap"}
    step = callbacks.panel_outputs(store, vid, 3, {"epochs": EPOCHS}, {}, ALL, drawn, None,
                                   ["neuron_heatmap", "loss_curves"])  # scrolled: loss_curves came into view
    assert [v for v, (fig, _, _) in _by_view(step[:-1]).items() if fig is not no_update] == ["loss_curves"]
    everything = callbacks.panel_outputs(store, vid, 3, {"epochs": EPOCHS}, {}, ALL, {}, None, ["*", "17"])
    assert everything[-1]["_all"] == "17"  # a batch export's request, echoed so it knows its answer
    assert set(everything[-1]) > set(_panels(store, vid, groups=ALL)[1]) - {"_all"}
    for junk in ({"a": 1}, "neuron_heatmap", 5):  # not a list: every open panel, as before the browser reports
        assert callbacks.panel_outputs(store, vid, 3, {"epochs": EPOCHS}, {}, ALL, {}, None, junk)[-1].keys() == \
            _panels(store, vid, groups=ALL)[1].keys()
