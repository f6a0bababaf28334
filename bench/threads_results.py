"""Do torch's thread counts change a run's numbers here? (issue 24: "bit-identical whatever the threads")

Trains the demo variant for --epochs epochs (evaluated every --eval-every) in a child process
per thread count, each count --repeats times (the control: the same count twice must agree,
else the run is not even deterministic), each pinned with OMP_NUM_THREADS=N before torch
loads. Then compares every run with the first run of the first count: the final checkpoint's
weights (max |difference|) and the metrics (the first evaluated epoch whose losses differ), and
groups the runs whose results are identical.
A second check, in this process: one forward and backward pass of the demo's initial model
at each count (is a single step already different?), and one long float32 sum.

    OMP_NUM_THREADS=1 nice -n 10 python bench/threads_results.py --threads 1 2 3 4
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(HERE))

CHILD = """
import sys, torch
from workbench.core.variant import demo_variant, parse_variant
from workbench.store import Store
from workbench.training.trainer import plan_training, train
variant = parse_variant(demo_variant()[0])
store = Store(sys.argv[1])
train(plan_training(variant, store, epochs=int(sys.argv[2]), schedule=f"0:{sys.argv[2]}:{sys.argv[2]}",
                    eval_every=int(sys.argv[3])), store, quiet=True)
print(torch.get_num_threads())
"""


def _train(threads: int, epochs: int, eval_every: int) -> tuple[dict, dict, int]:
    """(final weights, metrics, torch threads used) of one demo run pinned to `threads`."""
    from workbench.core.variant import demo_variant, parse_variant
    from workbench.store import RunKey, Store
    from workbench.store._io import load_npz, load_safetensors

    root = tempfile.mkdtemp(prefix=f"thr{threads}-")
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads),
           "OMP_WAIT_POLICY": "PASSIVE"}  # how waiting threads wait: speed only (spinning ones crawl beside other jobs)
    env.pop("WORKBENCH_THREADS", None)
    out = subprocess.run([sys.executable, "-c", CHILD, root, str(epochs), str(eval_every)], env=env,
                         capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(out.stderr[-2000:])
    store, key = Store(root), RunKey(*parse_variant(demo_variant()[0]).key)
    return (load_safetensors(store.checkpoint_path(key, epochs)), load_npz(store.metrics_path(key)),
            int(out.stdout.split()[-1]))


def _compare(ref: tuple[dict, dict, int], other: tuple[dict, dict, int]) -> str:
    """'identical', or the largest weight difference and the first epoch whose losses differ."""
    (w0, m0, _), (w1, m1, _) = ref, other
    worst = max(float(np.abs(np.asarray(w0[k], np.float64) - np.asarray(w1[k], np.float64)).max()) for k in w0)
    differ = ~((m0["train_loss"] == m1["train_loss"]) & (m0["test_loss"] == m1["test_loss"]))
    if worst == 0 and not differ.any():
        return "identical"
    first = int(m0["epoch"][differ.argmax()]) if differ.any() else None
    return (f"max |dw| {worst:.2e}; losses first differ at epoch {first}; final test loss "
            f"{m0['test_loss'][-1]:.6g} vs {m1['test_loss'][-1]:.6g}")


def _one_step(counts: list[int]) -> None:
    """One forward+backward of the demo's initial model at each count: is a single step already different?"""
    import torch

    from workbench.core.variant import demo_variant, parse_variant
    from workbench.training.trainer import setup

    variant = parse_variant(demo_variant()[0])
    members, _, _ = setup([variant], variant.recipe, "cpu")
    inputs, labels = members.train_batch(None)
    grads = {}
    for n in counts:
        torch.set_num_threads(n)
        members.module.zero_grad()
        members.loss(inputs, labels, torch.Generator().manual_seed(0)).backward()
        grads[n] = {k: p.grad.clone() for k, p in members.module.named_parameters() if p.grad is not None}
    for n in counts[1:]:
        diff = max(float((grads[counts[0]][k] - grads[n][k]).abs().max()) for k in grads[n])
        print(f"one step at initialisation, full batch, {counts[0]} vs {n} threads: max |d grad| {diff:.2e}")
    sums = {}
    for n in counts:  # the likely cause: a long reduction is split among the threads, and float addition is not associative
        torch.set_num_threads(n)
        sums[n] = torch.randn(10**6, generator=torch.Generator().manual_seed(0)).sum().item()
    print("sum of 10**6 float32 normals at " + ", ".join(f"{n} thread(s): {v!r}" for n, v in sums.items()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--epochs", type=int, default=300)
    ap.add_argument("--eval-every", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    print(f"# {time.strftime('%Y-%m-%d %H:%M %Z')} {platform.processor() or platform.machine()}, "
          f"{len(os.sched_getaffinity(0))} cores, load {os.getloadavg()[0]:.1f}; demo {args.epochs} epochs, "
          f"eval every {args.eval_every}", flush=True)
    runs = {}
    for r in range(args.repeats):  # interleaved: every count once per round
        for n in args.threads:
            t0 = time.perf_counter()
            runs[(n, r)] = _train(n, args.epochs, args.eval_every)
            print(f"trained {n} thread(s) round {r} (torch used {runs[(n, r)][2]}) in "
                  f"{time.perf_counter() - t0:.0f} s", flush=True)
    ref = runs[(args.threads[0], 0)]
    print(f"| run | against {args.threads[0]} thread(s), round 0 |\n|---|---|")
    for (n, r), run in runs.items():
        if (n, r) != (args.threads[0], 0):
            print(f"| {n} thread(s), round {r} | {_compare(ref, run)} |", flush=True)
    classes: list[list[tuple[int, int]]] = []  # runs whose weights and metrics are identical, together
    for name, run in runs.items():
        same = next((c for c in classes if _compare(runs[c[0]], run) == "identical"), None)
        same.append(name) if same is not None else classes.append([name])
    print("identical results: " + "; ".join(" = ".join(f"{n} thr #{r}" for n, r in c) for c in classes))
    _one_step(args.threads)


if __name__ == "__main__":
    main()
