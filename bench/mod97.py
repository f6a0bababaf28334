"""x+y mod 97 (issues 11 and 26): the controlled grid and the study's whole 102k-step run, read from a store.

    python bench/mod97.py [--store DIR] [--study]

Reads (never trains, never writes) the runs `configs/sweeps/mod97_grid.yaml` names: weight
decay {0.1, 0.3, 1.0} x schedule {warmup, warmup_cosine} at lr 1e-3, plus wd 1.0 / warmup /
lr 3e-3, seeds 0-2 (seed = data_seed), 20,000 optimizer steps each. Per seed: the first
evaluated step at test accuracy >= 0.5 and >= 0.95, the final test accuracy, and the weight
norm and weight-decay budget (sum of lr * wd over the steps done, workbench.core.recipe
.decay_integral) at those steps. Per cell: mean +- sd and [min, max] over the seeds done.
Then one factor at a time, a verdict per comparison: cells whose seed ranges overlap are
"no difference". `--study` adds the table of the study's own run (`mod97_study`, 102,000
steps). Steps = epochs x 10 at p=97 (minibatches of 512 over 4,704 training pairs).
"""

from __future__ import annotations

import argparse

import numpy as np

from workbench.core.recipe import decay_integral, lr_at, steps_per_epoch
from workbench.core.variant import parse_variant
from workbench.store import RunKey, Store
from workbench.store.record import job_state
from workbench.sweep.spec import expand, load_sweep
from workbench.training.config import load_config

THRESHOLDS = (0.5, 0.95)
STUDY_STEPS = (1_000, 2_000, 5_000, 10_000, 12_000, 14_000, 16_000, 18_000, 19_000, 20_000, 20_500, 21_000,
               25_000, 30_000, 50_000, 75_000, 102_000)


def _cell(variant) -> str:
    return f"wd {variant.recipe.weight_decay:g} / {variant.recipe.lr_schedule} / lr {variant.recipe.lr:g}"


def read_run(store: Store, variant) -> dict | None:
    """One run's curves in optimizer steps, or None if it has no metrics yet."""
    key = RunKey(*variant.key)
    if not store.has_metrics(key):
        return None
    m = store.read_metrics(key)
    recipe = variant.recipe
    per_epoch = steps_per_epoch(recipe, int(variant.family.data(variant.params).train_mask.sum()))
    step = np.asarray(m["epoch"], dtype=np.int64) * per_epoch
    status = store.read_status(key) or {}
    state = job_state(status) if status else "stopped"
    return {"step": step, "test": np.asarray(m["test_acc"]), "train": np.asarray(m["train_acc"]),
            "wnorm": np.asarray(m.get("wnorm", np.full(len(step), np.nan))), "budget": decay_integral(recipe, step),
            "recipe": recipe, "done": state == "done", "state": "stopped" if state == "interrupted" else state,
            "budget_steps": recipe.steps}


def first(run: dict, threshold: float) -> int | None:
    """Index of the first evaluation at test accuracy >= threshold, or None."""
    hit = np.flatnonzero(run["test"] >= threshold)
    return int(hit[0]) if hit.size else None


def seed_row(run: dict) -> dict:
    row = {"steps": int(run["step"][-1]), "done": run["done"], "state": run["state"], "final_test": float(run["test"][-1]),
           "final_wnorm": float(run["wnorm"][-1])}
    for t in THRESHOLDS:
        i = first(run, t)
        row[t] = None if i is None else (int(run["step"][i]), float(run["wnorm"][i]), float(run["budget"][i]))
    fit = np.flatnonzero(run["train"] >= 0.95)  # memorization: the gap between this and test >= 0.95 is the grokking delay
    row["train_fit"] = int(run["step"][fit[0]]) if fit.size else None
    i = first(run, 0.95)  # stability: the lowest test accuracy after first reaching 0.95 (a collapse and recovery)
    row["after"] = None if i is None else (float(run["test"][i:].min()), int(run["step"][i + int(np.argmin(run["test"][i:]))]))
    return row


def _after(row: dict) -> str:
    if row["after"] is None:
        return ""
    low, step = row["after"]
    return f"{low:.3f}" + (f" (step {step:,})" if low < 0.9 else "")


def _hit(row: dict, t: float) -> str:
    if row[t] is None:
        return f"not within {row['steps'] // 1000}k" + ("" if row["done"] else f" ({row['state']})")
    step, wnorm, budget = row[t]
    return f"{step:,} (‖θ‖ {wnorm:.1f}, ∫lr·wd {budget:.2f})"


def _stats(values: list[float]) -> str:
    if not values:
        return "-"
    v = np.asarray(values, dtype=float)
    sd = f" ± {v.std(ddof=1):.3g}" if len(v) > 1 else ""
    return f"{v.mean():.4g}{sd} [{v.min():.4g}, {v.max():.4g}]"


def grid_rows(store: Store) -> dict[str, dict[int, dict]]:
    """cell -> seed -> seed_row, for every grid run that has metrics."""
    cells: dict[str, dict[int, dict]] = {}
    for v in expand(load_sweep("mod97_grid")):
        run = read_run(store, v)
        cells.setdefault(_cell(v), {})
        if run is not None:
            cells[_cell(v)][v.params.seed] = seed_row(run)
    return cells


def print_grid(cells: dict[str, dict[int, dict]]) -> None:
    print("| cell | seed | steps | train >= 0.95 at step | test >= 0.5 at step | test >= 0.95 at step | "
          "lowest test after 0.95 | final test | final ‖θ‖ |")
    print("|---|---|---|---|---|---|---|---|---|")
    for cell, seeds in cells.items():
        for seed, row in sorted(seeds.items()):
            shown = "" if row["done"] else f" ({row['state']})"
            fit = "never" if row["train_fit"] is None else f"{row['train_fit']:,}"
            print(f"| {cell} | {seed} | {row['steps']:,}{shown} | {fit} | {_hit(row, 0.5)} | "
                  f"{_hit(row, 0.95)} | {_after(row)} | {row['final_test']:.3f} | {row['final_wnorm']:.1f} |")
        if not seeds:
            print(f"| {cell} | - | not trained yet | | | | |")
    print("\n| cell | seeds known | reached 0.95 | step at 0.95: mean ± sd [min, max] | ∫lr·wd at 0.95 | "
          "final test (finished runs) |")
    print("|---|---|---|---|---|---|")
    for cell, seeds in cells.items():
        known = [r for r in seeds.values() if _known(r)]
        hits = [r[0.95] for r in known if r[0.95] is not None]
        done = [r["final_test"] for r in seeds.values() if r["done"]]
        print(f"| {cell} | {len(known)} | {len(hits)}/{len(known)} | {_stats([h[0] for h in hits])} | "
              f"{_stats([h[2] for h in hits])} | {_stats(done)}{f' (n={len(done)})' if done else ''} |")


def _known(row: dict) -> bool:
    """Whether a run's first step at test >= 0.95 is known: it got there (training on cannot change
    its first crossing), or it finished its budget without (never, within the budget)."""
    return row["done"] or row[0.95] is not None


def compare(cells: dict[str, dict[int, dict]], a: str, b: str) -> str:
    """Verdict on the step at test >= 0.95 (a seed that never got there counts as past the budget)."""
    def steps(cell):
        rows = [r for r in cells.get(cell, {}).values() if _known(r)]
        return [r[0.95][0] if r[0.95] else np.inf for r in rows]

    sa, sb = steps(a), steps(b)
    if len(sa) < 2 or len(sb) < 2:
        return f"{a} vs {b}: open (seeds known: {len(sa)} and {len(sb)})"
    if max(sa) >= min(sb) and max(sb) >= min(sa):
        return f"{a} vs {b}: no difference (seed ranges overlap: {_range(sa)} vs {_range(sb)})"
    faster = a if max(sa) < min(sb) else b
    return f"{a} vs {b}: {faster} reaches 0.95 first in every seed ({_range(sa)} vs {_range(sb)})"


def _range(steps: list[float]) -> str:
    return "[" + ", ".join("never" if not np.isfinite(s) else f"{int(s):,}" for s in sorted(steps)) + "]"


def print_factors(cells: dict[str, dict[int, dict]]) -> None:
    cell = lambda wd, sched, lr=1e-3: f"wd {wd:g} / {sched} / lr {lr:g}"  # noqa: E731
    print("\nOne factor at a time (step at test >= 0.95, over seeds; ranges that overlap are no difference):")
    for sched in ("warmup", "warmup_cosine"):
        for lo, hi in ((0.1, 0.3), (0.3, 1.0), (0.1, 1.0)):
            print("- weight decay:", compare(cells, cell(lo, sched), cell(hi, sched)))
    for wd in (0.1, 0.3, 1.0):
        print("- schedule:", compare(cells, cell(wd, "warmup"), cell(wd, "warmup_cosine")))
    print("- learning rate:", compare(cells, cell(1.0, "warmup"), cell(1.0, "warmup", 3e-3)))


def print_study(store: Store) -> None:
    cfg = load_config("mod97_study")
    variant = parse_variant(cfg.variant, recipe=cfg.recipe)
    run = read_run(store, variant)
    if run is None:
        print(f"\nno run of mod97_study ({variant.spec}) in {store.root}")
        return
    print(f"\nmod97_study ({variant.spec}): {int(run['step'][-1]):,} steps"
          f"{'' if run['done'] else ' (' + run['state'] + ')'}")
    print("| step | train acc | test acc | ‖θ‖ | lr | ∫lr·wd |")
    print("|---|---|---|---|---|---|")
    for s in STUDY_STEPS:
        i = int(np.searchsorted(run["step"], s))
        if i < len(run["step"]):
            print(f"| {int(run['step'][i]):,} | {run['train'][i]:.3f} | {run['test'][i]:.3f} | {run['wnorm'][i]:.1f} |"
                  f" {lr_at(run['recipe'], int(run['step'][i]) - 1):.3g} | {run['budget'][i]:.2f} |")
    for t in (0.05, 0.25, 0.5, 0.95, 0.99):
        i = first(run, t)
        print(f"first step at test >= {t}: " + ("never" if i is None else
              f"{int(run['step'][i]):,} (‖θ‖ {run['wnorm'][i]:.1f}, ∫lr·wd {run['budget'][i]:.2f})"))
    late = np.flatnonzero((run["step"] > run["step"][first(run, 0.99) or 0]) & (run["test"] < 0.95))
    print(f"evaluations below 0.95 after first reaching 0.99: {len(late)}"
          + (f" (lowest {run['test'][late].min():.3f} at step {int(run['step'][late][np.argmin(run['test'][late])]):,})"
             if late.size else ""))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", default="/work/store", help="the store holding the runs (read only)")
    ap.add_argument("--study", action="store_true", help="also the study's 102k-step run")
    args = ap.parse_args()
    store = Store(args.store)
    cells = grid_rows(store)
    print_grid(cells)
    print_factors(cells)
    if args.study:
        print_study(store)


if __name__ == "__main__":
    main()
