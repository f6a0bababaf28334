"""The checks every family passes (workbench.testing.check_family): from its declared `tiny` variant,
deterministic init, the training module's contract (workbench.core.train_module), training module =
analysis model, a stack's member = its solo run, fresh batches drawn as the contract says, `kill -9`
resume bit-identical, bad params exit 2 writing nothing, and the budget and checkpoint schedule
meaning what they say.

A family need not be registered: a Family class or instance is registered for the duration of
each check (`workbench.core.family.registered`), and the `kill -9` check's subprocess imports
the module that defines it."""

from __future__ import annotations

import contextlib
import functools
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
from workbench.core.family import Family, get_family, list_families, registered
from workbench.core.train_module import DATA_STREAM, TrainModule, step_generator
from workbench.core.variant import Variant, parse_variant
from workbench.store import RunKey, Store
from workbench.training.trainer import epoch_steps, run_epochs, setup

__all__ = ["family_checks", "check_family", "as_family", "tiny_variant"]

Check = Callable[[Any], None]


def as_family(plugin: Family | type[Family] | str) -> Family:
    """The Family for a registered name, a Family class (the registered instance, else a new one) or an instance."""
    if isinstance(plugin, Family):
        return plugin
    if isinstance(plugin, str):
        return get_family(plugin)
    if plugin.name in list_families() and isinstance(get_family(plugin.name), plugin):
        return get_family(plugin.name)
    return plugin()


def _in_registry(check: Check) -> Check:
    """The check with its family registered while it runs (a no-op for a registered family)."""
    @functools.wraps(check)
    def run(family: Family) -> None:
        with registered(family):
            check(family)
    return run


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


def check_module_contract(family: Family) -> None:
    """`train_module` builds a TrainModule (workbench.core.train_module): a member axis exactly when
    stackable, `hooked_state` holding the init state, parameter groups naming real parameters, and
    evaluation forwards that draw nothing (also after a training step's before/after hooks)."""
    params = tiny_variant(family).params
    state = family.init_state(params)
    module = family.train_module(params, [state] if family.stackable else state)
    assert isinstance(module, TrainModule), f"{family.name}: train_module returned {type(module).__name__}, not a TrainModule"
    assert module.n_members == (1 if family.stackable else None), f"{family.name}: n_members is {module.n_members}"
    held = module.hooked_state(0 if family.stackable else None)
    assert set(held) == set(state) and all(torch.equal(held[k], state[k]) for k in state), \
        f"{family.name}: hooked_state does not hold the state train_module was given"
    groups = module.param_groups()
    assert groups is None or set(groups) <= {n for n, _ in module.named_parameters()}, f"{family.name}: param_groups"
    inputs = family.data(params).inputs[:16]
    inputs = inputs[None] if family.stackable else inputs
    with torch.no_grad():
        torch.testing.assert_close(module(inputs), module(inputs), rtol=0, atol=0, msg=f"{family.name}: evaluation draws")
        module.before_step(0, torch.Generator().manual_seed(0))
        module(inputs)
        module.after_step()  # may move weights (frozen slices written back), so compare after it
        torch.testing.assert_close(module(inputs), module(inputs), rtol=0, atol=0,
                                   msg=f"{family.name}: evaluation draws after a training step")


def check_stacked_member_equals_solo(family: Family) -> None:
    """A stackable family's member k of a stack computes what its solo run computes: the same
    forward, and the same weights (within float error) after a few epochs of the trainer's loop."""
    if not family.stackable:
        return
    variant = tiny_variant(family)
    seeds = [variant.params.seed + k for k in range(3)] if "seed" in type(variant.params).model_fields else [None] * 3
    variants = [variant if s is None else parse_variant(variant.spec, overrides={"seed": s}) for s in seeds]
    states = [family.init_state(v.params) for v in variants]
    inputs = family.data(variant.params).inputs[:32]
    with torch.no_grad():
        stacked = family.train_module(variant.params, states)(inputs.expand(3, *inputs.shape))
        for k, (v, state) in enumerate(zip(variants, states)):
            solo = family.train_module(v.params, [state])(inputs[None])[0]
            torch.testing.assert_close(stacked[k], solo, rtol=1e-5, atol=1e-6, msg=f"{family.name}: member {k} forward")
    epochs = min(3, family.tiny["epochs"])
    stack, opt, _ = setup(variants, variant.recipe, "cpu")
    run_epochs(stack, opt, variant.recipe, 0, epochs, lambda epoch: None)
    for k, v in enumerate(variants):
        solo, opt, _ = setup([v], variant.recipe, "cpu")
        run_epochs(solo, opt, variant.recipe, 0, epochs, lambda epoch: None)
        a, b = stack.hooked_state(k), solo.hooked_state(0)
        for name in b:
            gap = float((a[name].double() - b[name].double()).norm() / b[name].double().norm().clamp(min=1e-12))
            assert gap < 1e-5, f"{family.name}: member {k}'s {name} is {gap:.2g} (relative) from its solo run's"


def check_fresh_batches(family: Family) -> None:
    """`fresh_batches` (if the tiny variant draws): one step per epoch, and each step's draw a pure
    function of (step, generator seed), shaped as `data`'s rows, whatever was drawn before."""
    variant = tiny_variant(family)
    draw = family.fresh_batches(variant.params)
    if draw is None:
        return
    assert epoch_steps(variant) == 1, f"{family.name}: fresh batches must make one step an epoch"
    gen = lambda step: step_generator(variant.recipe.batch_seed, step, DATA_STREAM)  # noqa: E731
    alone = draw(3, gen(3))
    in_turn = [draw(step, gen(step)) for step in range(4)]
    assert all(torch.equal(a, b) for a, b in zip(alone, in_turn[3])), f"{family.name}: a draw depends on earlier draws"
    assert not all(torch.equal(a, b) for a, b in zip(in_turn[0], in_turn[1])), f"{family.name}: steps draw the same rows"
    data, (x, y) = family.data(variant.params), alone
    assert x.shape[1:] == data.inputs.shape[1:] and y.shape[1:] == data.labels.shape[1:] and len(x) == len(y) > 0, \
        f"{family.name}: a draw is {tuple(x.shape)}, {tuple(y.shape)}; data's rows are {tuple(data.inputs.shape)}"
    assert x.dtype == data.inputs.dtype and y.dtype == data.labels.dtype, f"{family.name}: a draw's dtypes"


def check_new_run_accepts_the_tiny_variant(family: Family) -> None:
    """`check_new_run` lets the tiny variant start (the conformance checks train it)."""
    family.check_new_run(tiny_variant(family).params)


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
        proc = subprocess.Popen(_cli_in_subprocess(family, _train_args(variant, tiny, killed)),
                                env=dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=os.pathsep.join(sys.path)),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
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


_LAUNCH = """import importlib, sys
from workbench.core.family import list_families, register_family
cls = getattr(importlib.import_module(sys.argv[1]), sys.argv[2])
if cls.name not in list_families():
    register_family(cls)
from workbench.cli import main
sys.exit(main(sys.argv[3:]))
"""


def _cli_in_subprocess(family: Family, argv: list[str]) -> list[str]:
    """`workbench ARGV` in a new Python that first imports (and if need be registers) the family's class."""
    cls = type(family)
    return [sys.executable, "-c", _LAUNCH, cls.__module__, cls.__qualname__, *argv]


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
        stepped = parse_variant(variant.spec, recipe={"steps": 5, "epochs": None})
        store = Store(Path(tmp, "steps"))
        assert main(["train", stepped.spec, "--schedule", "0:1:1", "--store", str(store.root), "--quiet"]) == 0
        record = store.read_record(RunKey(*stepped.key))
        assert record.epochs == math.ceil(5 / epoch_steps(stepped))
        assert record.recipe["steps"] == 5 and record.recipe_overrides["steps"] == 5


def family_checks(plugin: Family | type[Family] | str) -> Iterator[Check]:
    """The checks every family passes (each takes the Family)."""
    checks = (check_declarations, check_init_is_deterministic, check_module_contract,
              check_training_module_is_the_analysis_model, check_stacked_member_equals_solo, check_fresh_batches,
              check_new_run_accepts_the_tiny_variant, check_resume_after_kill_is_bit_identical,
              check_bad_params_exit_2_and_write_nothing, check_budget_and_schedule)
    yield from map(_in_registry, checks)


def check_family(plugin: Family | type[Family] | str) -> None:
    """Run every family check on `plugin` (a family's registered name, its class or an instance)."""
    family = as_family(plugin)
    for check in family_checks(family):
        check(family)
