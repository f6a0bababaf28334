"""The least-action study's CPU-sized measurements (issue 12), one store, one table.

    python bench/least_action.py [--store DIR] [--epochs N] [--only NAME,...] [--table]

Each case is a `configs/lal_*.yaml` recipe with stated parameter changes (the case list
below says which), trained to N epochs (default 10,000), evaluated every 100 epochs and
checkpointed every 500. Then, per case: wall time of this call's training, the epoch at which
test accuracy first reaches 0.5 and 0.95, final train/test accuracy, weight norm and spectral
smoothness (`smooth`: exact target 1.0; chance printed beside it). `--table` only reads
the store. Re-running resumes or reuses finished runs (wall 0 then).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import workbench
from workbench.core.modular import low_frequency_mask
from workbench.core.variant import parse_variant
from workbench.training.config import load_config

# name -> (config, variant params changed from the config's)
CASES = {
    "mlp_validate": ("lal_validate", {}),
    "mlp_frac0.8": ("lal_validate", {"frac_train": 0.8}),
    "mlp_frac0.8_multiply": ("lal_validate", {"frac_train": 0.8, "operation": "multiply"}),
    "transformer_validate": ("lal_validate_transformer", {}),
    "transformer_multiply": ("lal_validate_transformer", {"operation": "multiply"}),
    "routed_none_frac0.8": ("lal_validate", {"frac_train": 0.8, "model": "routed", "n_heads": 4}),
    "routed_entropy_frac0.8": ("lal_validate", {"frac_train": 0.8, "model": "routed", "n_heads": 4,
                                                "routing": "entropy", "lambda_routing": 0.01}),
    "routed_entropy0.1_frac0.8": ("lal_validate", {"frac_train": 0.8, "model": "routed", "n_heads": 4,
                                                   "routing": "entropy", "lambda_routing": 0.1}),
    # controls for the routed net: one head (the gate is constant 1: an MLP), and an MLP as wide as 4 heads
    "routed_1head_frac0.8": ("lal_validate", {"frac_train": 0.8, "model": "routed", "n_heads": 1}),
    "mlp512_frac0.8": ("lal_validate", {"frac_train": 0.8, "hidden_dim": 512}),
    # the optional spectral penalty on the recipe that does not grok
    "mlp_validate_spectral0.1": ("lal_validate", {"lambda_spectral": 0.1}),
    "mlp_validate_spectral1": ("lal_validate", {"lambda_spectral": 1.0}),
}


def _variant(name: str):
    config, changes = CASES[name]
    cfg = load_config(config)
    base = parse_variant(cfg.variant)
    params = {**base.params.model_dump(), **changes}
    spec = f"{base.family.name}:" + ",".join(f"{k}={v}" for k, v in params.items())
    return parse_variant(spec, recipe=cfg.recipe)


def _train(name: str, store: str, epochs: int) -> float:
    variant = _variant(name)
    t0 = time.perf_counter()
    workbench.train(variant.spec, epochs=epochs, schedule=f"0:{epochs + 1}:500", eval_every=100, store=store,
                    quiet=True)
    return time.perf_counter() - t0


def _row(name: str, store: str, wall: float) -> dict:
    variant = _variant(name)
    m = workbench.load_variant(variant.spec, store=store).metrics
    epochs, test = np.asarray(m["epoch"]), np.asarray(m["test_acc"])

    def first(threshold: float) -> str:
        hit = np.flatnonzero(test >= threshold)
        return str(int(epochs[hit[0]])) if hit.size else f"> {int(epochs[-1])}"

    p = variant.params.p
    n = p - 1 if variant.params.operation == "multiply" else p
    return {"case": name, "epochs": int(epochs[-1]), "wall_s": wall, "test>=0.5": first(0.5),
            "test>=0.95": first(0.95), "train_acc": float(m["train_acc"][-1]), "test_acc": float(test[-1]),
            "wnorm": float(m["wnorm"][-1]), "smooth": float(m["smooth"][-1]),
            "chance": float(low_frequency_mask(n).sum() / (n * n - 1))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", default="/tmp/lal/store")
    ap.add_argument("--epochs", type=int, default=10_000)
    ap.add_argument("--only", help=f"comma-separated cases (default all): {', '.join(CASES)}")
    ap.add_argument("--table", action="store_true", help="only print the table from the store")
    args = ap.parse_args()
    names = args.only.split(",") if args.only else list(CASES)
    unknown = [n for n in names if n not in CASES]
    if unknown:
        ap.error(f"unknown case {unknown[0]!r}; cases: {', '.join(CASES)}")
    rows = []
    for name in names:
        wall = 0.0 if args.table else _train(name, args.store, args.epochs)
        rows.append(_row(name, args.store, wall))
    cols = list(rows[0])
    print(" | ".join(cols))
    for r in rows:
        print(" | ".join(f"{r[c]:.4g}" if isinstance(r[c], float) else str(r[c]) for c in cols))


if __name__ == "__main__":
    main()
