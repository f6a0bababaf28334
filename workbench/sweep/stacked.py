"""Seed sweeps: many variants of one family and recipe trained as one stacked model.

`workbench train FAMILY:p=113 --seeds 0-63 --data-seeds 0-3` trains the cross product of
model seeds and data seeds. Each variant lands in its own directory with exactly the files
a solo run writes, so `list`, `analyze`, `report` and the dashboard see ordinary variants.
"""

from __future__ import annotations

import re

from workbench.analysis.pipeline import analyze as analyze_run
from workbench.core.compute import pin_threads
from workbench.core.errors import UserError
from workbench.core.variant import parse_variant
from workbench.store import Store
from workbench.store.index import refresh
from workbench.training.trainer import plan_training, rejoin, train_members

__all__ = ["parse_seeds", "train_sweep", "MAX_MEMBERS"]

MAX_MEMBERS = 4096  # variants one sweep command may name (each is a run directory and a model copy)
_RANGE = re.compile(r"([0-9]{1,19})(?:-([0-9]{1,19}))?", re.ASCII)  # plain decimal N or N-M


def _seed_range(part: str, text: str) -> range:
    m = _RANGE.fullmatch(part)
    if not m:
        raise UserError(f"malformed seed list {text!r}: {part!r} is not N or N-M (plain decimal digits)")
    start, stop = int(m.group(1)), int(m.group(2) or m.group(1))
    if stop < start:
        raise UserError(f"malformed seed list {text!r}: {part!r} needs N <= M")
    return range(start, stop + 1)


def parse_seeds(text: str) -> list[int]:
    """'0-63' or '1,2,5' or '0-3,10' -> sorted unique non-negative seeds.

    Raises:
        UserError for a malformed part or more than MAX_MEMBERS seeds (counted from the
        ranges before any set is built, so '0-1000000000' fails at once).
    """
    parts = [_seed_range(p, text) for p in filter(None, (p.strip() for p in text.split(",")))]
    if not parts:
        raise UserError(f"malformed seed list {text!r}")
    count = sum(len(r) for r in parts)  # an upper bound (parts may overlap)
    if count > MAX_MEMBERS:
        raise UserError(f"seed list {text!r} names {count:,} seeds, more than {MAX_MEMBERS:,}")
    return sorted({s for r in parts for s in r})


def train_sweep(spec: str, store: Store, *, seeds: str | None = None, data_seeds: str | None = None,
                epochs: int | None = None, schedule: str | None = None, eval_every: int | None = None,
                device: str = "cpu", quiet: bool = False, max_members: int = 256, log_format: str = "bar",
                step_mode: str = "auto", default_schedule: str | None = None) -> list[dict[str, float]]:
    """Train the seed x data-seed product of `spec` in batches of at most `max_members`
    (`log_format` and `step_mode` as for `trainer.train_members`; `default_schedule` as for
    `trainer.plan_training`).

    Variants already finished are skipped; partially trained ones resume together when
    they stopped at the same checkpoint (or one checkpoint apart: `trainer.rejoin`).
    """
    base = parse_variant(spec)
    model_seeds = parse_seeds(seeds) if seeds is not None else [base.params.seed]  # '' is an error, not "default"
    split_seeds = parse_seeds(data_seeds) if data_seeds is not None else [base.params.data_seed]
    if len(model_seeds) * len(split_seeds) > MAX_MEMBERS:
        raise UserError(f"a sweep of {len(model_seeds)} seeds x {len(split_seeds)} data seeds is "
                        f"{len(model_seeds) * len(split_seeds):,} variants, more than {MAX_MEMBERS:,}")
    def plan_all() -> list:
        return [plan_training(parse_variant(spec, {"seed": s, "data_seed": d}), store, epochs=epochs,
                              schedule=schedule, eval_every=eval_every, default_schedule=default_schedule)
                for s in model_seeds for d in split_seeds]

    plans = plan_all()
    if rejoin(plans, store):  # a kill between two members' checkpoints: resume them stacked again
        plans = plan_all()
    todo = [p for p in plans if p.fresh or p.start_epoch < p.epochs]
    if not quiet:
        print(f"sweep: {len(plans)} variants of {base.family.name}, {len(plans) - len(todo)} already trained")
    groups: dict[tuple, list] = {}
    for plan in todo:  # members of one batch must be at the same point
        groups.setdefault((plan.start_epoch, plan.fresh), []).append(plan)
    results = []
    for group in groups.values():
        for i in range(0, len(group), max_members):
            batch = group[i:i + max_members]
            results += train_members(batch, store, device=device, quiet=quiet, desc=f"sweep x{len(batch)}",
                                     log_format=log_format, step_mode=step_mode)
    return results


# ------------------------------------------------------------ `workbench sweep`: groups
GROKKED = 0.99  # final test accuracy from which a member counts as grokked in the progress lines


def run_group(root: str, specs: list[str], *, epochs: int | None = None, schedule: str | None = None,
              eval_every: int | None = None, device: str = "cpu", analyze: bool = True, analyzers: str = "all",
              quiet: bool = True, threads: int | None = None) -> dict:
    """Train one group of a sweep (workbench.sweep.spec) to the end, then analyze its members.

    Idempotent: members already trained are skipped, interrupted ones resume from their
    last checkpoint (those at the same point stacked together; `trainer.rejoin` puts back
    members a kill left one checkpoint ahead), and analysis skips what
    is up to date. Takes and returns plain data only, so a Ray worker can run it.

    Returns:
        {"trained": members trained now, "test_acc": {spec: final test accuracy}}.
    """
    if threads:
        pin_threads(threads)  # a Ray task's share, for new runs and the analysis (a run's record wins)
    store = Store(root)

    def plan_all() -> list:
        return [plan_training(parse_variant(s), store, epochs=epochs, schedule=schedule, eval_every=eval_every)
                for s in specs]

    plans = plan_all()
    if rejoin(plans, store):  # a kill between two members' checkpoints: resume them stacked again
        plans = plan_all()
    todo = [p for p in plans if p.fresh or p.start_epoch < p.epochs]
    batches: dict[tuple, list] = {}
    for plan in todo:  # members of one batch must be at the same point
        batches.setdefault((plan.start_epoch, plan.fresh), []).append(plan)
    for batch in batches.values():
        train_members(batch, store, device=device, quiet=quiet, desc=f"group x{len(batch)}")
    if not analyze:
        refresh(store, [p.key for p in todo])  # (analyze re-indexes each run itself)
    else:
        for spec in specs:
            analyze_run(spec, store, analyzers=analyzers, device=device, quiet=True)
    return {"trained": len(todo), "test_acc": {p.variant.spec: _final_acc(store, p.key) for p in plans}}


def _final_acc(store: Store, key) -> float | None:
    acc = store.read_metrics(key, keys=("test_acc",))["test_acc"]
    return float(acc[-1]) if acc.ndim == 1 and len(acc) else None
