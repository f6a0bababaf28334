"""Run groups: which runs form one, the spread of what they measured, and who is left out why."""

from __future__ import annotations

import math

import pytest

from workbench.core.family import get_family
from workbench.query import groups
from workbench.query.groups import agreement, group_rows, seed_summary


def _row(p=53, seed=0, test_acc=1.0, onset=None, lr=0.003, done=3500, **extra) -> dict:
    spec = f"p={p},seed={seed},data_seed=598,r.lr={lr}"
    row = {"family": "modular_addition", "variant": spec, "spec": f"modular_addition:{spec}",
           "params": {"p": p, "seed": seed, "data_seed": 598}, "recipe": {"lr": lr}, "epochs": 3500,
           "checkpoints": [0, done], "analyzers": ["turn"] if onset is not None else [],
           "metrics": {"epoch": done, "test_acc": test_acc}, "markers": {}, "unmarked": [], "headlines": {},
           "damaged_record": None, "damaged": None}
    if onset is not None and not math.isnan(onset):
        row["markers"] = {"turn_onset_epoch": onset}
    elif onset is not None:
        row["unmarked"] = ["turn"]
    row.update(extra)
    return row


def test_seed_params_are_declared_by_the_family():
    assert get_family("modular_addition").seed_params == ("seed", "data_seed")
    assert get_family("universal_modular").seed_params == ("seed", "data_seed", "prime_seed")


def test_runs_differing_only_in_seeds_form_a_group():
    rows = [_row(p=53, seed=s, test_acc=a) for s, a in ((2, 0.9), (0, 0.7), (1, 0.8))]
    rows += [_row(p=59, seed=0), _row(p=53, seed=0, lr=0.001)]  # another p, another recipe: groups of their own
    groups, outside = group_rows(rows)
    assert sorted(g.n for g in groups) == [1, 1, 3] and outside == []
    g = next(g for g in groups if g.n == 3)
    assert g.label == "p=53,seed=0-2,data_seed=598,r.lr=0.003" and g.seeds["seed"] == (0, 1, 2)
    assert g.params == {"p": 53, "data_seed": 598}  # seed differs, so it is not shared
    s = g.stats["test_acc"]
    assert (s.n, s.mean, s.min, s.max) == (3, pytest.approx(0.8), 0.7, 0.9)
    assert s.std == pytest.approx(0.1)  # deviations -0.1, 0, 0.1: sqrt(0.02 / 2)
    assert "epoch" not in g.stats


def test_markers_spread_and_missing_runs_named_with_reason():
    rows = [_row(seed=0, onset=500), _row(seed=1, onset=700), _row(seed=2, onset=math.nan), _row(seed=3)]
    (g,), _ = group_rows(rows)
    assert g.stats["turn_onset_epoch"].mean == 600 and g.stats["turn_onset_epoch"].n == 2
    why = {(spec.split("seed=")[1][0], q): reason for spec, q, reason in g.missing}
    assert why[("2", "turn_onset_epoch")] == "turn found no such epoch"
    assert why[("3", "turn_onset_epoch")] == "turn not run"


def test_unfinished_and_unreadable_runs_are_in_no_group():
    rows = [_row(seed=0), _row(seed=1, done=1200),
            {"family": "modular_addition", "variant": "p=7", "damaged_record": "variant.json: not JSON"}]
    groups, outside = group_rows(rows)
    assert [g.n for g in groups] == [1]
    assert outside[0][1] == "trained 1200 of 3500 epochs"
    assert outside[1] == ("modular_addition:p=7", "unreadable variant.json: variant.json: not JSON")


def test_text_headlines_keep_per_run_values_and_numbers_get_spread(monkeypatch):
    monkeypatch.setattr(groups, "_numeric_headlines", lambda: {"pr"})  # a scalar float output's headline
    rows = [_row(seed=0, headlines={"key_freqs": "8,19", "pr": "2.5"}),
            _row(seed=1, headlines={"key_freqs": "8,19", "pr": "3.5"}),
            _row(seed=2, headlines={"key_freqs": "5", "pr": "3.0"})]
    (g,), _ = group_rows(rows)
    assert g.texts["key_freqs"] == ("8,19", "8,19", "5") and agreement(g.texts["key_freqs"]) == "8,19 in 2 of 3"
    assert g.stats["pr"].mean == pytest.approx(3.0) and g.stats["pr"].std == pytest.approx(0.5)


def test_a_single_key_frequency_is_not_averaged():
    assert "key_freqs" not in groups._numeric_headlines()
    (g,), _ = group_rows([_row(seed=0, headlines={"key_freqs": "12"}), _row(seed=1, headlines={"key_freqs": "14"})])
    assert g.texts["key_freqs"] == ("12", "14") and "key_freqs" not in g.stats


def test_seed_summary_reads_like_a_sweep_spec():
    assert seed_summary([3, 1, 2, 0]) == "0-3"
    assert seed_summary([0, 2, 7]) == "0|2|7"
    assert seed_summary([598, 598]) == "598"
    assert seed_summary([1, 2]) == "1|2"
