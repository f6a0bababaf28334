"""Spread presets (issue 29 items 7 and 3): the study's four conditions over seeds for both
architectures, and the leak, on a hand-written store whose final values are known."""

from __future__ import annotations

import math

import numpy as np
import pytest

from workbench.core.variant import parse_variant
from workbench.query import preset_spread, presets
from workbench.query.stats import number
from workbench.store import RunKey, Store
from workbench.store._io import save_json, save_npz
from workbench.ui.sections import report_sections
from workbench.ui.condition_figure import condition_figure
from workbench.ui.dashboard import compare, data

SHARED = "interleaved_streams:vocab_size=16,seq_len=16,n_val_seqs=4,d_model=16,data=fresh"
CALIB = ",calib_norm=2.0,calib_std=0.5"
CONDITIONS = {"control": "", "constraint": ",constraint=frozen", "constraint_naive_clamp": ",constraint=frozen,clamp=naive",
              "constraint_mean_clamp": ",constraint=frozen,clamp=mean"}
FOUR = "interleaved_streams/study's four conditions"
LEAK = "interleaved_streams/the leak: study control without and with the mask"


def acc(arch: str, condition: int, seed: int) -> float:
    """The final acc_all of a run: distinct per arch, condition and seed."""
    return 0.1 * (condition + 1) + 0.01 * seed + (0.5 if arch == "study" else 0.0)


def _run(store: Store, spec: str, finals: dict[str, float]) -> RunKey:
    variant = parse_variant(spec)
    key = RunKey(*variant.key)
    save_json({"variant": variant.spec, "family": variant.family.name}, store.variant_path(key))
    save_npz({"epoch": np.array([0, 1]), **{m: np.array([0.0, v]) for m, v in finals.items()}}, store.metrics_path(key))
    return key


def _finals(a: float) -> dict[str, float]:
    return {"acc_all": a, "last_acc": a / 2, "A_final": 10 * a, "s2tok_final": 1.0, "A_study": 5.0, "s2tok_study": 1.0}


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    store = Store(tmp_path_factory.mktemp("spread_store"))
    for arch in ("causal", "study"):
        for c, (condition, axes) in enumerate(CONDITIONS.items()):
            for seed in range(3):
                spec = f"{SHARED}{'' if arch == 'causal' else ',arch=study'}{axes},seed={seed},data_seed={seed}"
                _run(store, spec + (f"{CALIB},control_seed={seed}" if "clamp" in axes else ""), _finals(acc(arch, c, seed)))
    for seed in range(3):  # the leak: the study control with the mask; attn_next from attention_offsets
        study = f"{SHARED},arch=study,seed={seed},data_seed={seed}"
        masked = _run(store, study.replace("arch=study", "arch=study,attn_mask=causal"), _finals(0.5))
        for key, mass in ((RunKey(*parse_variant(study).key), 0.6 + 0.01 * seed), (masked, 0.0)):
            store.write_artifact(key, "attention_offsets", 1, {"next_mass_mean": np.asarray(mass, dtype=np.float32)})
    _run(store, f"{SHARED.replace('d_model=16', 'd_model=32')},seed=0,data_seed=0", _finals(0.3))  # another setting: never lined up
    return store


def _anchor(store: Store, *has: str, lacks: str = "attn_mask") -> RunKey:
    return next(k for k in store.runs() if all(h in k.variant for h in has) and lacks not in k.variant)


def test_the_four_conditions_line_up_every_seed_of_both_archs_and_nothing_else(store):
    family, preset = presets.get_preset(FOUR)
    keys = presets.line_up(store, family, preset, [_anchor(store, "arch=study", "condition=control")])
    assert len(keys) == 24 and not any("attn_mask" in k.variant or "d_model=32" in k.variant for k in keys)
    arrays = preset_spread.spread_arrays(store, family, preset, keys)
    assert list(arrays["conditions"]) == list(CONDITIONS)  # the Literal's declared order
    assert list(arrays["splits"]) == ["causal", "study"]  # arch absent from the name reads as "causal"
    assert arrays["values"].shape == (2, 4, 6, 3)
    for g, arch in enumerate(("causal", "study")):
        for c in range(4):
            np.testing.assert_allclose(arrays["values"][g, c, 0], [acc(arch, c, s) for s in range(3)])
            np.testing.assert_allclose(arrays["values"][g, c, 2], [10 * acc(arch, c, s) for s in range(3)])
    assert arrays["seeds"][1, 3].tolist() == ["0,0", "1,1", "2,2"]


def test_rows_give_each_spread_and_its_test_against_the_reference(store):
    family, preset = presets.get_preset(FOUR)
    arrays = preset_spread.spread_arrays(store, family, preset, presets.line_up(store, family, preset, []))
    rows = {(s, c): (n, cells) for s, c, n, cells in preset_spread.spread_rows(arrays, "constraint")}
    n, cells = rows[("study", "control")]
    assert n == 3 and cells[0].startswith("0.6100 ± 0.010") and cells[0].endswith("]; vs constraint: within spread")
    assert "vs constraint" not in rows[("study", "constraint")][1][0]  # the reference is not tested against itself
    four = {"conditions": np.array(["a", "b"]), "splits": np.array([""]), "metrics": np.array(["m"]),
            "values": np.array([[[[0.0, 0.1, 0.2, 0.3]], [[5.0, 5.1, 5.2, 5.3]]]]),
            "seeds": np.array([[["0", "1", "2", "3"]] * 2])}
    four["values"][0, 0, 0, 3] = np.nan  # a seed missing from "a": 3 against 4
    (_, _, n_a, _), (_, _, n_b, (b,)) = preset_spread.spread_rows(four, "a")
    assert (n_a, n_b) == (3, 4) and b.endswith("vs a: differs")  # 4 a side can differ


def test_ratios_are_paired_per_seed_within_an_arch(store):
    family, preset = presets.get_preset(FOUR)
    arrays = preset_spread.spread_arrays(store, family, preset, presets.line_up(store, family, preset, []))
    ratios = {(s, label): text for s, label, text in preset_spread.paired_ratios(arrays, preset)}
    want = [acc("causal", 3, s) / acc("causal", 1, s) for s in range(3)]  # mean clamp ÷ constraint, acc_all
    text = ratios[("causal", "mean-preserving ÷ constraint, all-position accuracy")]
    assert text == f"{number(float(np.mean(want)), 4)} [{number(min(want), 3)}, {number(max(want), 3)}] over 3 paired seeds"


def test_the_leak_preset_reads_the_attn_next_headline_beside_the_metrics(store):
    family, preset = presets.get_preset(LEAK)
    keys = presets.line_up(store, family, preset, [_anchor(store, "arch=study", "condition=control")])
    arrays = preset_spread.spread_arrays(store, family, preset, keys)
    assert list(arrays["conditions"]) == ["none (study)", "causal"] and arrays["values"].shape == (1, 2, 3, 3)
    np.testing.assert_allclose(arrays["values"][0, 0, 0], [acc("study", 0, s) for s in range(3)])  # the control
    np.testing.assert_allclose(arrays["values"][0, 0, 2], [0.6, 0.61, 0.62], rtol=1e-6)
    np.testing.assert_allclose(arrays["values"][0, 1], [[0.5] * 3, [0.25] * 3, [0.0] * 3])
    assert math.isnan(presets.final_values(store, keys[0], ("no_such_metric",))["no_such_metric"])


def test_the_figure_draws_seeds_and_mean_with_min_max_bars():
    values = np.array([[[[1.0, 2.0, 4.0]], [[3.0, np.nan, 5.0]]]])  # one split, 2 conditions, 1 metric
    arrays = {"conditions": np.array(["c0", "c1"]), "splits": np.array(["study"]), "metrics": np.array(["acc"]),
              "values": values, "seeds": np.array([[["0", "1", "2"], ["0", "", "2"]]])}
    fig = condition_figure(arrays)
    dots, means = fig.data
    assert len(dots.y) == 5  # the missing seed is not drawn
    np.testing.assert_allclose(means.y, [7 / 3, 4.0])
    np.testing.assert_allclose(means.error_y.array, [4 - 7 / 3, 1.0])
    np.testing.assert_allclose(means.error_y.arrayminus, [7 / 3 - 1, 1.0])
    with pytest.raises(ValueError, match="values must be"):
        condition_figure({**arrays, "values": values[0]})


def test_the_compare_page_shows_the_figure_and_table_for_a_spread_preset(store):
    vids = [data.variant_id(k) for k in store.runs()]
    children = compare.preset_children(store, FOUR, vids)
    assert any(getattr(c, "id", None) == "compare-preset-figure" for c in children)
    assert "paired per seed" in str(children) and "within spread" in str(children)


def test_the_report_gets_a_section_per_spread_preset_around_its_run(store):
    study_control = _anchor(store, "arch=study", "condition=control")
    sections = report_sections(store, study_control, lambda fig: f"<fig {len(fig.data)}>")
    assert [h for _, h, _ in sections] == ["study's four conditions: seed spread at the last evaluation",
                                           "the leak: study control without and with the mask: seed spread at the last evaluation"]
    four = sections[0][2]
    assert "<fig 24>" in four and four.count("<tr>") == 1 + 8 and "over 3 paired seeds" in four
    alone = _anchor(store, "d_model=32")  # nothing else in its setting: no section
    assert report_sections(store, alone, str) == []
