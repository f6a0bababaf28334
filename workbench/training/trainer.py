"""Training on a checkpoint schedule, with exact resume, for any family and recipe.

Reads top to bottom: plan (validate everything, write nothing) -> set up (fresh or
resumed, under the run's lock) -> loop. Each epoch is one pass over the training rows,
in full batch or in minibatches (`epoch_batches`), or, for a family that draws fresh rows
(`Family.fresh_batches`), one step on that step's draw; each step sets the learning rate
`lr_at(step)`, takes the family's `objective`, clips and steps (workbench.training.step: eagerly, through
`torch.compile`, or replayed from one captured CUDA graph). Metrics are evaluated at
the eval cadence and checkpoints written on the schedule; at checkpoints that are
multiples of `state_every` (and at epoch 0) the full training state is kept too. Everything
random in the loop is a pure function of (batch_seed, epoch or step), so a run killed at
any point resumes from its last checkpoint and ends bit-identical to an uninterrupted run
on the same CPU, and `workbench densify` (workbench.training.densify) replays any stretch of it
from a kept state with the same `setup` and `run_epochs`. Each evaluation also notes the seconds
of training so far (workbench.training.clock, the run's wall time), in a file of its own that
no exactness check compares.
"""

from __future__ import annotations

import time
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Callable

import torch

from workbench.core.compute import Threads, check_device, set_threads
from workbench.core.errors import UserError
from workbench.core.family import METRIC_NAMES, plain_log_line
from workbench.core.naming import hooked_name
from workbench.core.recipe import Recipe, build_optimizer, steps_per_epoch, total_epochs
from workbench.core.schedule import checkpoint_epochs
from workbench.core.stop import check as check_stop
from workbench.core.variant import Variant, short_label
from workbench.store import RunKey, RunRecord, Store
from workbench.store.index import refresh
from workbench.store.lock import run_lock
from workbench.training import resume as _resume
from workbench.training.clock import TrainingClock
from workbench.training.members import Members, chunk_sizes, member_bytes, shared_draw
from workbench.training.progress import FEW_EPOCHS, Ticker, postfix, progress_bar
from workbench.training.step import EagerStep, make_stepper, resolve_step_mode
from workbench.training.threads import run_threads, threads_fields

__all__ = ["TrainPlan", "plan_training", "rejoin", "train", "train_members", "setup", "run_epochs", "METRIC_NAMES",
           "STATE_EVERY", "plain_log_line", "epoch_steps"]

STATE_EVERY = 1000  # default: keep the full training state at checkpoints that are multiples of this


# ----------------------------------------------------------------------------- plan
@dataclass(frozen=True)
class TrainPlan:
    """Everything a run needs, validated before anything is written."""

    variant: Variant
    key: RunKey
    epochs: int  # target epoch count
    schedule: str
    checkpoints: tuple[int, ...]
    eval_every: int
    start_epoch: int  # last checkpoint already on disk (0 for a fresh run)
    fresh: bool
    recipe: Recipe
    config: str | None = None  # the named config or file the run came from, if any
    state_every: int = STATE_EVERY  # keep the training state at checkpoints that are multiples of this


def plan_training(variant: Variant, store: Store, *, epochs: int | None = None, extra_epochs: int | None = None,
                  schedule: str | None = None, eval_every: int | None = None, config: str | None = None,
                  state_every: int | None = None, default_schedule: str | None = None) -> TrainPlan:
    """Resolve epochs, schedule and resume point; raise UserError on any bad input.

    `schedule` is the user's (an epoch past the end is refused); `default_schedule` one
    they did not pass (a config's or the demo's), cut at the end like the family's own.
    A run not yet in the store must pass its family's `check_new_run`; one that exists is
    planned whatever that says (it may predate the rule).
    """
    key = RunKey(*variant.key)
    recipe = variant.recipe
    prior = store.read_record(key) if store.exists(key) else None
    if prior is None:
        _check_new_run(variant)
    done = store.resume_epoch(key) if prior else None
    for name, value in (("epochs", epochs), ("extra-epochs", extra_epochs), ("eval-every", eval_every),
                        ("state-every", state_every)):
        if value is not None and value <= 0:
            raise UserError(f"--{name} must be positive, got {value}")
    if epochs is not None and extra_epochs is not None:
        raise UserError("give --epochs or --extra-epochs, not both")
    if extra_epochs is not None:
        if prior is None:
            raise UserError(f"--extra-epochs extends a trained run, but {variant.spec} has none in {store.root}")
        total = prior.epochs + extra_epochs
    else:
        total = epochs or (prior.epochs if prior else _budget_epochs(variant))
    if done is not None and done > total:
        raise UserError(f"{variant.spec} is already trained to epoch {done}; use --extra-epochs to go further")
    spec = schedule or default_schedule or (prior.schedule if prior else variant.family.schedule(variant.params))
    ckpts = checkpoint_epochs(spec, total, clip=schedule is None)
    every = eval_every or (prior.eval_every if prior else recipe.eval_every)
    config = config or (prior.config if prior else None)
    keep = state_every or (prior.state_every if prior else None) or STATE_EVERY  # runs from before states: the default
    return TrainPlan(variant, key, total, spec, tuple(ckpts), every, done or 0, done is None, recipe, config, keep)


def epoch_steps(variant: Variant) -> int:
    """Optimizer steps per epoch of `variant`'s runs: one under fresh batches, else the recipe's
    minibatches over the training rows (one in full batch)."""
    if variant.family.fresh_batches(variant.params) is not None:
        return 1
    return steps_per_epoch(variant.recipe, int(variant.family.data(variant.params).train_mask.sum()))


def _budget_epochs(variant: Variant) -> int:
    """The recipe's budget in epochs (a budget in steps rounds up to whole epochs)."""
    try:
        return total_epochs(variant.recipe, 0, per_epoch=epoch_steps(variant))
    except ValueError as err:  # no budget: neither epochs nor steps
        raise UserError(f"{variant.spec}: {err}") from None


def _check_new_run(variant: Variant) -> None:
    """The family's `check_new_run`, its refusal as one UserError line naming the variant."""
    try:
        variant.family.check_new_run(variant.params)
    except ValueError as err:  # UserError included
        raise UserError(f"{variant.spec}: {' '.join(str(err).split())}") from None


def _check_compatible(plans: list[TrainPlan]) -> None:
    """Members of one ensemble must share everything but their seeds (fresh batches included), and stack."""
    first = plans[0]
    if len(plans) > 1 and not first.variant.family.stackable:
        raise UserError(f"family {first.variant.family.name!r} cannot stack several models in one run; "
                        "train its variants one at a time")
    shared_draw([plan.variant for plan in plans])
    for plan in plans[1:]:
        same = (plan.variant.family is first.variant.family and plan.epochs == first.epochs
                and plan.checkpoints == first.checkpoints and plan.eval_every == first.eval_every
                and plan.start_epoch == first.start_epoch and plan.fresh == first.fresh
                and plan.recipe == first.recipe and plan.state_every == first.state_every)
        if not same:
            raise UserError(f"{plan.variant.spec} cannot train in one batch with {first.variant.spec}: "
                            "recipe, schedule and progress must match")


def _check_still_planned(store: Store, plan: TrainPlan) -> None:
    """The plan was made before the lock was taken: refuse if the run moved meanwhile."""
    now = store.resume_epoch(plan.key) if store.exists(plan.key) else None
    if (now is None) != plan.fresh or (now is not None and now != plan.start_epoch):
        was = "a fresh run" if plan.fresh else f"epoch {plan.start_epoch}"
        raise UserError(f"{plan.variant.spec} changed while this job started (planned from {was}, the run is now "
                        f"at {'nothing' if now is None else f'epoch {now}'}): another process trained it; rerun")


def rejoin(plans: list[TrainPlan], store: Store) -> bool:
    """Put back the members of a stack that a kill left one checkpoint ahead of the rest.

    Stacked members write their checkpoints one after another, so a kill in between leaves
    some at checkpoint e and the others at the one before (or, at epoch 0, with nothing).
    Resumed apart they would not end bit-identical to the uninterrupted stack; so each
    member ahead whose previous resume state (`resume.prev`) is at the laggards' epoch goes
    back to it, under its train lock. Members trained alone (variant.json `stacked` false),
    or further apart, are left as they are.

    Returns:
        Whether any member went back (plan them again).
    """
    behind = min(-1 if p.fresh else p.start_epoch for p in plans)  # -1: not started
    moved = False
    for plan in plans:
        if plan.fresh or plan.start_epoch == behind or not store.read_record(plan.key).stacked:
            continue
        back = -1 if plan.start_epoch == 0 else store.previous_resume_epoch(plan.key)
        if back != behind:
            continue
        with run_lock(store, plan.key, "train"):
            _check_still_planned(store, plan)
            if back == -1:
                store.drop_resume(plan.key)  # fresh again: the init is a function of the seed
            else:
                store.rewind_resume(plan.key)
        moved = True
    return moved


# ------------------------------------------------------------------------------ train
def train(plan: TrainPlan, store: Store, *, device: str = "cpu", quiet: bool = False,
          log_format: str = "bar", step_mode: str = "auto") -> dict[str, float]:
    """Run `plan`; return its final metrics. Writes checkpoints, metrics and resume state.

    `log_format` "bar" shows a progress bar; "plain" prints one line per evaluation instead
    (`Family.format_log_line`, by default `plain_log_line`)."""
    return train_members([plan], store, device=device, quiet=quiet, log_format=log_format, step_mode=step_mode)[0]


def train_members(plans: list[TrainPlan], store: Store, *, device: str = "cpu", quiet: bool = False,
                  desc: str | None = None, log_format: str = "bar", step_mode: str = "auto") -> list[dict[str, float]]:
    """Train variants that differ only in seeds as one stacked model (one member for a solo run).

    Each member's directory, checkpoints and metrics are what training it alone writes.
    Holds every member's train lock (workbench.store.lock) for the whole run: a second trainer
    of any member is refused with a line naming this process. `step_mode` is how each step runs
    (workbench.training.step: auto, eager, compile or graph). Trains at the torch thread count
    the runs were created with (workbench.training.threads), set once: never changed mid-run.
    """
    _check_compatible(plans)
    check_device(device)
    priors = [None if plan.fresh else store.read_record(plan.key) for plan in plans]
    threads = run_threads(priors, plans[0].variant.spec if len(plans) == 1 else f"{len(plans)} runs")
    step_mode = resolve_step_mode(step_mode, device, plans[0].variant.family, plans[0].recipe)
    store.ensure_writable()
    with ExitStack() as locks:
        for plan in plans:
            locks.enter_context(run_lock(store, plan.key, "train"))
        for plan in plans:
            _check_still_planned(store, plan)
        set_threads(threads)
        chunks = _memory_chunks(plans, device, quiet)
        results: list[dict[str, float]] = []
        for i, chunk in enumerate(chunks):
            label = desc if len(chunks) == 1 else f"{desc or _label(plans[0])} [{i + 1}/{len(chunks)}]"
            results += _train_locked(chunk, store, threads, device=device, quiet=quiet, desc=label,
                                     plain=log_format == "plain", step_mode=step_mode)

        refresh(store, [plan.key for plan in plans])  # the run index (workbench.store.index) sees the new checkpoints
        return results


def _memory_budget(plans: list[TrainPlan], device: str) -> tuple[int, int] | None:
    """(free bytes, bytes per stacked member) on a CUDA device; None where no chunking applies."""
    if len(plans) == 1 or torch.device(device).type != "cuda":
        return None
    per_member = member_bytes(plans[0].variant, plans[0].recipe, device)
    return torch.cuda.mem_get_info(device)[0], per_member


def _memory_chunks(plans: list[TrainPlan], device: str, quiet: bool) -> list[list[TrainPlan]]:
    """The members in chunks that each fit the device's free memory (`_members.chunk_sizes`)."""
    budget = _memory_budget(plans, device)
    if budget is None:
        return [plans]
    sizes = chunk_sizes(len(plans), *budget)
    if len(sizes) > 1 and not quiet:
        print(f"{len(plans)} members in {len(sizes)} chunks of up to {max(sizes)}: {budget[0] / 2**30:.1f} GiB "
              f"free, ~{budget[1] / 2**20:.0f} MiB per member")
    starts = [sum(sizes[:i]) for i in range(len(sizes))]
    return [plans[start:start + size] for start, size in zip(starts, sizes)]


def _train_locked(plans: list[TrainPlan], store: Store, threads: Threads, *, device: str, quiet: bool,
                  desc: str | None, plain: bool = False, step_mode: str = "eager") -> list[dict[str, float]]:
    lead = plans[0]
    family, recipe = lead.variant.family, lead.recipe

    # -------- set up: fresh init or each member's last checkpoint
    for plan in plans:  # litter of writers killed mid-file (live writers' files are left alone)
        store.remove_stale_temp_files(plan.key)
        if not plan.fresh and not quiet:
            print(f"{plan.variant.spec}: resuming from epoch {plan.start_epoch} of {plan.epochs}")
    loaded = None if lead.fresh else [_resume.load_resume(store, p.key, p.start_epoch) for p in plans]
    members, opt, names = setup([p.variant for p in plans], recipe, device, loaded, capturable=step_mode == "graph")
    for plan in plans:
        prior = None if plan.fresh else store.read_record(plan.key)
        record = {**_record(plan, len(plans), prior), **threads_fields(prior, threads, plan.start_epoch)}
        _resume.write_variant_json(store, plan.key, record, prior)
    ckpts = set(lead.checkpoints)

    def checkpoint(epoch: int) -> None:
        for k, plan in enumerate(plans):
            clock.write(store, plan.key)  # before the resume file, which promises what its epoch needs
            optim = _resume.optimizer_tensors(opt, names, k if members.stacked else None) | _resume.rng_tensors(device)
            _resume.save_checkpoint(store, plan.key, plan.variant.spec, family.name, plan.variant.params.model_dump(),
                                    epoch, members.hooked_state(k), optim, members.metrics[k],
                                    keep_state=epoch % plan.state_every == 0)
            store.write_status(plan.key, epoch, plan.epochs, "running" if epoch < plan.epochs else "done")

    last: list[dict[str, float]] = []
    clock = TrainingClock.start(store, [p.key for p in plans], lead.start_epoch, lead.fresh)
    if lead.fresh:
        last = members.record(0)
        checkpoint(0)
        if plain and not quiet:
            _log_plain(plans, 0, last)

    # -------- loop: evaluate on the cadence, checkpoint on the schedule
    bar = progress_bar(lead.epochs, lead.start_epoch, desc or _label(lead), disable=quiet or plain)
    status = _StatusTicker(plans, store, members.steps_per_epoch(recipe), bar)

    def after_epoch(epoch: int) -> None:
        nonlocal last
        bar.update(epoch - bar.n)  # the ticks may have moved it by fractions of this epoch
        if epoch % lead.eval_every == 0 or epoch in ckpts:
            clock.mark(epoch)
            last = members.record(epoch)
            bar.set_postfix_str(postfix(last), refresh=False)
            if plain and not quiet:
                _log_plain(plans, epoch, last)
        if epoch in ckpts:
            checkpoint(epoch)

    t0 = time.perf_counter()
    run_epochs(members, opt, recipe, lead.start_epoch, lead.epochs, after_epoch,
               Ticker(make_stepper(step_mode, members, opt, recipe), status.tick, _TICK_S))
    bar.close()

    if not last:
        last = [{k: float(m[k][-1]) for k in METRIC_NAMES} for m in members.metrics]
    _say_done(plans, last, time.perf_counter() - t0, store)
    return last


_TICK_S = 1.0  # seconds between moves of the bar inside an epoch
_STATUS_S = 5.0  # seconds between status.json writes while an epoch runs


def _label(plan: TrainPlan) -> str:
    """The run's short label: its family and what differs from the family's defaults."""
    return short_label(plan.variant.family.name, plan.variant.dir_name)


class _StatusTicker:
    """Between checkpoints: the bar by fractions of an epoch, and status.json's done/total with a
    time estimate every few seconds (longer for many stacked members: each file is an fsync)."""

    def __init__(self, plans: list[TrainPlan], store: Store, steps_per_epoch: int, bar):
        self.plans, self.store, self.per_epoch, self.bar = plans, store, steps_per_epoch, bar
        self.t0, self.first = time.monotonic(), plans[0].start_epoch
        self.every_s, self.next = _STATUS_S * max(1, len(plans) // 8), self.t0 + _STATUS_S

    def tick(self, steps: int) -> None:
        epoch, now, total = steps / self.per_epoch, time.monotonic(), self.plans[0].epochs
        if not self.bar.disable and epoch > self.bar.n:
            self.bar.update(epoch - self.bar.n)
        if now < self.next:
            return
        self.next = now + self.every_s
        rate = (epoch - self.first) / (now - self.t0)
        done = round(epoch, 1) if total <= FEW_EPOCHS else int(epoch)
        for plan in self.plans:
            self.store.write_status(plan.key, done, plan.epochs, "running", eta_s=(total - epoch) / rate if rate else None)


def _log_plain(plans: list[TrainPlan], epoch: int, rows: list[dict[str, float]]) -> None:
    family = plans[0].variant.family
    for plan, row in zip(plans, rows):
        prefix = f"{plan.variant.spec}: " if len(plans) > 1 else ""
        print(prefix + family.format_log_line(epoch, row), flush=True)


def _say_done(plans: list[TrainPlan], last: list[dict[str, float]], elapsed: float, store: Store) -> None:
    for plan, row in zip(plans, last):
        print(f"{plan.variant.spec}: epoch {plan.epochs} in {elapsed:.1f}s  train loss {row['train_loss']:.3g} "
              f"acc {row['train_acc']:.3f}  test loss {row['test_loss']:.3g} acc {row['test_acc']:.3f}  "
              f"-> {store.run_dir(plan.key)}")


# ------------------------------------------------------------------ the training loop
def setup(variants: list[Variant], recipe: Recipe, device: str, loaded: list[tuple[dict, dict, dict]] | None = None,
          capturable: bool = False) -> tuple[Members, torch.optim.Optimizer, dict]:
    """The members and their optimizer, fresh or from saved training states.

    Args:
        variants: the members' variants (differing only in seeds).
        recipe: their shared recipe.
        device: torch device.
        loaded: per member (weights, saved state tensors, metrics), e.g. `_resume.load_resume`; None: fresh.
        capturable: build Adam(W) capturable, for a step captured in a CUDA graph.
    Returns:
        (members, optimizer, {parameter: HookedTransformer-style name}) for `run_epochs` and
        `_resume.optimizer_tensors`.
    """
    members = Members(variants, device, loaded)
    named = dict(members.module.named_parameters())
    groups = members.module.param_groups()
    opt = build_optimizer(recipe, named, groups, capturable=capturable)
    if loaded is not None:
        _resume.load_optimizer(opt, named, members.saved, members.stacked)
        _resume.restore_rng(members.saved[0], device)
    return members, opt, {p: hooked_name(n) for n, p in named.items()}


def run_epochs(members: Members, opt: torch.optim.Optimizer, recipe: Recipe, first: int, last: int,
               after_epoch: Callable[[int], None], stepper: EagerStep | None = None) -> None:
    """Train epochs first+1 .. last from the state at the end of epoch `first`.

    The learning rate, the batch order (or the fresh rows) and the generators depend only on
    the step and epoch, so the same state stepped over the same epochs the same way gives
    the same bits whoever calls this (train, resume or densify).

    Args:
        members, opt: from `setup`.
        recipe: the run's recipe.
        first, last: the epoch the state is at, and the last epoch to train.
        after_epoch: called with each epoch's number once it is trained (evaluate, checkpoint).
        stepper: runs one step (workbench.training.step); default: eagerly.
    """
    stepper = stepper or EagerStep(members, opt, recipe)
    step = first * members.steps_per_epoch(recipe)
    for epoch in range(first + 1, last + 1):
        for inputs, labels in members.epoch(recipe, epoch):
            check_stop()  # a cancel whose KeyboardInterrupt was swallowed still stops here
            stepper(inputs, labels, step)
            step += 1
        after_epoch(epoch)


def _record(plan: TrainPlan, n_members: int, prior: RunRecord | None) -> dict:
    """variant.json: identity (family, spec, params, recipe and its overrides) and plan.

    `stacked` says whether any job trained this run stacked with other members (a seed
    sweep): such a run's member, replayed alone, is not bit-identical (see densify).
    """
    v = plan.variant
    return {"family": v.family.name, "variant": v.spec, "params": v.params.model_dump(),
            "recipe": plan.recipe.model_dump(), "recipe_overrides": dict(v.recipe_overrides), "config": plan.config,
            "epochs": plan.epochs, "schedule": plan.schedule, "checkpoint_epochs": list(plan.checkpoints),
            "eval_every": plan.eval_every, "state_every": plan.state_every,
            "stacked": n_members > 1 or bool(prior and prior.stacked)}

