"""The x+y mod 97 study (issue 11): the study's recipe against the recipe that groks, one store.

    python bench/mod97.py [--store DIR] [--study-steps N]

Trains `configs/mod97_grok.yaml` to its budget and `configs/mod97_study.yaml` (the failing
recipe, whose own budget is 102,000 steps) to a stated budget of N steps, then prints, for
each, wall time, the step at which test accuracy first reaches 0.5 / 0.95 / 0.99, and the
final train/test accuracy, weight norm and learning rate. Steps = epochs x 10 at p=97
(minibatches of 512 over 4,704 training pairs). Re-running resumes or reuses finished runs.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import workbench
from workbench.core.recipe import lr_at, steps_per_epoch
from workbench.core.variant import parse_variant
from workbench.training.config import load_config


def _run(config: str, store: str, steps: int | None) -> dict:
    cfg = load_config(config)
    variant = parse_variant(cfg.variant, recipe=cfg.recipe)
    n_train = int(variant.family.data(variant.params).train_mask.sum())
    per_epoch = steps_per_epoch(variant.recipe, n_train)
    epochs = None if steps is None else -(-steps // per_epoch)
    t0 = time.perf_counter()
    handle = workbench.train(variant.spec, epochs=epochs, schedule=cfg.schedule, store=store, quiet=True)
    wall = time.perf_counter() - t0
    m = handle.metrics
    step = np.asarray(m["epoch"]) * per_epoch

    def first(threshold: float) -> str:
        hit = np.flatnonzero(np.asarray(m["test_acc"]) >= threshold)
        return str(int(step[hit[0]])) if hit.size else "never"

    return {"config": config, "steps": int(step[-1]), "wall_s": wall, "acc>=0.5": first(0.5),
            "acc>=0.95": first(0.95), "acc>=0.99": first(0.99), "train_acc": float(m["train_acc"][-1]),
            "test_acc": float(m["test_acc"][-1]), "max_test_acc": float(np.max(m["test_acc"])),
            "wnorm": float(m["wnorm"][-1]) if "wnorm" in m else float("nan"),
            "lr": lr_at(variant.recipe, int(step[-1]) - 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", default="/tmp/mod97_store")
    ap.add_argument("--study-steps", type=int, default=5000, help="stated budget for the study recipe")
    args = ap.parse_args()
    rows = [_run("mod97_grok", args.store, None), _run("mod97_study", args.store, args.study_steps)]
    cols = list(rows[0])
    print(" | ".join(cols))
    for r in rows:
        print(" | ".join(f"{r[c]:.4g}" if isinstance(r[c], float) else str(r[c]) for c in cols))


if __name__ == "__main__":
    main()
