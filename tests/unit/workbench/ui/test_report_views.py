"""A report spec rendered offline for the tiny analyzed run, and its command line."""

from __future__ import annotations

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
