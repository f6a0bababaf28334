"""GPU analysis speed: checkpoints per second for `workbench analyze --analyzers all` (issue 15).

Trains a short run of the canonical p=113 variant with a checkpoint every few epochs
(analyzer cost does not depend on how trained the weights are), then times the whole
`analyze(..., analyzers="all", force=True)` call, summaries included, side by side in
one process: the CPU pipeline with one process (the baseline), then on the GPU with
`--jobs 1` and with `--jobs N` worker processes.

    python bench/gpu_analyze.py [--checkpoints 50] [--jobs 8]
    python bench/gpu_analyze.py --cpu-smoke     # tiny sizes on the CPU: checks the script runs, measures nothing

Without a CUDA device (and without --cpu-smoke) it prints one line and exits with status 2.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import torch

from workbench.analysis.parallel import default_jobs
from workbench.analysis.pipeline import analyze
from workbench.core.variant import parse_variant
from workbench.store import Store
from workbench.training.trainer import plan_training, train


def trained_store(spec: str, checkpoints: int, every: int, root: Path, device: str) -> Store:
    """A store holding `spec` trained with `checkpoints` checkpoints, `every` epochs apart (plus epoch 0)."""
    store = Store(root)
    epochs = checkpoints * every
    plan = plan_training(parse_variant(spec), store, epochs=epochs, schedule=f"0:{epochs + 1}:{every}")
    with contextlib.redirect_stdout(io.StringIO()):
        train(plan, store, quiet=True, device=device)
    return store


def checkpoints_per_s(spec: str, source: Store, root: Path, device: str, jobs: int) -> tuple[float, int]:
    """(checkpoints per second, checkpoints) of a forced `analyze --analyzers all` on a copy of `source`."""
    shutil.copytree(source.root, root)
    store = Store(root)
    n = len(store.checkpoint_epochs(store.runs()[0]))
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        analyze(spec, store, analyzers="all", force=True, device=device, quiet=True, jobs=jobs)
    return n / (time.perf_counter() - start), n


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", default="modular_addition")
    parser.add_argument("--checkpoints", type=int, default=50, help="checkpoints after epoch 0")
    parser.add_argument("--every", type=int, default=10, help="epochs between checkpoints")
    parser.add_argument("--jobs", type=int, help="worker processes for the GPU row (default: workbench's default)")
    parser.add_argument("--baseline-checkpoints", type=int, default=10, help="checkpoints the CPU baseline analyzes")
    parser.add_argument("--cpu-smoke", action="store_true", help="tiny sizes on the CPU, to check that this runs")
    args = parser.parse_args(argv)
    if args.cpu_smoke:
        args.variant, args.checkpoints, args.every, args.baseline_checkpoints = "modular_addition:p=17", 3, 5, 3
        device, jobs = "cpu", args.jobs or 2
    elif not torch.cuda.is_available():
        print("gpu_analyze: no CUDA device visible to torch; nothing measured (use --cpu-smoke to check the script)",
              file=sys.stderr)
        return 2
    else:
        device, jobs = "cuda", args.jobs or max(2, default_jobs(args.checkpoints + 1))
    spec = parse_variant(args.variant).spec
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        full = trained_store(spec, args.checkpoints, args.every, tmp / "full", device)
        small = trained_store(spec, args.baseline_checkpoints, args.every, tmp / "small", device)
        checkpoints_per_s(spec, small, tmp / "warm", device, 1)  # imports, allocator, CUDA context: untimed
        rows = [("CPU pipeline, --jobs 1 (baseline)", checkpoints_per_s(spec, small, tmp / "a", "cpu", 1))]
        rows.append((f"{device}, --jobs 1", checkpoints_per_s(spec, full, tmp / "b", device, 1)))
        rows.append((f"{device}, --jobs {jobs}", checkpoints_per_s(spec, full, tmp / "c", device, jobs)))
    name = torch.cuda.get_device_name() if device == "cuda" else f"CPU {platform.machine()}"
    print(f"device: {name}  torch {torch.__version__}  host cores {len(os.sched_getaffinity(0))}")
    print(f"variant: {spec}  --analyzers all, forced, summaries included")
    base = rows[0][1][0]
    for label, (rate, n) in rows:
        print(f"{label:40s} {rate:8.2f} checkpoints/s  ({n} checkpoints, {1000 / rate:8.1f} ms each)  {rate / base:6.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
