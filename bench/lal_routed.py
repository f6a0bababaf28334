"""The study's routed network against ours at p = 17 (or 113), 80% train (issue 27), read from a store.

    python bench/lal_routed.py [--p 17|113] [--store DIR ...] [--epoch N] [--mechanism]

Reads (never trains) `least_action:p=17,model=routed_study|routed,frac_train=0.8,hidden_dim=128,
n_heads=4,n_layers=2,data_seed=0-2,seed=42` under the lal_validate recipe (wd 2.0, no clip),
as trained by

    workbench train "least_action:p=17,operation=add,model=routed_study,frac_train=0.8,hidden_dim=128,\\
        n_heads=4,n_layers=2,data_seed=S,seed=42" --config lal_validate --epochs 2000 --store DIR

The MLP rows are the data-fraction curve's runs at 80% (same recipe and splits), the reference.
Per model and seed: epochs done, train and test accuracy at epoch N (default: the largest
epoch every seed of that model reached), the best test accuracy up to N and the first epoch at
test >= 0.95. Then mean +- sd over seeds at N. `--mechanism` adds the `routing_mechanism`
artifact at the last analyzed checkpoint <= N (run `workbench analyze ... --analyzers
routing_mechanism` first): per block, each head's share of the training pairs, gate entropy
on train and test, and test accuracy per dominant head.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from workbench.core.variant import parse_variant
from workbench.store import RunKey, Store
from workbench.sweep.spec import expand, load_sweep
from workbench.training.config import load_config

MODELS = ("routed_study", "routed", "mlp")  # mlp: the curve's runs (configs/sweeps/lal_curve17.yaml), the reference
SPEC = ("least_action:p={p},operation=add,model={model},frac_train=0.8,hidden_dim=128,n_heads=4,n_layers=2,"
        "data_seed={seed},seed=42")


def _key(model: str, seed: int, recipe, p: int = 17) -> RunKey:
    if model == "mlp":  # the data-fraction curve's run at 80% (configs/sweeps/lal_curve{p}.yaml)
        (v,) = [v for v in expand(load_sweep(f"lal_curve{p}")) if v.params.frac_train == 0.8 and v.params.data_seed == seed]
        return RunKey(*v.key)
    return RunKey(*parse_variant(SPEC.format(p=p, model=model, seed=seed), recipe=recipe).key)


def runs(stores: list[Store], p: int = 17) -> dict[str, dict[int, tuple[Store, RunKey, dict]]]:
    """model -> data_seed -> (store, key, metrics) for the runs the stores have (the first store that has one)."""
    recipe = load_config("lal_validate").recipe
    out: dict[str, dict[int, tuple[Store, RunKey, dict]]] = {}
    for model in MODELS:
        for seed in range(3):
            key = _key(model, seed, recipe, p)
            for store in stores:
                if store.has_metrics(key) and seed not in out.get(model, {}):
                    out.setdefault(model, {})[seed] = (store, key, store.read_metrics(key))
    return out


def _at(m: dict, epoch: int) -> int:
    return int(np.searchsorted(np.asarray(m["epoch"]), epoch, side="right") - 1)


def print_table(found: dict, epoch: int | None) -> None:
    print("| model | data_seed | epochs done | epoch N | train acc at N | test acc at N | best test to N | test >= 0.95 at |")
    print("|---|---|---|---|---|---|---|---|")
    for model, seeds in found.items():
        n = epoch or min(int(m["epoch"][-1]) for _, _, m in seeds.values())
        tests = []
        for seed, (_, _, m) in sorted(seeds.items()):
            i = _at(m, n)
            test = np.asarray(m["test_acc"][: i + 1])
            hit = np.flatnonzero(test >= 0.95)
            tests.append(float(test[-1]))
            first = "never" if not hit.size else f"{int(m['epoch'][hit[0]]):,}"
            print(f"| {model} | {seed} | {int(m['epoch'][-1]):,} | {int(m['epoch'][i]):,} | {m['train_acc'][i]:.3f} | "
                  f"{test[-1]:.3f} | {test.max():.3f} | {first} |")
        sd = f" ± {np.std(tests, ddof=1):.3f}" if len(tests) > 1 else ""
        print(f"| {model} | mean over {len(tests)} | | {n:,} | | {np.mean(tests):.3f}{sd} [{min(tests):.3f}, {max(tests):.3f}] | | |")


def print_mechanism(found: dict, epoch: int | None) -> None:
    print("\n| model | data_seed | epoch | block | share of training pairs per head | entropy train / test (nats; "
          "uniform 1.386) | test acc per dominant head (n) |")
    print("|---|---|---|---|---|---|---|")
    for model, seeds in found.items():
        for seed, (store, key, _) in sorted(seeds.items()):
            done = [e for e in store.artifact_epochs(key, "routing_mechanism") if epoch is None or e <= epoch]
            if not done:
                continue
            art = store.read_artifact(key, "routing_mechanism", done[-1])
            for block in range(len(art["entropy_train"])):
                acc = ", ".join(f"{a:.2f} ({n})" if n else "- (0)" for a, n in zip(art["acc_test"][block], art["n_test"][block]))
                print(f"| {model} | {seed} | {done[-1]:,} | {block} | {np.round(art['share_train'][block], 2).tolist()} | "
                      f"{art['entropy_train'][block]:.3f} / {art['entropy_test'][block]:.3f} | {acc} |")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--p", type=int, choices=(17, 113), default=17, help="the prime (default 17)")
    ap.add_argument("--store", action="append", help="store(s) to read, in order (default /tmp/lal-r1 and /work/store)")
    ap.add_argument("--epoch", type=int, help="compare at this epoch (default: the largest all seeds reached)")
    ap.add_argument("--mechanism", action="store_true")
    args = ap.parse_args(argv)
    stores = [Store(s) for s in (args.store or ["/tmp/lal-r1", "/work/store"])]
    found = runs(stores, args.p)
    if not found:
        print(f"no routed_study or routed run of this comparison in {args.store}", file=sys.stderr)
        return 2
    print_table(found, args.epoch)
    if args.mechanism:
        print_mechanism(found, args.epoch)
    return 0


if __name__ == "__main__":
    sys.exit(main())
