"""Training speed on the canonical p=113 variant: a plain TransformerLens loop vs `workbench train`.

The baseline is what common tools do: the TL 4 bridge's full forward over all three
positions, a test-set evaluation and `.item()` every epoch. Ours is the workbench trainer
exactly as `workbench train` runs it (answer-position-only module, test eval at the eval
cadence, checkpoints on the family schedule). Both start from the same weights, in one
process, with the same thread count. `--step-modes eager,compile` times `workbench train`
once per step mode (workbench.training.step), side by side; compilation is done in a warm-up run
first, so the rows compare steady-state speed.

    python bench/train_speed.py [--epochs 200] [--threads 2] [--step-modes eager,compile] [--no-baseline]
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time

import torch
import torch.nn.functional as F

from workbench.core.variant import parse_variant
from workbench.store import Store
from workbench.training.trainer import plan_training, train


def baseline_epochs_per_s(spec: str, epochs: int, device: str = "cpu") -> float:
    """The plain TransformerLens loop: bridge forward over all positions, AdamW, test eval and `.item()` each epoch."""
    v = parse_variant(spec)
    fam, params = v.family, v.params
    data = fam.data(params)
    model = fam.tl_model(params, fam.init_state(params), device).train()
    for name, param in model.named_parameters():
        param.requires_grad_(not name.endswith("bias"))  # the grokking demo freezes biases
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-3, weight_decay=1.0, betas=(0.9, 0.98))
    x_tr, y_tr = data.inputs[data.train_mask].to(device), data.labels[data.train_mask].to(device)
    x_te, y_te = data.inputs[~data.train_mask].to(device), data.labels[~data.train_mask].to(device)
    start = time.perf_counter()
    for _ in range(epochs):
        loss = F.cross_entropy(model(x_tr)[:, -1].double(), y_tr)
        opt.zero_grad()
        loss.backward()
        opt.step()
        with torch.no_grad():
            test_loss = F.cross_entropy(model(x_te)[:, -1].double(), y_te)
        loss.item(), test_loss.item()
    return epochs / (time.perf_counter() - start)


def workbench_epochs_per_s(spec: str, epochs: int, step_mode: str = "eager", device: str = "cpu") -> float:
    """`workbench train` of `spec` for `epochs` (family schedule, eval cadence) in a fresh store."""
    with tempfile.TemporaryDirectory() as root:
        store = Store(root)
        plan = plan_training(parse_variant(spec), store, epochs=epochs)
        start = time.perf_counter()
        train(plan, store, quiet=True, step_mode=step_mode, device=device)
        return epochs / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--variant", default="modular_addition")
    parser.add_argument("--step-modes", default="eager", help="comma-separated workbench step modes to time")
    parser.add_argument("--no-baseline", action="store_true", help="skip the TransformerLens loop")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    modes = args.step_modes.split(",")
    for mode in modes:
        workbench_epochs_per_s(args.variant, 5, mode)  # warm up imports, allocator and compilation
    base = None if args.no_baseline else baseline_epochs_per_s(args.variant, args.epochs)
    ours = {mode: workbench_epochs_per_s(args.variant, args.epochs, mode) for mode in modes}
    print(f"machine: {platform.machine()} {platform.processor() or ''} threads={args.threads} torch {torch.__version__}")
    print(f"variant: {parse_variant(args.variant).spec}  epochs timed: {args.epochs}")
    if base is not None:
        print(f"baseline (TL bridge, full forward, test eval + .item() every epoch): {base:7.2f} epochs/s  {1000 / base:7.1f} ms/epoch")
    for mode, rate in ours.items():
        label = f"workbench train --step-mode {mode}:"
        print(f"{label:67s}{rate:7.2f} epochs/s  {1000 / rate:7.1f} ms/epoch"
              + (f"  {rate / base:.2f}x baseline" if base else "") + (f"  {rate / ours[modes[0]]:.2f}x {modes[0]}" if mode != modes[0] else ""))


if __name__ == "__main__":
    main()
