"""A report spec rendered offline for the tiny analyzed run, and its command line."""

from __future__ import annotations

import html
import re

import pytest

from workbench.cli import main
from workbench.core.errors import UserError
from workbench.query.report_specs import load_spec, parse_spec
from workbench.ui.report_views import write_spec_report

SPEC = "modular_addition:p=17,frac_train=0.5"


def test_the_turn_renders_offline_with_its_views_in_order(tiny_analyzed, tmp_path):
    name, spec = load_spec(tiny_analyzed, "the_turn")
    path = write_spec_report(tiny_analyzed, name, spec, SPEC, out=tmp_path / "turn.html")
    page = path.read_text()
    assert "<h1>The turn</h1>" in page and page.count("Plotly.newPlot") == len(spec.views) - 1  # one needs a turn
    assert not re.search(r'<(script|link|img)[^>]*(src|href)="(https?:)?//', page)  # nothing from the network
    heads = [page.index(f"<h3>{v.view}") for v in spec.views]
    assert heads == sorted(heads)
    assert "neuron_heatmap — end (epoch 200)" in page and "left out: this run has no turn onset" in page


def test_an_epoch_the_run_lacks_leaves_that_view_out_and_says_why(tiny_analyzed, tmp_path):
    spec = parse_spec("title: T\nviews:\n  - view: neuron_heatmap\n    epoch: Turn_Onset\n  - view: loss_curves", "spec")
    page = write_spec_report(tiny_analyzed, "t", spec, SPEC, out=tmp_path / "t.html").read_text()
    assert "left out: this run has no turn onset (its epochs: init, end of memorization, end)" in page
    assert "<h3>loss_curves" in page


def test_an_epoch_word_no_run_has_is_one_line():
    with pytest.raises(UserError, match="epoch 'the moon' is not a number or one of: init, end of memorization, end, "):
        parse_spec("title: T\nviews:\n  - view: neuron_heatmap\n    epoch: the moon", "spec")


def test_the_command_line_renders_lists_and_refuses(tiny_analyzed, tmp_path, capsys):
    root = str(tiny_analyzed.root)
    assert main(["report", SPEC, "--spec", "failed_to_generalize", "--store", root, "--out", str(tmp_path / "f.html")]) == 0
    assert (tmp_path / "f.html").read_text().count("<h3>") == 5
    capsys.readouterr()
    assert main(["report", "--specs", "--store", root]) == 0
    assert "the_turn" in capsys.readouterr().out
    bad = tmp_path / "bad.yaml"
    bad.write_text("title: T\nviews:\n  - view: nope")
    assert main(["report", SPEC, "--spec", str(bad), "--store", root]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "unknown view 'nope'" in err


def test_a_group_view_draws_the_group_and_an_unknown_group_is_left_out(tmp_path):
    """Issue 31 item 4: a spec's view may read a run group (its mean and band over the seeds)."""
    from workbench.store import Store
    from workbench.store import Store
    from workbench.testing.synthetic import listed_run

    store = Store(tmp_path / "store")
    for seed, acc in enumerate((0.6, 0.8, 1.0)):
        listed_run(store, f"modular_addition:p=17,seed={seed}", test_acc=acc, onset=300)
    spec = parse_spec("title: G\nviews:\n  - view: loss_curves\n    group: p=17\n"
                      "  - view: loss_curves\n    group: p=99", "spec")
    page = write_spec_report(store, "g", spec, "modular_addition:p=17,seed=0", out=tmp_path / "g.html").read_text()
    assert page.count("Plotly.newPlot") == 1 and "(n=3)</h3>" in page
    assert html.escape("left out: 0 run groups match 'p=99'") in page


def test_a_named_probe_reads_its_artifacts_and_an_unknown_one_is_left_out(tiny_analyzed, tmp_path):
    spec = parse_spec("title: P\nviews:\n  - view: loss_curves\n    probe: no_such_probe\n"
                      "  - view: loss_curves\n    probe: full", "spec")
    page = write_spec_report(tiny_analyzed, "p", spec, SPEC, out=tmp_path / "p.html").read_text()
    assert html.escape("left out: this run's family has no probe 'no_such_probe' (its probes: canonical") in page
    assert page.count("Plotly.newPlot") == 1


def test_a_layout_spec_round_trips(tmp_path):
    from workbench.query.report_specs import layout_spec, save_spec_text
    from workbench.store import Store

    text = layout_spec("My view: on", SPEC, [{"view": "loss_curves"},
                                               {"view": "neuron_heatmap", "epoch": 200, "neuron": 3}])
    spec = parse_spec(text, "spec")
    assert spec.title == "My view: on" and spec.variant == SPEC and spec.views[1].options == {"neuron": 3}
    store = Store(tmp_path / "store")
    save_spec_text(store, "mine", text, "spec", replace=False)
    with pytest.raises(UserError, match="'mine' exists"):
        save_spec_text(store, "mine", text, "spec", replace=False)
    with pytest.raises(UserError, match="invalid report spec id"):
        save_spec_text(store, "../x", text, "spec")
    assert load_spec(store, "mine")[1] == spec


def test_a_named_probe_view_reads_that_probes_artifacts(tmp_path):
    """Ground truth: the run's neuron_activations at epoch 200 exist only under probe 'pairs4', so the
    view draws with `probe: pairs4` and is the analyze hint with `probe: full`."""
    from workbench.core.probes import Probe
    from workbench.query.views import is_placeholder
    from workbench.store import Store
    from workbench.store.probes import save_probe
    from workbench.testing.synthetic import synthetic_run
    from workbench.ui.report import Omissions
    from workbench.ui.report_views import spec_items

    store = Store(tmp_path / "store")
    key = synthetic_run(store, p=7, epochs=[0, 100, 200], n_neurons=8, n_heads=2, analyzers=["neuron_activations"])
    save_probe(store, Probe("pairs4", "modular_addition", "1+2, 3+4"))
    canonical = store.artifact_path(key, "neuron_activations", 200)
    probed = store.with_probe("pairs4").artifact_path(key, "neuron_activations", 200)
    probed.parent.mkdir(parents=True, exist_ok=True)
    canonical.rename(probed)
    spec = parse_spec("title: P\nviews:\n  - view: neuron_heatmap\n    epoch: 200\n    probe: pairs4\n"
                      "  - view: neuron_heatmap\n    epoch: 200\n", "spec")
    on_probe, on_grid = spec_items(store, spec, f"{key.family}:{key.variant}", Omissions())
    assert not is_placeholder(on_probe.figure) and "probe pairs4" in on_probe.head
    assert is_placeholder(on_grid.figure)


def test_a_marker_between_checkpoints_resolves_to_the_nearest_one(tmp_path):
    """The canonical run's turn onset (1600) fell between checkpoints, its label gained "1600, the nearest
    checkpoint", and a spec's `epoch: turn onset` then found no epoch: the word must still match."""
    from workbench.store import Store
    from workbench.testing.synthetic import listed_run
    from workbench.ui.report import Omissions, label_word
    from workbench.ui.report_views import resolve_epoch

    store = Store(tmp_path / "store")
    key = listed_run(store, "modular_addition:p=17", epochs=1000, every=100, onset=150)  # checkpoints every 100
    epoch, label = resolve_epoch(store, key, "turn onset", Omissions())
    assert epoch in (100, 200) and label == f"turn onset 150, the nearest checkpoint (epoch {epoch})"
    assert label_word("turn onset 150, the nearest checkpoint") == "turn onset" and label_word("end") == "end"
