"""GPU training speed on the canonical p=113 variant, side by side in one process (issue 15).

Rows: the TransformerLens 4 bridge in a plain eager loop (what a TransformerLens user
writes: full forward, AdamW, a test evaluation and `.item()` every epoch); `workbench
train` solo in each step mode (workbench.training.step: eager, compile, graph); and seed sweeps of
E = 8, 64 and 256 stacked members (`train_members`, chunked by free memory if need be).

For each: ms per epoch, model-epochs per second and the share of the TF32 matmul peak that
the *full-position* model's useful work would need at that rate (its matmul FLOPs per
training epoch, forward + backward, counted by torch.utils.flop_counter on the bridge, are
the common unit: our answer-position module does about a third of that work). Workbench
rows are steady state: the difference between a long and a short run (so run setup, graph
capture or compilation, and the final checkpoint write cancel), each with the family's
checkpoint schedule and eval cadence as `workbench train` runs them.

    python bench/gpu_train.py [--epochs 2000] [--members 8,64,256] [--peak-tflops 410]
    python bench/gpu_train.py --cpu-smoke      # tiny sizes on the CPU: checks the script runs, measures nothing

Without a CUDA device (and without --cpu-smoke) it prints one line and exits with status 2.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import platform
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_speed import baseline_epochs_per_s  # noqa: E402

from workbench.core.variant import parse_variant  # noqa: E402
from workbench.store import Store  # noqa: E402
from workbench.training.trainer import plan_training, train_members  # noqa: E402


def full_model_flops(spec: str) -> float:
    """Matmul FLOPs of one full-batch training epoch (forward + backward) of the full-position bridge."""
    from torch.utils.flop_counter import FlopCounterMode

    v = parse_variant(spec)
    data = v.family.data(v.params)
    model = v.family.tl_model(v.params, v.family.init_state(v.params)).train()
    x, y = data.inputs[data.train_mask], data.labels[data.train_mask]
    with FlopCounterMode(display=False) as counter:
        F.cross_entropy(model(x)[:, -1], y).backward()
    return float(counter.get_total_flops())


def sweep_seconds(spec: str, members: int, epochs: int, device: str, step_mode: str) -> float:
    """Wall seconds of `workbench train` of seeds 0..members-1 of `spec` for `epochs`, in a fresh store."""
    with tempfile.TemporaryDirectory() as root:
        store = Store(root)
        plans = [plan_training(parse_variant(spec, {"seed": s}), store, epochs=epochs) for s in range(members)]
        start = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):  # the trainer's closing line per member
            train_members(plans, store, device=device, quiet=True, step_mode=step_mode)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        return time.perf_counter() - start


def steady_ms_per_epoch(spec: str, members: int, epochs: int, device: str, step_mode: str) -> tuple[float, float]:
    """(steady-state ms per epoch, end-to-end ms per epoch of the long run): a run of `epochs`
    minus a run of `epochs // 2`, so setup, capture and compilation cancel."""
    short, long = sweep_seconds(spec, members, epochs // 2, device, step_mode), sweep_seconds(spec, members, epochs,
                                                                                             device, step_mode)
    return 1000 * (long - short) / (epochs - epochs // 2), 1000 * long / epochs


def _row(label: str, ms_per_epoch: float, members: int, flops: float, peak: float | None, base_ms: float) -> str:
    model_epochs = members * 1000 / ms_per_epoch
    share = f"{100 * flops * model_epochs / (peak * 1e12):6.2f}%" if peak else "   n/a"
    return (f"{label:44s} {ms_per_epoch:10.3f} {ms_per_epoch / members:12.4f} {model_epochs:12.1f} {share:>9s} "
            f"{base_ms * members / ms_per_epoch:9.1f}x")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", default="modular_addition")
    parser.add_argument("--epochs", type=int, default=2000, help="epochs of the long workbench runs")
    parser.add_argument("--baseline-epochs", type=int, default=300)
    parser.add_argument("--members", default="8,64,256", help="stacked sweep sizes")
    parser.add_argument("--step-modes", default="eager,compile,graph", help="solo step modes to time")
    parser.add_argument("--peak-tflops", type=float, default=410.0, help="the device's TF32 matmul peak")
    parser.add_argument("--no-tf32", action="store_true", help="float32 matmuls in full precision")
    parser.add_argument("--cpu-smoke", action="store_true", help="tiny sizes on the CPU, to check that this runs")
    args = parser.parse_args(argv)
    if args.cpu_smoke:
        args.variant, args.epochs, args.baseline_epochs, args.members = "modular_addition:p=17", 8, 4, "2,3"
        args.step_modes, device, peak = "eager", "cpu", None
    elif not torch.cuda.is_available():
        print("gpu_train: no CUDA device visible to torch; nothing measured (use --cpu-smoke to check the script)",
              file=sys.stderr)
        return 2
    else:
        device, peak = "cuda", args.peak_tflops
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = not args.no_tf32
    spec = parse_variant(args.variant).spec
    flops = full_model_flops(spec)
    sweep_seconds(spec, 1, 4, device, "eager")  # warm up imports, allocator, CUDA context
    base_ms = 1000 / baseline_epochs_per_s(spec, args.baseline_epochs, device)
    name = torch.cuda.get_device_name() if device == "cuda" else f"CPU {platform.machine()}"
    print(f"device: {name}  torch {torch.__version__}  TF32 {'on' if device == 'cuda' and not args.no_tf32 else 'off'}"
          f"  peak {peak or 'n/a'} TFLOP/s")
    print(f"variant: {spec}  full-position model: {flops / 1e9:.2f} GFLOP per training epoch")
    print(f"{'loop':44s} {'ms/epoch':>10s} {'ms/model-ep':>12s} {'model-ep/s':>12s} {'% peak':>9s} {'vs TL':>10s}")
    print(_row("TransformerLens bridge, eager loop (baseline)", base_ms, 1, flops, peak, base_ms))
    for mode in args.step_modes.split(","):
        steady, end_to_end = steady_ms_per_epoch(spec, 1, args.epochs, device, mode)
        print(_row(f"workbench train, solo, --step-mode {mode}", steady, 1, flops, peak, base_ms)
              + f"   (end to end {end_to_end:.3f} ms/epoch)")
    for members in (int(m) for m in args.members.split(",")):
        steady, end_to_end = steady_ms_per_epoch(spec, members, args.epochs, device, "auto")
        print(_row(f"workbench train, {members} stacked members", steady, members, flops, peak, base_ms)
              + f"   (end to end {end_to_end:.3f} ms/epoch)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
