"""interleaved_streams end to end: the patterned task is learnable and the random one is
not; a constraint run resumes bit-identically with its frozen heads intact; a clamped run
calibrates from its control run (and refuses without one), trains and analyzes."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

from families.interleaved_streams import HEAD_SLICED
from workbench.analysis.pipeline import analyze
from workbench.core.errors import UserError
from workbench.core.variant import parse_variant
from workbench.store import RunKey, Store
from workbench.training.trainer import plan_training, train

BENCH = Path(__file__).resolve().parents[2] / "bench" / "interleaved.py"
TINY = "interleaved_streams:vocab_size=16,seq_len=16,n_train_seqs=96,n_val_seqs=16,d_model=16"


def _train(spec: str, store: Store, epochs: int, **recipe) -> dict[str, float]:
    plan = plan_training(parse_variant(spec, recipe=recipe or None), store, epochs=epochs,
                         schedule=f"0:{epochs + 1}:2", eval_every=1)
    return train(plan, store, quiet=True)


def test_patterned_task_is_learnable_and_random_is_not(tmp_path):
    store = Store(tmp_path)
    base = "interleaved_streams:vocab_size=32,seq_len=32,n_train_seqs=1000,n_val_seqs=200,d_model=40"
    recipe = {"lr": 3e-3, "batch_size": 32}
    patterned = _train(base, store, 10, **recipe)
    random = _train(base + ",task=random", store, 10, **recipe)
    assert patterned["test_acc"] > 0.3  # measured 0.44 after 300 steps
    assert random["test_acc"] < 0.1  # chance is 1/32


def test_constraint_resumes_bit_identically_with_frozen_heads_at_init(tmp_path):
    spec = TINY + ",condition=constraint"
    straight, resumed = Store(tmp_path / "a"), Store(tmp_path / "b")
    _train(spec, straight, 4, weight_decay=1.0)
    _train(spec, resumed, 2, weight_decay=1.0)
    _train(spec, resumed, 4, weight_decay=1.0)
    key = RunKey(*parse_variant(spec, recipe={"weight_decay": 1.0}).key)
    a, b, init = (s.load_checkpoint(key, e) for s, e in ((straight, 4), (resumed, 4), (straight, 0)))
    assert all(torch.equal(a[k], b[k]) for k in a)
    for leaf in HEAD_SLICED:
        name = f"blocks.0.attn.{leaf}"
        assert torch.equal(a[name][:3], init[name][:3]) and not torch.equal(a[name][3], init[name][3])
    ma, mb = straight.read_metrics(key), resumed.read_metrics(key)
    for column in ma:
        np.testing.assert_array_equal(ma[column], mb[column], err_msg=column)


def _bench_calibrate():
    """bench/interleaved.py's `calibrate`: the study's tool that reads the control run from a store."""
    spec = importlib.util.spec_from_file_location("interleaved_bench", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.calibrate


def test_clamped_run_calibrates_from_its_control_then_trains_and_analyzes(tmp_path):
    store, calibrate = Store(tmp_path), _bench_calibrate()
    clamp = TINY + ",condition=mean_clamp"
    with pytest.raises(UserError, match="control run .* is missing or unfinished"):
        calibrate(store, clamp)
    _train(TINY, store, 2)
    spec = calibrate(store, clamp)
    variant = parse_variant(spec)
    assert variant.params.calib_std > 0 and variant.params.calib_norm > 0
    _train(spec, store, 2)
    key = RunKey(*variant.key)
    metrics = store.read_metrics(key)
    assert np.allclose(np.sqrt(metrics["sigma2"]), variant.params.calib_std, rtol=1e-4)  # the clamp held
    result = analyze(spec, store, analyzers="all", quiet=True)
    assert result.computed > 0 and not result.failed
    for name in ("amplitude", "attention_offsets", "stream_accuracy"):
        assert store.artifact_epochs(key, name) == store.checkpoint_epochs(key), name
    final = store.read_artifact(key, "amplitude", 2)
    np.testing.assert_allclose(np.sqrt(final["sigma2"]), [variant.params.calib_std], rtol=1e-4)


def test_study_run_with_fresh_data_dropout_and_a_clamp_on_the_frozen_model_resumes_bit_identically(tmp_path):
    """Issue 29: arch=study draws dropout masks and fresh batches per step, and freezes the whole
    attention layer; stopped at step 4 and resumed to 8 it equals a run straight to 8."""
    study = TINY + ",arch=study,data=fresh,patterns=study_2_7,scoring=all"
    control, straight, resumed = Store(tmp_path / "c"), Store(tmp_path / "a"), Store(tmp_path / "b")
    _train(study, control, 4)
    spec = _bench_calibrate()(control, study + ",constraint=frozen,clamp=mean,clamp_site=final_ln_out")
    _train(spec, straight, 8)
    _train(spec, resumed, 4)
    _train(spec, resumed, 8)
    key = RunKey(*parse_variant(spec).key)
    a, b, init = (s.load_checkpoint(key, e) for s, e in ((straight, 8), (resumed, 8), (straight, 0)))
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert all(torch.equal(a[k], init[k]) for k in a if ".attn." in k)  # the whole layer, b_O included
    ma, mb = straight.read_metrics(key), resumed.read_metrics(key)
    for column in ma:
        np.testing.assert_array_equal(ma[column], mb[column], err_msg=column)
    result = analyze(spec, straight, analyzers="all", quiet=True)
    assert not result.failed


def test_issue_14_runs_keep_their_names_and_a_refused_setting_still_lists_loads_and_extends(tmp_path, monkeypatch):
    """A naive clamp at the last resid_post (issue 14's default) is refused for new runs only."""
    old = ("vocab_size=16,seq_len=16,n_train_seqs=96,n_val_seqs=16,d_model=16,n_layers=1,n_heads=4,"
           "condition=naive_clamp,n_frozen=3,calib_norm=2.5,calib_std=1.25,seed=0,data_seed=0")
    variant = parse_variant(f"interleaved_streams:{old}")
    assert variant.dir_name == old and not variant.params.frozen and variant.params.site == "resid_post"
    store = Store(tmp_path)
    with pytest.raises(UserError, match="cannot change the output"):
        _train(variant.spec, store, 2)
    assert not store.exists(RunKey(*variant.key))
    monkeypatch.setattr(type(variant.family), "check_new_run", lambda self, params: None)
    _train(variant.spec, store, 2)  # as made before the rule
    monkeypatch.undo()
    _train(variant.spec, store, 4)  # extends: the rule is for new runs only
    assert store.read_record(RunKey(*variant.key)).epochs == 4
    assert store.load_checkpoint(RunKey(*variant.key), 4)


def test_a_named_probe_of_sequences_runs_the_streams_analyzers_on_its_rows(tmp_path):
    """Issue 31: a probe of a sequence family (a set of its sequences) is analyzed row-wise. Over every row it
    gives exactly the canonical artifacts; over rows 0-7, the accuracy of a direct forward on those rows."""
    from workbench.cli import main

    store = Store(tmp_path)
    _train(TINY, store, 2)
    key = RunKey(*parse_variant(TINY).key)
    variant = store.read_variant(key)
    data = variant.family.probe(variant.params)
    n = len(data.inputs)
    for name, expr in (("every", f"rows 0-{n - 1}"), ("first8", "rows 0-7")):
        assert main(["probe", "add", name, "interleaved_streams", expr, "--store", str(store.root)]) == 0
    analyze(TINY, store, analyzers="all", quiet=True)
    for probe in ("every", "first8"):
        result = analyze(TINY, store, analyzers="all", quiet=True, probe=probe)
        assert result.computed > 0 and not result.failed
    every, first8 = store.with_probe("every"), store.with_probe("first8")
    for name in ("stream_accuracy", "amplitude", "attention_offsets"):
        a, b = store.read_artifact(key, name, 2), every.read_artifact(key, name, 2)
        for field in a:
            np.testing.assert_array_equal(a[field], b[field], err_msg=f"{name}.{field}")
    model = variant.family.tl_model(variant.params, store.load_checkpoint(key, 2))
    with torch.inference_mode():
        logits = model(data.inputs[:8])
    labels = data.labels[:8]
    right = ((logits.argmax(-1) == labels) & (labels != -100)).double().sum(-1)
    scored = (labels != -100).double().sum(-1)
    part = first8.read_artifact(key, "stream_accuracy", 2)
    for split, mask in (("train", data.train_mask[:8]), ("test", ~data.train_mask[:8])):
        expected = (right[mask].sum() / scored[mask].sum()).item() if mask.any() else float("nan")
        assert float(part[f"{split}_acc"]) == pytest.approx(expected, nan_ok=True), split
