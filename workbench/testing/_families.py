"""The checks every family passes (workbench.testing.check_family): from its declared `tiny` variant,
deterministic init, training module = analysis model, `kill -9` resume bit-identical, bad params
exit 2 writing nothing, and the budget and checkpoint schedule meaning what they say."""

from __future__ import annotations

import contextlib
import io
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import torch

from workbench.cli import main
from workbench.core.capabilities import Capabilities
from workbench.core.family import Family, get_family
from workbench.core.recipe import steps_per_epoch
from workbench.core.variant import Variant, parse_variant
from workbench.store import RunKey, Store

__all__ = ["family_checks", "check_family", "as_family", "tiny_variant"]

Check = Callable[[Any], None]


def as_family(plugin: Family | type[Family] | str) -> Family:
    """The registered Family for a name, a Family class or an instance."""
    if isinstance(plugin, Family):
        return plugin
    return get_family(plugin if isinstance(plugin, str) else plugin.name)


def tiny_variant(plugin: Family | type[Family] | str) -> Variant:
    """The family's declared `tiny` variant (AssertionError if it declares none)."""
    family = as_family(plugin)
    assert family.tiny, f"family {family.name!r} declares no `tiny` variant ({{'params', 'epochs', 'schedule'}})"
    return parse_variant(family.name, family.tiny["params"], recipe=family.tiny.get("recipe"))


def _train_args(variant: Variant, tiny: dict, store: Path) -> list[str]:
    return ["train", variant.spec, "--epochs", str(tiny["epochs"]), "--schedule", tiny["schedule"],
            "--store", str(store), "--quiet"]


def check_declarations(family: Family) -> None:
    """A tiny variant, a description, and typed capabilities."""
    variant = tiny_variant(family)
    assert {"params", "epochs", "schedule"} <= set(family.tiny), f"{family.name}: tiny lacks epochs or schedule"
    assert family.description, f"{family.name}: no description"
    caps = family.capabilities(variant.params)
    assert isinstance(caps, Capabilities), f"{family.name}: capabilities() returned {type(caps).__name__}"


def check_init_is_deterministic(family: Family) -> None:
    variant = tiny_variant(family)
    a, b = (family.init_state(variant.params) for _ in range(2))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), f"{family.name}: init is not deterministic"


def check_training_module_is_the_analysis_model(family: Family) -> None:
    """The training module computes what the TransformerLens-hooked analysis model computes."""
    params = tiny_variant(family).params
    gen = torch.Generator().manual_seed(0)
    state = {k: v + 0.05 * torch.randn(v.shape, generator=gen) for k, v in family.init_state(params).items()}
    inputs = family.data(params).inputs[:64]
    module = family.train_module(params, [state] if family.stackable else state)
    with torch.no_grad():
        ours = module(inputs[None] if family.stackable else inputs)
        ours = ours[0] if family.stackable else ours
        theirs = family.tl_model(params, state)(inputs)
    if theirs.ndim == ours.ndim + 1:  # the analysis model scores every position; training, the answer's
        theirs = theirs[:, -1]
    torch.testing.assert_close(ours.float(), theirs.float(), rtol=1e-4, atol=1e-4)


def check_resume_after_kill_is_bit_identical(family: Family) -> None:
    """`kill -9` mid-run, then the same command again, ends bit-identical to an uninterrupted run."""
    variant, tiny = tiny_variant(family), family.tiny
    key = RunKey(*variant.key)
    with tempfile.TemporaryDirectory() as tmp:
        straight, killed = Path(tmp, "straight"), Path(tmp, "killed")
        assert main(_train_args(variant, tiny, straight)) == 0
        ckpts = Store(straight).checkpoint_epochs(key)
        proc = subprocess.Popen([sys.executable, "-m", "workbench", *_train_args(variant, tiny, killed)],
                                env=dict(os.environ, OMP_NUM_THREADS="1"), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        watched, deadline = Store(killed), time.time() + 300
        while proc.poll() is None and time.time() < deadline:  # kill once the middle checkpoint is promised
            if watched.has_resume(key) and watched.checkpoint_epochs(key)[-1:] >= [ckpts[len(ckpts) // 2]]:
                break
            time.sleep(0.005)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert main(_train_args(variant, tiny, killed)) == 0
        a, b = (Store(s).load_checkpoint(key, ckpts[-1]) for s in (straight, killed))
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), f"{family.name}: resumed weights differ"
        ma, mb = (Store(s).read_metrics(key) for s in (straight, killed))
        for column in ma:
            np.testing.assert_array_equal(ma[column], mb[column], err_msg=column)


def check_bad_params_exit_2_and_write_nothing(family: Family) -> None:
    """An unknown or out-of-range param or recipe field is one line on stderr, exit 2, no store."""
    variant = tiny_variant(family)
    for bad in ("nope=1", "r.lr=-1", "r.nope=1", "seed=-1"):
        with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stderr(io.StringIO()) as err:
            store = Path(tmp, "store")
            code = main(["train", f"{variant.spec},{bad}", "--epochs", "2", "--store", str(store)])
        assert code == 2, f"{family.name}: {bad!r} exited {code}"
        assert len(err.getvalue().strip().splitlines()) == 1 and not store.exists(), (bad, err.getvalue())


def check_budget_and_schedule(family: Family) -> None:
    """--epochs/--schedule/--eval-every mean what they say; a budget in steps rounds up to whole epochs."""
    variant = tiny_variant(family)
    key = RunKey(*variant.key)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp, "epochs"))
        assert main(["train", variant.spec, "--epochs", "7", "--schedule", "0:7:3", "--eval-every", "2",
                     "--store", str(store.root), "--quiet"]) == 0
        assert store.checkpoint_epochs(key) == [0, 3, 6, 7]
        assert list(store.read_metrics(key)["epoch"]) == [0, 2, 3, 4, 6, 7]
        n_train = int(family.data(variant.params).train_mask.sum())
        stepped = parse_variant(variant.spec, recipe={"steps": 5, "epochs": None})
        store = Store(Path(tmp, "steps"))
        assert main(["train", stepped.spec, "--schedule", "0:1:1", "--store", str(store.root), "--quiet"]) == 0
        record = store.read_record(RunKey(*stepped.key))
        assert record.epochs == math.ceil(5 / steps_per_epoch(stepped.recipe, n_train))
        assert record.recipe["steps"] == 5 and record.recipe_overrides["steps"] == 5


def family_checks(plugin: Family | type[Family] | str) -> Iterator[Check]:
    """The checks every family passes (each takes the Family)."""
    yield from (check_declarations, check_init_is_deterministic, check_training_module_is_the_analysis_model,
                check_resume_after_kill_is_bit_identical, check_bad_params_exit_2_and_write_nothing,
                check_budget_and_schedule)


def check_family(plugin: Family | type[Family] | str) -> None:
    """Run every family check on `plugin` (a registered family's name, class or instance)."""
    family = as_family(plugin)
    for check in family_checks(family):
        check(family)
