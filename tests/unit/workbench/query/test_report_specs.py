"""Report specs: the shipped ones parse, malformed ones are one line naming the problem, saved ones list."""

from __future__ import annotations

import pytest

from workbench.core.errors import UserError
from workbench.query.report_specs import SPEC_DIR, load_spec, parse_spec, save_spec, spec_names
from workbench.store import Store

GOOD = """title: T
views:
  - view: loss_curves
  - view: neuron_heatmap
    epoch: turn onset
    neuron: 3
"""


def test_the_two_shipped_specs_parse(tmp_path):
    store = Store(tmp_path)
    assert {"the_turn", "failed_to_generalize"} <= set(spec_names(store))
    name, spec = load_spec(store, "the_turn")
    assert name == "the_turn" and spec.views[0].view == "loss_curves"
    assert [v.view for v in spec.views].count("neuron_heatmap") == 2
    assert load_spec(store, "failed_to_generalize")[1].title.startswith("Why did")


def test_a_view_option_goes_under_options():
    spec = parse_spec(GOOD, "spec")
    assert spec.views[1].options == {"neuron": 3} and spec.views[1].epoch == "turn onset"


@pytest.mark.parametrize("text, match", [
    ("title: [unclosed", "not valid YAML"),
    ("- a list", "must be a mapping"),
    ("title: T\nviews: []", "views must be a non-empty list"),
    ("title: T\nviews:\n  - view: no_such_view", "unknown view 'no_such_view'"),
    ("title: T\nviews:\n  - view: loss_curves\n    neuron: 3", "no option 'neuron'"),
    ("title: T\nviews:\n  - view: loss_curves\n    range: 9:3", "range '9:3'"),
    ("title: T\nviews:\n  - view: neuron_heatmap\n    group: p=53", "a group draws curves over training only"),
    ("title: T\nviews:\n  - view: loss_curves\n    group: p=53\n    variant: modular_addition", "a variant or a group, not both"),
    ("title: T\nviews:\n  - view: loss_curves\n    probe: a<b", "not .full. or a probe.s name"),
    ("title: T\ncolour: red\nviews:\n  - view: loss_curves", "colour"),
    ("views:\n  - view: loss_curves", "title"),
])
def test_a_malformed_spec_is_one_line(text, match):
    with pytest.raises(UserError, match=match) as err:
        parse_spec(text, "report spec 'x'")
    assert "\n" not in str(err.value) and str(err.value).startswith("report spec 'x'")


def test_saving_lists_it_and_refuses_a_shipped_name(tmp_path):
    store, file = Store(tmp_path / "store"), tmp_path / "mine.yaml"
    file.write_text(GOOD)
    save_spec(store, "mine", str(file))
    assert spec_names(store)["mine"] == "store" and load_spec(store, "mine")[1].title == "T"
    with pytest.raises(UserError, match="is shipped"):
        save_spec(store, "the_turn", str(file))
    file.write_text("title: T\nviews: 3")
    with pytest.raises(UserError, match="views must be"):
        save_spec(store, "bad", str(file))
    assert "bad" not in spec_names(store)
    with pytest.raises(UserError, match="unknown report spec 'nope'"):
        load_spec(store, "nope")
    assert SPEC_DIR.is_dir()
