"""Issue 30: the compare page's side-by-side section, one per-epoch view of two runs, each panel
saying which epoch it shows, or why it shows nothing."""

from __future__ import annotations

import numpy as np
import pytest
from dash import no_update

from workbench.ui.dashboard import compare, compare_side, data


@pytest.fixture(scope="module")
def two(store):
    """The conftest store's runs: seed 0 (every artifact, epochs 0-300), seed 1 (neuron_activations and
    turn only, epochs 0-200); seed 1's turn onset set to 130 (nearest checkpoint: 100)."""
    full, thin = store.runs()[0], store.runs()[1]
    summary = dict(store.read_summary(thin, "turn"))
    summary["turn_onset_epoch"] = np.array(130.0)
    store.write_summary(thin, "turn", summary)
    return [data.variant_id(full), data.variant_id(thin)]


def _panels(out: list) -> list[tuple]:
    return [tuple(out[5 * i:5 * i + 4]) for i in range(2)]


def test_same_epoch_snaps_each_run_to_its_nearest_checkpoint(store, two):
    (head0, msg0, fig0, cls0), (head1, msg1, fig1, cls1) = _panels(
        compare_side.side_by_side(store, two, "neuron_heatmap", "epoch", 300))
    assert head0.endswith("· epoch 300") and cls0 == "panel" and fig0["data"] and msg0 == []
    assert head1.endswith("· epoch 200 (the checkpoint nearest epoch 300)") and cls1 == "panel"
    assert "epoch 300" in fig0["layout"]["title"]["text"] and "epoch 200" in fig1["layout"]["title"]["text"]


def test_a_run_without_the_artifact_says_so_with_the_command(store, two):
    (_, _, fig0, cls0), (head1, msg1, fig1, cls1) = _panels(
        compare_side.side_by_side(store, two, "embedding_fourier", "epoch", None))
    assert cls0 == "panel" and cls1 == "panel empty" and fig1 is no_update
    assert head1.endswith("· epoch 200")  # no epoch asked: each run's last checkpoint
    text = " ".join(str(getattr(c, "children", c)) for c in msg1)
    assert "workbench analyze" in text and "embedding" in text


def test_each_at_its_own_turn_names_the_turn(store, two):
    turn0 = data.turn_epoch(store, store.runs()[0])
    (head0, _, _, _), (head1, _, _, cls1) = _panels(compare_side.side_by_side(store, two, "neuron_heatmap", "turn", 7))
    assert head1.endswith("· epoch 100 (the checkpoint nearest its turn at 130)") and cls1 == "panel"
    assert "turn" in head0 and str(data.nearest_epoch(data.epochs(store, store.runs()[0]), turn0)) in head0


def test_one_run_or_crafted_input_still_answers(store, two):
    (_, _, _, _), (head1, msg1, fig1, cls1) = _panels(compare_side.side_by_side(store, two[:1], "bogus", "x", -5))
    assert head1 == "" and "select two runs" in msg1 and cls1 == "panel empty"
    assert len(compare_side.side_by_side(store, "nonsense", None, None, "3")) == 10


def test_the_url_holds_the_section():
    keys = {f.key for f in compare.STATE}
    assert {"side_view", "side_at", "side_epoch"} <= keys
    restored = dict(zip([f.key for f in compare.STATE],
                        compare.restore("?side_view=attention_patterns&side_at=turn&side_epoch=500", None)))
    assert (restored["side_view"], restored["side_at"], restored["side_epoch"]) == ("attention_patterns", "turn", 500)


def test_the_picked_runs_are_shown_and_a_stale_pick_falls_back_to_the_selection(store, two):
    left, right = (data.resolve_variant(store, v) for v in two)
    assert compare_side.picked(store, two, [two[1], two[0]]) == [right, left]
    assert compare_side.picked(store, two, [None, two[0]]) == [right, left]  # left: the first not shown
    assert compare_side.picked(store, two, ["gone", two[0]]) == [right, left]
    assert compare_side.picked(store, two, [two[0], two[0]]) == [left, right]  # one run twice: the other
    assert compare_side.picked(store, two[:1], [two[1], None]) == [left]  # a pick outside the selection
    options = compare_side.run_options(store, two)
    assert [o["value"] for o in options] == two and all(o["title"].startswith(left.family) for o in options)
    (head0, _, _, _), (head1, _, _, _) = _panels(
        compare_side.side_by_side(store, two, "neuron_heatmap", "epoch", 100, [two[1], two[0]]))
    assert head0.startswith(compare_side.short_labels([right, left])[right])


def test_both_heatmaps_share_one_colour_range_unless_each_keeps_its_own(store, two):
    out = compare_side.side_by_side(store, two, "neuron_heatmap", "epoch", 100)
    ranges = {(t.get("zmin"), t.get("zmax")) for fig in (out[2], out[7]) for t in fig["data"] if t["type"] == "heatmap"}
    assert len(ranges) == 1 and None not in next(iter(ranges))
    own = compare_side.side_by_side(store, two, "neuron_heatmap", "epoch", 100, scale="own")
    assert all(t.get("zmin") is None for fig in (own[2], own[7]) for t in fig["data"] if t["type"] == "heatmap")


def test_the_panels_follow_the_explore_pages_neuron(store, two):
    """The side-by-side panels drew neuron 0 whatever the Explore page's neuron box said."""
    out = compare_side.side_by_side(store, two, "neuron_heatmap", "epoch", 100, values={"neuron": 3})
    titles = [fig["layout"]["title"]["text"] for fig in (out[2], out[7])]
    assert all("neuron 3" in t for t in titles), titles
    default = compare_side.side_by_side(store, two, "neuron_heatmap", "epoch", 100)
    assert "neuron 0" in default[2]["layout"]["title"]["text"]
