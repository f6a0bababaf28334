"""Batched seed sweeps write exactly what solo runs write, within float tolerance."""

import numpy as np
import pytest
import torch

from workbench.cli import main
from workbench.core.errors import UserError
from workbench.core.variant import parse_variant
from workbench.store import RunKey, Store
from workbench.sweep.stacked import parse_seeds
from workbench.training import resume as _resume

BASE = "modular_addition:p=17,frac_train=0.5"
ARGS = ["--epochs", "300", "--schedule", "0:300:100", "--eval-every", "50", "--quiet"]


def test_parse_seeds():
    assert parse_seeds("0-3") == [0, 1, 2, 3]
    assert parse_seeds("5,1,1,2-3") == [1, 2, 3, 5]
    for bad in ["", "a", "3-1", "-2", "1-x"]:
        try:
            parse_seeds(bad)
        except UserError:
            continue
        raise AssertionError(f"{bad!r} accepted")


def test_ensemble_members_match_solo_runs(tmp_path):
    sweep, solo = tmp_path / "sweep", tmp_path / "solo"
    args = [*ARGS[:2], "--schedule", "0,1,10,100,300", *ARGS[4:]]  # early checkpoints: before chaos sets in
    assert main(["train", BASE, "--seeds", "0-1", "--data-seeds", "5,6", "--store", str(sweep), *args]) == 0
    swept = Store(sweep).runs()
    assert len(swept) == 4
    for seed, data_seed in [(1, 6)]:
        spec = f"{BASE},seed={seed},data_seed={data_seed}"
        assert main(["train", spec, "--store", str(solo), *args]) == 0
        key = RunKey(*parse_variant(spec).key)
        assert Store(sweep).checkpoint_epochs(key) == Store(solo).checkpoint_epochs(key) == [0, 1, 10, 100, 300]
        # The forward is bit-identical (test_transformer.py); the backward accumulates the
        # stacked OV table in a different order (~1e-9), which Adam amplifies on near-zero
        # gradients during memorization. The worst matrix's relative-norm gap is 5e-7 at
        # epochs 1 and 10, then grows chaotically, and by how much depends on the CPU: 2e-3
        # at 100 and 2e-2 at 300 on one Xeon, 3e-2 and 0.2 on another (AVX-512, 2026-12-04,
        # 1 or 2 threads alike). So the weights are compared where float error is all there
        # is, and the run as a whole by its metrics, which agree within a percent on both.
        for epoch in (1, 10):
            a = Store(sweep).load_checkpoint(key, epoch)
            b = Store(solo).load_checkpoint(key, epoch)
            assert set(a) == set(b)
            for name in a:
                if name.rsplit(".", 1)[1].startswith("W_"):
                    assert (a[name] - b[name]).norm() / b[name].norm() < 1e-5, (epoch, name)
        ma, mb = Store(sweep).read_metrics(key), Store(solo).read_metrics(key)
        assert (ma["epoch"] == mb["epoch"]).all()
        torch.testing.assert_close(torch.tensor(ma["train_acc"]), torch.tensor(mb["train_acc"]), atol=0.01, rtol=0)
        torch.testing.assert_close(torch.tensor(ma["test_loss"]), torch.tensor(mb["test_loss"]), rtol=0.03, atol=0.01)
        torch.testing.assert_close(torch.tensor(ma["test_acc"]), torch.tensor(mb["test_acc"]), atol=0.03, rtol=0)
    # members are really different models
    k0, k1 = (RunKey(*parse_variant(f"{BASE},seed={s},data_seed=5").key) for s in (0, 1))
    w0 = Store(sweep).load_checkpoint(k0, 0)["embed.W_E"]
    w1 = Store(sweep).load_checkpoint(k1, 0)["embed.W_E"]
    assert not torch.equal(w0, w1)


def test_sweep_resumes_and_extends_members(tmp_path):
    store = ["--store", str(tmp_path)]
    assert main(["train", BASE, "--seeds", "0-1", *store, *ARGS]) == 0
    assert main(["train", BASE, "--seeds", "0-1", *store, "--quiet"]) == 0  # all finished: nothing to do
    for s in (0, 1):
        key = RunKey(*parse_variant(f"{BASE},seed={s}").key)
        assert Store(tmp_path).checkpoint_epochs(key)[-1] == 300


class _Killed(BaseException):
    """Stands in for SIGKILL: nothing after it runs (no `except Exception` catches it)."""


@pytest.mark.parametrize("command, epoch", [("train", 0), ("sweep", 200), ("train", 300)])  # first, middle, last
def test_a_kill_between_two_members_checkpoints_resumes_them_stacked_and_exact(tmp_path, monkeypatch, command, epoch):
    """Stacked members write their checkpoints in turn; a kill between two leaves them one
    checkpoint apart. The rerun puts the one ahead back (`trainer.rejoin`) and the stack ends
    with the files of an uninterrupted run, bit for bit (a member resumed alone would not)."""
    argv = (["train", BASE, "--seeds", "0-1", *ARGS] if command == "train"
            else ["sweep", f"{BASE},seed=0-1", "--no-analyze", *ARGS])
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    assert main([*argv, "--store", str(straight)]) == 0

    real, calls = _resume.save_checkpoint, []

    def save_then_die(store, key, spec, family, params, e, *args, **kwargs):
        if e == epoch and len(calls) == 1:
            raise _Killed  # the first member has checkpoint `epoch`, the second does not
        calls.extend([key] if e == epoch else [])
        return real(store, key, spec, family, params, e, *args, **kwargs)

    monkeypatch.setattr(_resume, "save_checkpoint", save_then_die)
    with pytest.raises(_Killed):
        main([*argv, "--store", str(killed)])
    monkeypatch.setattr(_resume, "save_checkpoint", real)
    ahead, = calls
    assert Store(killed).resume_epoch(ahead) == epoch
    assert main([*argv, "--store", str(killed)]) == 0
    for key in Store(straight).runs():
        assert Store(killed).checkpoint_epochs(key) == Store(straight).checkpoint_epochs(key)
        for e in Store(straight).checkpoint_epochs(key):
            a = Store(straight).load_checkpoint(key, e)
            b = Store(killed).load_checkpoint(key, e)
            assert all(torch.equal(a[name], b[name]) for name in a), (key, e)
        ma, mb = Store(straight).read_metrics(key), Store(killed).read_metrics(key)
        assert all(np.array_equal(ma[name], mb[name]) for name in ma), key
