"""The public Python API: train, analyze, list and open runs without importing internals."""

from __future__ import annotations

import argparse

import numpy as np
import pytest

import workbench
from workbench import api
from workbench.core.errors import UserError
from workbench.store import Store

SPEC = "modular_addition:p=17,frac_train=0.5"


@pytest.fixture
def store(tmp_path) -> Store:
    return Store(tmp_path / "store")


def test_public_names_are_listed_and_lazily_importable():
    assert {"train", "analyze", "list_runs", "load_variant"} <= set(workbench.__all__) <= set(api.__all__) | {"UserError"}
    for name in set(workbench.__all__) - {"UserError"}:
        assert getattr(workbench, name) is getattr(api, name)
        assert getattr(api, name).__doc__, f"{name} needs a docstring"
    assert workbench.UserError is UserError
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        workbench.nope  # noqa: B018


def test_train_then_reuse_then_extend(store, capsys):
    v = workbench.train(SPEC, epochs=4, schedule="0:4:2", eval_every=1, store=store, quiet=True)
    assert isinstance(v, api.VariantHandle) and v.epochs == [0, 2, 4]
    assert list(v.metrics["epoch"]) == [0, 1, 2, 3, 4]
    weights = v.at(4).model().W_E.detach().clone()
    again = workbench.train(SPEC, store=store.root)  # already trained that far: nothing retrained
    assert again.epochs == [0, 2, 4] and "already trained to epoch 4" in capsys.readouterr().out
    assert np.array_equal(again.at(4).model().W_E.detach(), weights)
    longer = workbench.train(SPEC, extra_epochs=2, store=store, quiet=True)
    assert longer.epochs[-1] == 6 and longer.record["epochs"] == 6


def test_train_refuses_bad_input_and_writes_nothing(store):
    with pytest.raises(UserError, match="prime"):
        workbench.train("modular_addition:p=16", epochs=2, store=store, quiet=True)
    with pytest.raises(UserError, match="positive"):
        workbench.train(SPEC, epochs=0, store=store, quiet=True)
    assert not store.root.exists() or not list(store.root.iterdir())


def test_analyze_a_handle_and_list_the_run(store):
    v = workbench.train(SPEC, epochs=4, schedule="0:4:2", eval_every=2, store=store, quiet=True)
    result = workbench.analyze(v, analyzers="embedding_fourier", quiet=True)
    assert result.computed == 3 and result.skipped == 0
    assert workbench.analyze(SPEC, analyzers="embedding_fourier", store=store, quiet=True).skipped == 3
    assert v.at(2).arrays("embedding_fourier")["freq_norms"].shape == (8,)
    (run,) = workbench.list_runs(store)
    assert run.spec == v.spec and run.epochs == run.target_epochs == 4 and run.checkpoints == 3
    assert run.analyzers == ("embedding_fourier",)
    assert run.test_acc == pytest.approx(float(v.metrics["test_acc"][-1]))
    assert run.open(store).spec == v.spec
    with pytest.raises(UserError, match="no trained run"):
        workbench.analyze("modular_addition:p=19", store=store, quiet=True)


def test_list_runs_of_an_empty_or_missing_store(tmp_path):
    assert workbench.list_runs(tmp_path / "absent") == []
    assert workbench.list_runs(Store(tmp_path)) == []


def test_demo_spec_is_what_the_cli_trains_by_default():
    from workbench.cli._args import spec_or_demo
    from workbench.core.variant import parse_variant

    spec = workbench.demo_spec()
    assert parse_variant(spec).spec == spec == spec_or_demo(argparse.Namespace(variant=None))
