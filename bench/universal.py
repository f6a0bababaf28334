"""Universal modular addition on CPU (issue 13): the demo trained by cross-entropy and by
REINFORCE warm-started from the cross-entropy run, with final accuracy on seen primes'
test pairs, unseen in-range primes and extrapolation primes, and wall times.

    OMP_NUM_THREADS=1 nice -n 5 .venv/bin/python bench/universal.py [--store DIR] [--epochs N] [--ce-steps K]

The configs are configs/uma_demo_ce.yaml and configs/uma_demo_reinforce.yaml; the
REINFORCE run is the CE run up to step K (`ce_steps`), then REINFORCE.
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time

import numpy as np
import torch

import workbench
from workbench.training.config import load_config

GROUP_COLUMNS = (("seen (test pairs)", "test_acc"), ("unseen in range", "unseen_acc"), ("extrapolation", "extrap_acc"))


def run(config: str, store: str, epochs: int | None, ce_steps: int | None) -> dict:
    cfg = load_config(config)
    spec = cfg.variant if ce_steps is None else re.sub(r"ce_steps=\d+", f"ce_steps={ce_steps}", cfg.variant)
    spec += "".join(f",r.{k}={v}" for k, v in cfg.recipe.items())
    epochs = epochs or cfg.epochs
    t0 = time.perf_counter()
    v = workbench.train(spec, epochs=epochs, schedule=f"0:{epochs}:100", eval_every=cfg.eval_every, store=store,
                        quiet=True)
    wall = time.perf_counter() - t0
    m = v.metrics
    row = {name: float(m[col][-1]) for name, col in GROUP_COLUMNS}
    return {"spec": spec, "wall": wall, "epochs": epochs, "train": float(m["train_acc"][-1]),
            "reward": float(m["reward"][-1]), **row,
            "unseen_best": float(np.nanmax(m["unseen_acc"])), "extrap_best": float(np.nanmax(m["extrap_acc"]))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", default=None, help="store (default: a temporary directory)")
    parser.add_argument("--epochs", type=int, default=None, help="epochs of each run (default: the configs')")
    parser.add_argument("--ce-steps", type=int, default=None, help="REINFORCE warm start step (default: the config's)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    store = args.store or tempfile.mkdtemp(prefix="uma_bench_")
    rows = [run("uma_demo_ce", store, args.epochs, None), run("uma_demo_reinforce", store, args.epochs, args.ce_steps)]
    print(f"store {store}; torch threads {torch.get_num_threads()}")
    print(f"{'run':<12} {'epochs':>6} {'wall s':>7} {'train':>6} {'reward':>6} "
          + " ".join(f"{name:>18}" for name, _ in GROUP_COLUMNS))
    for name, r in zip(("ce", "reinforce"), rows):
        print(f"{name:<12} {r['epochs']:>6} {r['wall']:>7.1f} {r['train']:>6.3f} {r['reward']:>6.3f} "
              + " ".join(f"{r[g]:>18.3f}" for g, _ in GROUP_COLUMNS))
    for name, r in zip(("ce", "reinforce"), rows):
        print(f"{name}: {r['spec']}  best unseen {r['unseen_best']:.3f}, best extrapolation {r['extrap_best']:.3f}")


if __name__ == "__main__":
    main()
