"""The trainer's optional seams, on the toy family (workbench.testing.toy): fresh rows per step,
a per-step generator for stochastic forwards (dropout), `check_new_run`, and an empty test set."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from workbench.cli import main
from workbench.core.family import registered
from workbench.core.train_module import (
    DATA_STREAM,
    MODULE_STREAM,
    OBJECTIVE_STREAM,
    TrainModule,
    dropout,
    step_generator,
    step_seed,
)
from workbench.core.variant import parse_variant
from workbench.store import RunKey, Store
from workbench.store.index import run_rows
from workbench.testing import ToyFamily, parametrize_with_checks
from workbench.training import resume as _resume
from workbench.training.step import graph_obstacle
from workbench.ui.report import _metric_rows

TOY = ToyFamily()
FRESH = "toy_seams:fresh=True,dropout=0.25"
ARGS = ["--epochs", "40", "--schedule", "0:40:10", "--eval-every", "5", "--quiet"]


@pytest.fixture(autouse=True)
def toy_registered():
    with registered(TOY):
        yield


@parametrize_with_checks(families=[TOY])
def test_the_toy_family_passes_every_family_check(plugin, check):
    check(plugin)


# ----------------------------------------------------------------------------- per-step generators
def test_step_seeds_keep_the_objectives_and_separate_the_streams():
    assert step_seed(7, 11) == (7 * 1_000_003 + 11) % 2**63  # every earlier run's objective seed
    seeds = {step_seed(7, 11, s) for s in (OBJECTIVE_STREAM, DATA_STREAM, MODULE_STREAM)}
    assert len(seeds) == 3 and all(0 <= s < 2**63 for s in seeds)
    assert step_seed(7, 11, DATA_STREAM) == step_seed(7, 11, DATA_STREAM) != step_seed(7, 12, DATA_STREAM)
    a, b = (torch.rand(4, generator=step_generator(7, 11, MODULE_STREAM)) for _ in range(2))
    assert torch.equal(a, b)


def test_dropout_keeps_scaled_entries_draws_from_its_generator_and_is_off_without_one():
    x = torch.ones(8, 1000)
    out = dropout(x, 0.25, torch.Generator().manual_seed(3))
    assert set(out.unique().tolist()) == {0.0, float(torch.tensor(1.0) / 0.75)}  # exactly 1/(1-p) in float32
    assert 0.2 < float((out == 0).float().mean()) < 0.3
    assert torch.equal(out, dropout(x, 0.25, torch.Generator().manual_seed(3)))
    assert not torch.equal(out, dropout(x, 0.25, torch.Generator().manual_seed(4)))
    assert dropout(x, 0.25, None) is x and dropout(x, 0.0, torch.Generator()) is x
    shared = dropout(torch.ones(3, 8, 100), 0.5, torch.Generator().manual_seed(0), shared_leading=1)
    assert torch.equal(shared[0], shared[1]) and torch.equal(shared[0], shared[2])


def test_the_module_drops_only_in_a_training_step_and_evaluates_as_with_no_dropout():
    v, plain = parse_variant(FRESH), parse_variant("toy_seams:fresh=True")
    module = TOY.train_module(v.params, [TOY.init_state(v.params)])
    reference = TOY.train_module(plain.params, [TOY.init_state(plain.params)])
    assert isinstance(module, TrainModule) and module.stochastic and not reference.stochastic
    x = TOY.data(v.params).inputs[None]
    with torch.no_grad():
        assert torch.equal(module(x), reference(x))  # evaluation: p = 0
        drawn = []
        for step in (5, 5, 6):
            module.before_step(step, step_generator(0, step, MODULE_STREAM))
            drawn.append(module(x))
            module.after_step()
        assert torch.equal(drawn[0], drawn[1]) and not torch.equal(drawn[0], drawn[2])
        assert torch.equal(module(x), reference(x))


def test_a_stochastic_module_cannot_be_replayed_from_a_cuda_graph():
    v = parse_variant(FRESH)
    module = TOY.train_module(v.params, [TOY.init_state(v.params)])
    assert "draws random numbers" in graph_obstacle(TOY, v.recipe, module)
    quiet = TOY.train_module(parse_variant("toy_seams").params, [TOY.init_state(v.params)])
    assert graph_obstacle(TOY, v.recipe, quiet) is None


# ----------------------------------------------------------------------------- fresh rows, resume
class _Killed(BaseException):
    """Stands in for SIGKILL at a checkpoint: nothing after it runs."""


def _kill_at(monkeypatch, epoch: int) -> None:
    real = _resume.save_checkpoint

    def save_then_die(store, key, spec, family, params, e, *args, **kwargs):
        real(store, key, spec, family, params, e, *args, **kwargs)
        if e == epoch:
            raise _Killed

    monkeypatch.setattr(_resume, "save_checkpoint", save_then_die)


def _same_runs(a, b) -> int:
    """Every checkpoint and metric of every run in store a equals store b's, bit for bit."""
    runs = Store(a).runs()
    assert runs == Store(b).runs() and runs
    for key in runs:
        assert Store(a).checkpoint_epochs(key) == Store(b).checkpoint_epochs(key)
        for e in Store(a).checkpoint_epochs(key):
            x, y = (Store(s).load_checkpoint(key, e) for s in (a, b))
            assert x.keys() == y.keys() and all(torch.equal(x[n], y[n]) for n in x), (key, e)
        ma, mb = Store(a).read_metrics(key), Store(b).read_metrics(key)
        assert ma.keys() == mb.keys()
        for name in ma:
            np.testing.assert_array_equal(ma[name], mb[name], err_msg=name)
    return len(runs)


@pytest.mark.parametrize("spec, seeds", [(FRESH, []), (FRESH, ["--seeds", "0-1"]),
                                         ("toy_seams:dropout=0.25,r.batch_size=8", [])])
def test_resume_after_a_kill_equals_an_uninterrupted_run_with_fresh_rows_and_dropout(tmp_path, monkeypatch, spec, seeds):
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    assert main(["train", spec, *seeds, *ARGS, "--store", str(straight)]) == 0
    _kill_at(monkeypatch, 20)
    with pytest.raises(_Killed):
        main(["train", spec, *seeds, *ARGS, "--store", str(killed)])
    monkeypatch.undo()
    key = Store(killed).runs()[0]
    assert Store(killed).resume_epoch(key) == 20
    assert main(["train", spec, *seeds, *ARGS, "--store", str(killed)]) == 0
    assert _same_runs(straight, killed) == max(1, len(seeds))


def test_fresh_rows_make_one_step_an_epoch_and_differ_from_step_to_step(tmp_path):
    v = parse_variant(FRESH + ",r.steps=9,r.epochs=none")
    assert main(["train", v.spec, "--schedule", "0:9:3", "--store", str(tmp_path), "--quiet"]) == 0
    assert Store(tmp_path).checkpoint_epochs(RunKey(*v.key)) == [0, 3, 6, 9]
    draw = TOY.fresh_batches(v.params)
    first, second = (draw(s, step_generator(v.recipe.batch_seed, s, DATA_STREAM)) for s in (0, 1))
    assert not torch.equal(first[0], second[0])


def test_stacked_members_must_draw_the_same_fresh_rows(tmp_path, capsys):
    code = main(["train", FRESH, "--seeds", "0-1", "--data-seeds", "0,1", *ARGS, "--store", str(tmp_path / "s")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "other training rows" in err[0]
    assert not (tmp_path / "s").exists() or not Store(tmp_path / "s").runs()


# ----------------------------------------------------------------------------- an empty test set
def test_an_empty_test_set_gives_nan_test_metrics_shown_as_absent(tmp_path, capsys):
    assert main(["train", FRESH, *ARGS, "--store", str(tmp_path)]) == 0
    key = RunKey(*parse_variant(FRESH).key)
    metrics = Store(tmp_path).read_metrics(key)
    assert np.isnan(metrics["test_loss"]).all() and np.isnan(metrics["test_acc"]).all()
    assert np.isfinite(metrics["train_loss"]).all()
    row, = run_rows(Store(tmp_path))
    assert row["metrics"]["test_acc"] is None and row["metrics"]["train_acc"] is not None
    capsys.readouterr()
    assert main(["list", "--long", "--store", str(tmp_path)]) == 0
    line = [ln for ln in capsys.readouterr().out.splitlines() if "toy_seams:" in ln][0]
    assert "test acc" not in line and "nan" not in line
    rows = dict(_metric_rows(metrics))
    assert rows["final train / test accuracy"].endswith(" / —") and rows["final train / test loss"].endswith(" / —")


# ----------------------------------------------------------------------------- check_new_run
def test_a_setting_refused_for_new_runs_is_one_line_exit_2_and_writes_nothing(tmp_path, capsys):
    store = tmp_path / "store"
    assert main(["train", "toy_seams:legacy=True", *ARGS, "--store", str(store)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "legacy=True is refused for new runs" in err[0] and "toy_seams:" in err[0]
    assert not store.exists()


def test_runs_made_before_a_refusal_still_resume_extend_and_list(tmp_path, monkeypatch, capsys):
    spec = "toy_seams:legacy=True"
    monkeypatch.setattr(ToyFamily, "check_new_run", lambda self, params: None)  # the rule did not exist yet
    assert main(["train", spec, "--epochs", "10", "--schedule", "0:10:5", "--store", str(tmp_path), "--quiet"]) == 0
    monkeypatch.undo()
    calls = []
    real = ToyFamily.check_new_run
    monkeypatch.setattr(ToyFamily, "check_new_run", lambda self, params: calls.append(params) or real(self, params))
    assert main(["train", spec, "--extra-epochs", "5", "--store", str(tmp_path), "--quiet"]) == 0
    assert main(["train", spec, "--store", str(tmp_path), "--quiet"]) == 0  # done: nothing to do
    assert calls == []
    key = RunKey(*parse_variant(spec).key)
    assert Store(tmp_path).checkpoint_epochs(key)[-1] == 15
    capsys.readouterr()
    assert main(["list", "--long", "--store", str(tmp_path)]) == 0
    assert "epochs 15/15" in capsys.readouterr().out
