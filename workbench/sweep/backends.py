"""Run a sweep's groups (workbench.sweep.spec) on a backend, with one progress line per group.

- `local` (the default) runs the groups one after another in this process.
- `ray` runs each group as a Ray task on an existing cluster (`RAY_ADDRESS`) or a local
  one that `ray.init()` starts. A task asks for what its group needs: one GPU for a CUDA
  group, one CPU otherwise; Ray places and runs them, there is no scheduler here. Workers
  write into the same store, which must be on a filesystem every worker sees (a store on
  object storage is a next step, not done). Tasks take and return plain data (specs,
  numbers); Ray's own transport pickles those, nothing in the store is ever unpickled.

A group that fails (a worker killed, a run locked by another job) loses only its work
in flight: its members keep their checkpoints, and the sweep goes on with the other
groups, then says which failed. Ray retries a group whose worker died `retries` times;
re-running the same sweep resumes every group that is not finished.
"""

from __future__ import annotations

import os
import time
from typing import Callable

from workbench.core.analyzer import resolve_analyzers
from workbench.core.compute import check_device
from workbench.core.errors import UserError
from workbench.store import Store
from workbench.store.jobs import recorded
from workbench.sweep.spec import Group, SweepSpec, expand, groups
from workbench.sweep.stacked import GROKKED, run_group
from workbench.training.trainer import plan_training

__all__ = ["run_sweep", "check_sweep", "BACKENDS"]

BACKENDS = ("local", "ray")


def _say(text: str) -> None:
    print(text, flush=True)


def _summary(results: dict[int, dict], failed: dict[int, str], n_groups: int, running: int = 0) -> str:
    accs = [a for r in results.values() for a in r["test_acc"].values()]
    grokked = sum(a is not None and a >= GROKKED for a in accs)
    return (f"groups done {len(results)}/{n_groups}, running {running}, failed {len(failed)}; "
            f"members grokked {grokked}/{len(accs)}")


def _line(i: int, group: Group, result: dict | None, error: str | None, seconds: float) -> str:
    head = f"  group {i + 1} {group.label}"
    if error is not None:
        return f"{head}: failed after {seconds:.0f}s: {error}"
    accs = list(result["test_acc"].values())
    grokked = sum(a is not None and a >= GROKKED for a in accs)
    return (f"{head}: done in {seconds:.0f}s, {result['trained']} trained now, "
            f"grokked {grokked}/{len(accs)}, test acc " + " ".join(f"{a:.3f}" if a is not None else "?" for a in accs))


def _run_local(todo: list[tuple[int, Group]], kwargs: dict, report: Callable) -> None:
    for i, group in todo:
        t0 = time.perf_counter()
        try:
            result = run_group(kwargs["root"], list(group.specs), **kwargs["options"])
        except UserError as err:
            report(i, None, str(err), time.perf_counter() - t0)
            continue
        report(i, result, None, time.perf_counter() - t0)


def _run_ray(todo: list[tuple[int, Group]], kwargs: dict, report: Callable, retries: int) -> None:
    try:
        import ray
    except ImportError:
        raise UserError("--backend ray needs Ray: pip install 'training-dynamics-workbench[ray]'") from None
    if not ray.is_initialized():
        ray.init(address=os.environ.get("RAY_ADDRESS") or None, logging_level="WARNING", log_to_driver=False)
    cuda = kwargs["options"]["device"].startswith("cuda")
    task = ray.remote(run_group).options(num_gpus=1 if cuda else 0, num_cpus=0 if cuda else 1,
                                         max_retries=retries, retry_exceptions=False)
    options = {**kwargs["options"], "threads": None if cuda else 1}
    started = {task.remote(kwargs["root"], list(group.specs), **options): (i, time.perf_counter()) for i, group in todo}
    pending = list(started)
    while pending:
        done, pending = ray.wait(pending, num_returns=1)
        i, t0 = started[done[0]]
        try:
            report(i, ray.get(done[0]), None, time.perf_counter() - t0, running=len(pending))
        except ray.exceptions.RayTaskError as err:  # the group raised: its own message, one line
            cause = err.cause if isinstance(getattr(err, "cause", None), Exception) else err
            report(i, None, " ".join(str(cause).split())[:300], time.perf_counter() - t0, running=len(pending))
        except ray.exceptions.RayError as err:  # the worker died, or the cluster lost it
            report(i, None, f"{type(err).__name__}: the worker was lost; rerun the sweep to resume the group",
                   time.perf_counter() - t0, running=len(pending))


def check_sweep(sweep: SweepSpec, store: Store, *, backend: str = "local", analyze: bool = True,
                device: str = "cpu", epochs: int | None = None, schedule: str | None = None,
                eval_every: int | None = None, analyzers: str | None = None) -> tuple[list, dict, str]:
    """Everything `run_sweep` refuses up front, checked with nothing written.

    Returns:
        (the variants, the plan every member trains to, the analyzers to run).
    Raises:
        UserError: an unknown backend, a 0 or negative plan value, an unknown or empty
        analyzer list, a device torch cannot use, any member whose plan is invalid.
    """
    if backend not in BACKENDS:
        raise UserError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    variants = expand(sweep)
    given = {"epochs": epochs, "schedule": schedule, "eval_every": eval_every}  # None: the file's (0 is refused, not "unset")
    plan = {k: getattr(sweep, k) if v is None else v for k, v in given.items()}
    analyzers = sweep.analyzers if analyzers is None else analyzers
    if analyze:
        resolve_analyzers(analyzers)  # '' or an unknown name fails now, not after the training
    if backend == "local":  # a Ray worker checks its own device
        check_device(device)
    for v in variants:  # every member's plan is valid before anything is written
        plan_training(v, store, **plan)
    return variants, plan, analyzers


def run_sweep(sweep: SweepSpec, store: Store, *, backend: str = "local", analyze: bool = True,
              device: str = "cpu", epochs: int | None = None, schedule: str | None = None,
              eval_every: int | None = None, analyzers: str | None = None, retries: int = 1,
              quiet: bool = False) -> dict[int, dict]:
    """Expand `sweep`, then train (and analyze) each group on `backend`; see the module docstring.

    Returns:
        {group index: run_group's result} for the groups that finished.
    Raises:
        UserError for bad input (`check_sweep`, before anything is written), or after the
        sweep if a group failed, naming how many (rerun to resume them).
    """
    variants, plan, analyzers = check_sweep(sweep, store, backend=backend, analyze=analyze, device=device,
                                            epochs=epochs, schedule=schedule, eval_every=eval_every,
                                            analyzers=analyzers)
    store.ensure_writable()
    todo = list(enumerate(groups(variants, sweep.max_members)))
    options = {**plan, "device": device, "analyze": analyze, "analyzers": analyzers,
               "quiet": quiet or backend != "local"}
    _say(f"sweep: {len(variants)} variants of {sweep.variant} in {len(todo)} groups, backend {backend}")
    results: dict[int, dict] = {}
    failed: dict[int, str] = {}

    def report(i: int, result: dict | None, error: str | None, seconds: float, running: int = 0) -> None:
        (failed.__setitem__(i, error) if error is not None else results.__setitem__(i, result))
        _say(_line(i, todo[i][1], result, error, seconds) + f"  [{_summary(results, failed, len(todo), running)}]")

    kwargs = {"root": str(store.root), "options": options}
    runs = [f"{v.family.name}/{v.dir_name}" for v in variants]
    with recorded(store, "sweep", f"{sweep.variant} ({len(variants)} variants, {len(todo)} groups)",
                  ["sweep", "--backend", backend], runs):  # job history in the run index (`workbench jobs`)
        _run_local(todo, kwargs, report) if backend == "local" else _run_ray(todo, kwargs, report, retries)
        _say(f"sweep: {_summary(results, failed, len(todo))}")
        if failed:
            raise UserError(f"{len(failed)} of {len(todo)} sweep groups failed (see above); rerun the same sweep "
                            "to resume them")
    return results
