"""Correctness of the captured training step on a device (issue 32, step 1), as JSON.

Two checks on the demo variant, each through the `workbench train` command line in child
processes (so a crash in one mode is a recorded error, not a lost script):

- agreement: the same run trained with `--step-mode eager` and with `--step-mode graph`
  (and `compile`) reaches final weights within `--rtol` of each other (max |a-b| / max |a|
  over every tensor of the last checkpoint), and the same metrics table shape;
- resume: a graph-mode run killed (SIGKILL) once its middle checkpoint exists, then rerun,
  leaves every checkpoint bit-identical to an uninterrupted graph-mode run.

A mode that fails records its error (the last lines of its stderr) and the script goes on.

    python bench/gpu_check.py --out $OUT/gpu_check.json [--epochs 300] [--device cuda]
    python bench/gpu_check.py --cpu-smoke --out /tmp/check.json   # tiny, on the CPU, eager only
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from workbench.core.variant import demo_variant, parse_variant
from workbench.store import RunKey, Store


def _train(spec: str, store: Path, epochs: int, device: str, mode: str, schedule: str) -> subprocess.Popen:
    argv = [sys.executable, "-m", "workbench", "train", spec, "--epochs", str(epochs), "--schedule", schedule,
            "--device", device, "--step-mode", mode, "--store", str(store), "--quiet"]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")})


def _finish(proc: subprocess.Popen, timeout: float) -> str | None:
    """None if the run exited 0, else its last stderr lines."""
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        return f"timed out after {timeout:.0f} s"
    return None if proc.returncode == 0 else f"exit {proc.returncode}: " + " | ".join(err.strip().splitlines()[-3:])


def _rel_diff(a: dict, b: dict) -> float:
    worst = 0.0
    for name in a:
        x, y = a[name].double(), b[name].double()
        worst = max(worst, float((x - y).abs().max() / x.abs().max().clamp_min(1e-30)))
    return worst


def agreement(spec: str, epochs: int, device: str, modes: list[str], root: Path, timeout: float) -> dict:
    """Final weights of each mode against eager's."""
    key, out, last = RunKey(*parse_variant(spec).key), {}, {}
    for mode in ["eager", *[m for m in modes if m != "eager"]]:
        store = root / f"agree-{mode}"
        t0 = time.perf_counter()
        error = _finish(_train(spec, store, epochs, device, mode, f"0,{epochs}"), timeout)
        entry = {"seconds": round(time.perf_counter() - t0, 2), "error": error}
        if error is None:
            last[mode] = Store(store).load_checkpoint(key, epochs)
            if mode != "eager" and "eager" in last:
                entry["max_rel_diff_vs_eager"] = _rel_diff(last["eager"], last[mode])
        out[mode] = entry
    return out


def kill_resume(spec: str, epochs: int, device: str, mode: str, root: Path, timeout: float) -> dict:
    """A run killed after its middle checkpoint and rerun, against an uninterrupted one, bit for bit."""
    key, schedule = RunKey(*parse_variant(spec).key), f"0:{epochs + 1}:{max(1, epochs // 10)}"
    straight, killed = root / "straight", root / "killed"
    error = _finish(_train(spec, straight, epochs, device, mode, schedule), timeout)
    if error:
        return {"error": f"uninterrupted run: {error}"}
    ckpts = Store(straight).checkpoint_epochs(key)
    middle, proc, deadline = ckpts[len(ckpts) // 2], _train(spec, killed, epochs, device, mode, schedule), time.time() + timeout
    watched = Store(killed)
    while proc.poll() is None and time.time() < deadline:
        if watched.has_resume(key) and watched.checkpoint_epochs(key)[-1:] >= [middle]:
            break
        time.sleep(0.005)
    killed_at = watched.checkpoint_epochs(key)[-1] if watched.exists(key) else None
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    error = _finish(_train(spec, killed, epochs, device, mode, schedule), timeout)
    if error:
        return {"error": f"resumed run: {error}", "killed_after_epoch": killed_at}
    same = watched.checkpoint_epochs(key) == ckpts and all(
        all(torch.equal(a[n], b[n]) for n in a) and a.keys() == b.keys()
        for a, b in ((Store(straight).load_checkpoint(key, e), watched.load_checkpoint(key, e)) for e in ckpts))
    return {"killed_after_epoch": killed_at, "checkpoints": len(ckpts), "bit_identical": bool(same)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="the JSON file to write")
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--modes", default="eager,graph,compile")
    parser.add_argument("--rtol", type=float, default=1e-5)
    parser.add_argument("--timeout", type=float, default=240, help="seconds per child run")
    parser.add_argument("--cpu-smoke", action="store_true", help="tiny, on the CPU, eager only: checks this runs")
    args = parser.parse_args(argv)
    if args.cpu_smoke:
        args.device, args.modes, args.epochs = "cpu", "eager", 20
    elif args.device.startswith("cuda") and not torch.cuda.is_available():
        print("gpu_check: no CUDA device visible to torch (use --cpu-smoke to check the script)", file=sys.stderr)
        return 2
    spec = demo_variant()[0]
    modes = args.modes.split(",")
    result = {"variant": spec, "epochs": args.epochs, "device": args.device, "rtol": args.rtol,
              "device_name": torch.cuda.get_device_name() if args.device.startswith("cuda") else "cpu",
              "torch": torch.__version__}
    with tempfile.TemporaryDirectory() as tmp:
        result["agreement"] = agreement(spec, args.epochs, args.device, modes, Path(tmp), args.timeout)
        resume_mode = "graph" if "graph" in modes and result["agreement"]["graph"]["error"] is None else "eager"
        result["resume_mode"] = resume_mode
        result["resume"] = kill_resume(spec, args.epochs, args.device, resume_mode, Path(tmp), args.timeout)
    graph = result["agreement"].get("graph", {})
    result["graph_passed"] = (graph.get("error") is None and graph.get("max_rel_diff_vs_eager", 1.0) <= args.rtol
                              and result["resume_mode"] == "graph" and result["resume"].get("bit_identical") is True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
