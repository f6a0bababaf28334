"""Compare-page presets and extra metrics, on a hand-written store of interleaved-streams runs."""

from __future__ import annotations

import math

import numpy as np
import pytest
from dash import no_update

from workbench.core.variant import parse_variant
from workbench.store import RunKey, Store
from workbench.store._io import save_json, save_npz
from workbench.query import presets
from workbench.ui.dashboard import compare, data

SHARED = "interleaved_streams:vocab_size=16,seq_len=16,n_train_seqs=8,n_val_seqs=4,d_model=16"
# condition -> (extra params, final test_acc, final amplitude)
CONDITIONS = {"mean_clamp": (",calib_norm=2.0,calib_std=0.5", 0.6, 3.0), "control": ("", 0.9, 2.0),
              "constraint": (",n_frozen=3", 0.4, 4.0), "naive_clamp": (",calib_norm=2.0,calib_std=0.5", 0.3, 2.0)}


def _run(store: Store, spec: str, test_acc: float, amplitude: float) -> RunKey:
    variant = parse_variant(spec)
    key = RunKey(*variant.key)
    save_json({"variant": variant.spec, "family": variant.family.name}, store.variant_path(key))
    save_npz({"epoch": np.array([0, 1]), "test_acc": np.array([0.0, test_acc]),
              "last_acc": np.array([0.0, test_acc]), "amplitude": np.array([1.0, amplitude]),
              "sigma2": np.array([0.5, 0.7]), "test_loss": np.array([3.0, 1.0])}, store.metrics_path(key))
    return key


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    store = Store(tmp_path_factory.mktemp("preset_store"))
    for condition, (extra, acc, amp) in CONDITIONS.items():  # written out of order on purpose
        _run(store, f"{SHARED},condition={condition}{extra}", acc, amp)
    _run(store, f"{SHARED},condition=control,seed=1", 0.8, 2.5)  # another setting: never lined up
    return store


def _condition(key: RunKey) -> str:
    return dict(p.split("=", 1) for p in key.variant.split(","))["condition"]


def test_preset_lines_up_the_four_conditions_of_the_anchor_setting_in_declared_order(store):
    assert {"label": "interleaved_streams: four conditions", "value": "interleaved_streams/four conditions"} \
        in presets.preset_options(store)
    anchor = next(k for k in store.runs() if "seed=1" not in k.variant and _condition(k) == "constraint")
    vids, metrics = compare.preset_selection(store, "interleaved_streams/four conditions", [data.variant_id(anchor)])
    keys = [data.resolve_variant(store, v) for v in vids]
    assert [_condition(k) for k in keys] == ["control", "constraint", "naive_clamp", "mean_clamp"]
    assert all("seed=1" not in k.variant for k in keys)
    assert metrics == ["test_acc", "last_acc", "amplitude", "sigma2"]


def test_preset_table_has_final_values_and_the_declared_ratio(store):
    family, preset = presets.get_preset("interleaved_streams/four conditions")
    keys = presets.line_up(store, family, preset, [])
    rows, ratios = presets.preset_table(store, family, preset, keys)
    assert [label for label, _ in rows] == ["control", "constraint", "naive_clamp", "mean_clamp"]
    assert [values["test_acc"] for _, values in rows] == [0.9, 0.4, 0.3, 0.6]
    assert ratios[0][0].startswith("mean-preserving") and math.isclose(ratios[0][1], 0.6 / 0.4)
    children = compare.preset_children(store, "interleaved_streams/four conditions",
                                       [data.variant_id(k) for k in keys])
    assert "1.5" in str(children)


def test_unknown_or_crafted_presets_and_metrics_change_nothing(store):
    vid = data.variant_id(store.runs()[0])
    for crafted in (None, 3, "", "interleaved_streams/nope", "../x/four conditions", "no_family/four conditions"):
        assert compare.preset_selection(store, crafted, [vid]) == (no_update, no_update)
        assert compare.preset_children(store, crafted, [vid]) == []
    assert compare.extra_panels(store, [vid], ["../etc", 5, "not_a_column"], "epoch") == []


def test_any_metrics_column_can_be_overlaid(store):
    vids = [data.variant_id(k) for k in store.runs()]
    options = {o["value"] for o in compare.metric_options(store, store.runs())}
    assert {"amplitude", "sigma2", "last_acc"} <= options and "epoch" not in options
    panels = compare.extra_panels(store, vids, ["amplitude"], "epoch")
    assert len(panels) == 1
    fig = panels[0].children[0].figure
    assert len(fig.data) == len(vids) and fig.layout.title.text == "amplitude"
