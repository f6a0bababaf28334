"""The least-action study's views, on hand-built arrays: what each figure must show."""

from __future__ import annotations

import numpy as np

from workbench.core.view import get_view

EPOCHS = np.array([0, 500, 1000])


def _metrics(extra: bool) -> dict:
    m = {"epoch": EPOCHS, "train_loss": np.array([2.0, 1e-3, 1e-6]), "test_loss": np.array([2.0, 3.0, 0.1]),
         "train_acc": np.array([0.1, 1.0, 1.0]), "test_acc": np.array([0.05, 0.0, 0.97])}
    if extra:
        m |= {"wnorm": np.array([16.0, 37.0, 35.0]), "smooth": np.array([0.4, 0.77, 0.99])}
    return {f"metrics.{k}": v for k, v in m.items()}


def test_training_curves_show_wnorm_and_smooth_or_say_they_are_missing():
    fig = get_view("training_curves").render(_metrics(extra=True))
    by_name = {t.name: t for t in fig.data}
    assert list(by_name["wnorm"].y) == [16.0, 37.0, 35.0] and list(by_name["smooth"].y) == [0.4, 0.77, 0.99]
    assert fig.layout.yaxis.type == "log"
    bare = get_view("training_curves").render(_metrics(extra=False))
    assert {"wnorm", "smooth"}.isdisjoint(t.name for t in bare.data)
    assert {a.text for a in bare.layout.annotations} >= {"this run's metrics hold no wnorm",
                                                         "this run's metrics hold no smooth"}


def test_output_spectrum_outlines_the_low_frequency_square_and_names_the_indexing():
    power = np.ones((16, 16), np.float32)
    power[9, 9] = 1e4  # the (1, 1) wave after fftshift (zero frequency at index 8)
    arrays = {"power": power, "smoothness": np.array(0.9), "target": np.array(1.0), "chance": np.array(0.094),
              "cutoff": np.array(2), "indexing": np.array("log a, log b")}
    fig = get_view("output_spectrum").render(arrays)
    heat = fig.data[0]
    assert list(heat.x) == list(range(-8, 8)) and float(np.asarray(heat.z)[9, 9]) == 4.0  # log10 power at k=(1, 1)
    (box,) = fig.layout.shapes
    assert (box.x0, box.x1, box.y0, box.y1) == (-2.5, 2.5, -2.5, 2.5)
    title = fig.layout.title.text.replace("<br>", " ")  # wrapped to fit a half-width panel
    assert "(log a, log b)" in title and "smoothness 0.900" in title


def test_routing_heatmap_one_panel_per_block_coloured_by_head():
    p, heads = 5, 3
    a, b = np.meshgrid(np.arange(p), np.arange(p), indexing="ij")
    dominant = np.stack([(a + b) % heads, np.zeros((p, p), int)])
    gates = np.moveaxis(np.eye(heads)[dominant], -1, 1).astype(np.float32)  # [layer, head, a, b]
    fig = get_view("routing_heatmap").render({"dominant": dominant, "gates": gates, "entropy": np.zeros(2),
                                              "usage": gates.mean((-2, -1)), "dominant_share": gates.mean((-2, -1))})
    assert len(fig.data) == 2 and np.array_equal(np.asarray(fig.data[0].z), dominant[0])
    assert (fig.data[0].zmin, fig.data[0].zmax) == (-0.5, heads - 0.5)  # one colour band per head
    assert "block 1: entropy 0.000" in fig.layout.annotations[1].text


def test_routing_trajectory_lines_per_block_and_head_with_the_uniform_reference():
    usage = np.full((3, 2, 4), 0.25)
    fig = get_view("routing_trajectory").render({"epochs": EPOCHS, "entropy": np.full((3, 2), np.log(4)),
                                                 "max_entropy": np.array(np.log(4)), "usage": usage,
                                                 "dominant_share": usage})
    names = [t.name for t in fig.data]
    assert names.count("block 0") == 1 and "block 1 head 3" in names and len(names) == 2 + 8
    assert any(getattr(s, "y0", None) == np.log(4) for s in fig.layout.shapes)


def test_smoothness_both_draws_both_definitions_their_references_and_test_accuracy():
    traj = {"epochs": EPOCHS, "smoothness": np.array([0.1, 0.73, 0.99]), "smoothness_study": np.array([0.8, 0.9, 0.94]),
            "smoothness_study_soft": np.array([1.0, 0.85, 0.93]), "target": np.array(1.0), "chance": np.array(0.083),
            "study_target": np.array(0.939), "study_null_mean": np.array(0.773), "study_dc_floor": np.array(0.727)}
    arrays = {f"smoothness_trajectory.{k}": v for k, v in traj.items()} | _metrics(extra=False)
    fig = get_view("smoothness_both").render(arrays)
    by_name = {t.name: t for t in fig.data}
    assert list(by_name["ours (phasor, DC out)"].y) == [0.1, 0.73, 0.99]
    assert list(by_name["study (argmax class index, DC in)"].y) == [0.8, 0.9, 0.94]
    assert list(by_name["study soft (expected class index)"].y) == [1.0, 0.85, 0.93]
    assert list(by_name["test accuracy"].y) == [0.05, 0.0, 0.97]
    assert sorted(round(s.y0, 3) for s in fig.layout.shapes) == [0.083, 0.773, 0.939, 1.0]
    title = fig.layout.title.text
    assert title.startswith("Smoothness is not generalization") and "random labels score 0.77" in title
    assert "constant prediction 1.0" in title
