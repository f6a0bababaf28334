"""Every registered family's contract, from its declared `tiny` variant (issue 11): a new
family gets these tests without anyone writing them.

- init is deterministic from the params;
- the training module computes what the analysis (TransformerLens-hooked) model computes;
- `kill -9` mid-run, then re-running, ends bit-identical to an uninterrupted run;
- bad params or recipe fields exit 2 with one line and write nothing;
- the budget and checkpoint schedule mean what they say (epochs, or steps rounded up).
"""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from workbench.cli import main
from workbench.core.family import get_family, list_families
from workbench.core.recipe import steps_per_epoch
from workbench.core.variant import parse_variant
from workbench.store import RunKey, Store
from workbench.store._io import load_json, load_npz, load_safetensors

FAMILIES = list_families()


def _tiny(name: str):
    family = get_family(name)
    assert family.tiny, f"family {name!r} declares no `tiny` variant for the conformance suite"
    tiny = family.tiny
    variant = parse_variant(name, tiny["params"], recipe=tiny.get("recipe"))
    return variant, tiny


def _train_args(variant, tiny, store) -> list[str]:
    return ["train", variant.spec, "--epochs", str(tiny["epochs"]), "--schedule", tiny["schedule"],
            "--store", str(store), "--quiet"]


@pytest.mark.parametrize("name", FAMILIES)
def test_init_is_deterministic(name):
    variant, _ = _tiny(name)
    a, b = (variant.family.init_state(variant.params) for _ in range(2))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("name", FAMILIES)
def test_training_module_computes_what_the_analysis_model_computes(name):
    variant, _ = _tiny(name)
    family, params = variant.family, variant.params
    state = family.init_state(params)
    gen = torch.Generator().manual_seed(0)
    state = {k: v + 0.05 * torch.randn(v.shape, generator=gen) for k, v in state.items()}  # not just init
    inputs = family.data(params).inputs[:64]
    module = family.train_module(params, [state] if family.stackable else state)
    with torch.no_grad():
        ours = module(inputs[None] if family.stackable else inputs)
        ours = ours[0] if family.stackable else ours
        theirs = family.tl_model(params, state)(inputs)
    if theirs.ndim == ours.ndim + 1:  # the analysis model scores every position; training, the answer's
        theirs = theirs[:, -1]
    torch.testing.assert_close(ours.float(), theirs.float(), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("name", FAMILIES)
def test_resume_after_kill_is_bit_identical(name, tmp_path):
    variant, tiny = _tiny(name)
    key = RunKey(*variant.key)
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    assert main(_train_args(variant, tiny, straight)) == 0
    ckpts = Store(straight).checkpoint_epochs(key)
    middle = ckpts[len(ckpts) // 2]
    proc = subprocess.Popen([sys.executable, "-m", "workbench", *_train_args(variant, tiny, killed)],
                            env=dict(os.environ, OMP_NUM_THREADS="1"), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    resume = Store(killed).resume_path(key)
    deadline = time.time() + 300
    while proc.poll() is None and time.time() < deadline:  # kill once the middle checkpoint is promised
        if resume.exists() and Store(killed).checkpoint_epochs(key)[-1:] >= [middle]:
            break
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert main(_train_args(variant, tiny, killed)) == 0
    last = ckpts[-1]
    a = load_safetensors(Store(straight).checkpoint_path(key, last))
    b = load_safetensors(Store(killed).checkpoint_path(key, last))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    ma, mb = (load_npz(Store(s).metrics_path(key)) for s in (straight, killed))
    for column in ma:
        np.testing.assert_array_equal(ma[column], mb[column], err_msg=column)


@pytest.mark.parametrize("name", FAMILIES)
@pytest.mark.parametrize("bad", ["nope=1", "r.lr=-1", "r.nope=1", "seed=-1"])
def test_bad_params_exit_2_and_write_nothing(name, bad, tmp_path, capsys):
    variant, tiny = _tiny(name)
    store = tmp_path / "store"
    assert main(["train", f"{variant.spec},{bad}", "--epochs", "2", "--store", str(store)]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1 and not store.exists()


@pytest.mark.parametrize("name", FAMILIES)
def test_budget_and_schedule_semantics(name, tmp_path):
    variant, tiny = _tiny(name)
    key = RunKey(*variant.key)
    store = Store(tmp_path / "epochs")
    assert main(["train", variant.spec, "--epochs", "7", "--schedule", "0:7:3", "--eval-every", "2",
                 "--store", str(store.root), "--quiet"]) == 0
    assert store.checkpoint_epochs(key) == [0, 3, 6, 7]
    assert list(load_npz(store.metrics_path(key))["epoch"]) == [0, 2, 3, 4, 6, 7]
    # a budget in steps rounds up to whole epochs
    n_train = int(variant.family.data(variant.params).train_mask.sum())
    stepped = parse_variant(variant.spec, recipe={"steps": 5, "epochs": None})
    expected = math.ceil(5 / steps_per_epoch(stepped.recipe, n_train))
    store = Store(tmp_path / "steps")
    assert main(["train", stepped.spec, "--schedule", "0:1:1", "--store", str(store.root), "--quiet"]) == 0
    record = load_json(store.variant_path(RunKey(*stepped.key)))
    assert record["epochs"] == expected and record["recipe"]["steps"] == 5
    assert record["recipe_overrides"]["steps"] == 5
