"""The Runs page's launch form per kind (issue 30 item 8): a family picker, that family's
params with their type, default and bounds read from its declared Params, the recipe
fields with the family's defaults, configs as a dropdown; the fields fill the spec the
start callback checks as the command would."""

from __future__ import annotations

import json

import pytest
from dash import no_update

from workbench.core.family import get_family, list_families
from workbench.core.recipe import Recipe
from workbench.store import Store
from workbench.testing.synthetic import listed_run
from workbench.ui.dashboard import create_app
from workbench.ui.dashboard.data import variant_id
from workbench.ui.dashboard.launch_form import (bounds, choices, compose_recipe, compose_spec, family_fields, fill, form,
                                                param_id, recipe_defaults)


def _field(family: str, name: str):
    return get_family(family).Params.model_fields[name]


@pytest.mark.parametrize("family, name, expected", [
    ("modular_addition", "p", "<= 1000"), ("modular_addition", "frac_train", "0 < x < 1"),
    ("modular_arithmetic", "n_layers", "1..12"), ("modular_addition", "seed", ">= 0"),  # 2**63 left out
    ("modular_addition", "lr", "0 < x <= 100"), ("universal_modular", "train_primes", "")])
def test_bounds_come_from_the_declared_constraints(family, name, expected):
    assert bounds(_field(family, name)) == expected


def test_choices_are_a_fields_literal_values():
    assert choices(_field("modular_arithmetic", "operation").annotation) == ("add", "subtract", "multiply")
    assert choices(_field("modular_arithmetic", "normalization").annotation) == ("LN",)  # Optional[Literal]
    assert choices(Recipe.model_fields["no_decay"].annotation) == ()  # a tuple of choices is typed as text
    assert choices(_field("modular_addition", "p").annotation) == ()


def test_the_spec_and_recipe_name_only_the_boxes_filled():
    assert compose_spec("modular_addition", {"p": "53", "seed": None, "lr": "  "}) == "modular_addition:p=53"
    assert compose_spec("modular_addition", {"p": None}) == "modular_addition"
    assert compose_recipe({"lr": "3e-3", "weight_decay": 0.5, "betas": ""}) == "lr=3e-3, weight_decay=0.5"


def test_every_familys_params_and_the_recipe_are_on_the_form(tmp_path):
    store = Store(tmp_path / "store")
    store.root.mkdir()
    page = json.dumps(create_app(store, launch=True).layout().to_plotly_json(), default=lambda o: o.to_plotly_json())
    assert '"job-fields"' in page and '"job-config"' not in page  # the fields come on the first visit to /runs
    layout = json.dumps(form(store), default=lambda o: o.to_plotly_json())
    for family in list_families():  # only the picked family's boxes are on the page at a time (a callback swaps them)
        boxes = json.dumps(family_fields(family).to_plotly_json(), default=lambda o: o.to_plotly_json())
        for name in get_family(family).Params.model_fields:
            assert json.dumps(param_id(family, name)) in boxes, (family, name)
        first = next(iter(get_family(family).Params.model_fields))
        assert (json.dumps(param_id(family, first)) in layout) == (family == list_families()[0])
    assert all(f'"jr-{name}"' in layout for name in Recipe.model_fields)
    assert '"job-config"' in layout and "mod97_grok" in layout  # the configs, as a dropdown's options


def test_the_recipe_placeholders_are_the_familys_own_defaults():
    fields = list(Recipe.model_fields)
    shown = dict(zip(fields, recipe_defaults("modular_addition", fields)))
    fam = get_family("modular_addition")
    assert shown["lr"] == str(fam.recipe(fam.Params()).lr) and shown["batch_size"] == "none"
    assert recipe_defaults("nosuch", fields) == [no_update] * len(fields)


def test_a_picked_run_or_config_fills_the_spec(tmp_path):
    store = Store(tmp_path / "store")
    key = listed_run(store, "modular_addition:p=17,seed=1")
    spec, _ = fill(store, "job-run", "modular_addition", None, variant_id(key), {}, {})
    assert spec == store.read_record(key).variant
    assert fill(store, "job-run", "modular_addition", None, "../x", {}, {}) == (no_update, no_update)
    spec, _ = fill(store, "job-config", "modular_addition", "mod97_grok", None, {}, {})
    assert spec.startswith("modular_arithmetic")
    params = {("modular_addition", "p"): "53", ("least_action", "p"): "17"}
    assert fill(store, "jp-modular_addition-p", "modular_addition", None, None, params, {"lr": "0.003"}) == (
        "modular_addition:p=53", "lr=0.003")


def test_the_guard_takes_a_wildcard_inputs_list_and_still_refuses_junk():
    """The param boxes are pattern-matched (ALL): Dash sends their inputs as a list of items; the
    callback-shape guard refused that with a 400 until it knew the form."""
    from workbench.ui.dashboard.guard import _malformed

    callbacks = {"out.value": {"callback": "f", "inputs": [{"id": "a"}, {"id": "{...}"}], "state": []}}
    item = {"id": "a", "property": "value", "value": 1}
    wildcard = [{"id": {"type": "jp", "family": "f", "field": "p"}, "property": "value", "value": "4"}]
    assert _malformed({"output": "out.value", "inputs": [item, wildcard], "state": []}, callbacks) is None
    assert _malformed({"output": "out.value", "inputs": [item, []], "state": []}, callbacks) is None  # no boxes
    assert "not (id, property, value)" in _malformed({"output": "out.value", "inputs": [item, [1]], "state": []},
                                                     callbacks)
    assert "not (id, property, value)" in _malformed({"output": "out.value", "inputs": [item, "x"], "state": []},
                                                     callbacks)
