"""universal_modular's REINFORCE baseline_mode (issue 28): the default (bias-corrected EMA) keeps
old runs' names, and each mode subtracts the baseline written out by hand from its definition
(the study's: train_rl.py's `running_reward if epoch > 0 else 0.5`, raw EMA from 0)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from families.universal_modular import reinforce_loss
from workbench.cli import main
from workbench.core.errors import UserError
from workbench.core.family import get_family
from workbench.core.variant import parse_variant
from workbench.store import RunKey, Store
from workbench.store._io import load_npz
from workbench.training.config import load_config

FAMILY = get_family("universal_modular")
TINY = "universal_modular:max_p=13,train_min=2,train_max=11,n_unseen=1,d_model=16,n_heads=2,d_mlp=32,d_sin=8"
MOMENTUM = 0.9


def _hand_baselines(rewards: list[float], mode: str, momentum: float = MOMENTUM) -> list[float]:
    """The baseline of each REINFORCE step t from the batch mean rewards of steps < t."""
    out, ema = [], 0.0
    for t, r in enumerate(rewards):
        if mode == "study":
            out.append(0.5 if t == 0 else ema)
        else:
            out.append(ema / (1 - momentum ** t) if t > 0 else 0.0)
        ema = momentum * ema + (1 - momentum) * r
    return out


@pytest.mark.parametrize("mode", ["corrected", "study"])
def test_each_step_subtracts_the_hand_computed_baseline(mode):
    ce_steps = 2
    suffix = f",objective=reinforce,ce_steps={ce_steps}" + (",baseline_mode=study" if mode == "study" else "")
    params = parse_variant(TINY + suffix).params
    module = FAMILY.train_module(params, FAMILY.init_state(params))
    rows = 64
    labels = torch.arange(rows) % 5
    logits = torch.randn(rows, 13, generator=torch.Generator().manual_seed(3))
    for _ in range(ce_steps):  # cross-entropy steps leave the EMA alone
        torch.testing.assert_close(FAMILY.objective(logits, labels, torch.Generator().manual_seed(0)),
                                   FAMILY.loss(logits, labels))
        module.after_step()
    rewards, losses = [], []
    for t in range(6):
        losses.append(FAMILY.objective(logits, labels, torch.Generator().manual_seed(t)))
        _, reward = reinforce_loss(logits, labels, torch.Generator().manual_seed(t), torch.tensor(0.0), 0.01)
        rewards.append(float(reward))
        module.after_step()
    assert len(set(rewards)) > 1  # the rewards vary, so the EMA's path is tested, not a constant
    for t, b in enumerate(_hand_baselines(rewards, mode)):
        want, _ = reinforce_loss(logits, labels, torch.Generator().manual_seed(t), torch.tensor(b, dtype=torch.float64),
                                 0.01)
        torch.testing.assert_close(losses[t], want, atol=1e-6, rtol=0)  # the EMA buffer is float32


def test_default_mode_keeps_old_run_names_and_study_mode_is_named():
    old = parse_variant(load_config("uma_demo_reinforce").variant)
    assert old.dir_name == ("max_p=47,train_min=3,train_max=31,n_unseen=2,prime_seed=0,data_seed=0,frac_train=0.7,"
                            "seed=0,objective=reinforce,d_model=64,d_mlp=256,d_sin=16,ce_steps=1000")
    assert parse_variant(old.spec + ",baseline_mode=corrected").dir_name == old.dir_name
    study = parse_variant(TINY + ",objective=reinforce,baseline_mode=study")
    assert study.dir_name.endswith(",baseline_mode=study") and parse_variant(study.spec).dir_name == study.dir_name
    assert parse_variant(load_config("uma_miras_study_reinforce").variant).params.baseline_mode == "study"


def test_baseline_mode_needs_reinforce():
    with pytest.raises(UserError, match="baseline_mode apply to objective=reinforce"):
        parse_variant(TINY + ",baseline_mode=study")


def test_study_mode_metrics_start_at_half_and_resume_is_bit_identical(tmp_path):
    spec = TINY + ",objective=reinforce,baseline_mode=study"
    key = RunKey(*parse_variant(spec).key)
    assert main(["train", spec, "--store", str(tmp_path / "a"), "--quiet", "--epochs", "20", "--schedule", "0:21:10"]) == 0
    for extra in (["--epochs", "10", "--schedule", "0:11:10"], ["--extra-epochs", "10"]):
        assert main(["train", spec, "--store", str(tmp_path / "b"), "--quiet", *extra]) == 0
    a, b = (Store(tmp_path / s).load_checkpoint(key, 20) for s in "ab")
    assert all(torch.equal(a[k], b[k]) for k in a)
    m = load_npz(Store(tmp_path / "a").metrics_path(key))
    assert m["baseline"][0] == 0.5 and 0 < m["baseline"][-1] < 0.5  # then the raw EMA, still climbing from 0
    np.testing.assert_array_equal(m["baseline"], load_npz(Store(tmp_path / "b").metrics_path(key))["baseline"])
