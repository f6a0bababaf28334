"""Cross-entropy vs REINFORCE on the universal_modular CPU demo over several seeds (issue 28,
item 6): per-prime accuracy at the last epoch (prime_sweep, all p^2 pairs), mean +- sd and
min-max over seeds, and per prime the CE - REINFORCE difference with Welch's t-test and an
exact permutation test over the seed labels; and per prime >= 11 the number of last-MLP
neurons with the "Fourier on Z_p" verdict (modular_sum_signal) and the median wrap score of
the 8 neurons that fit a sinusoid best.

    OMP_NUM_THREADS=1 nice -n 10 python bench/uma_seeds.py [--seeds 0 1 2] [--epochs N] [--store DIR] [--json F]
    python bench/uma_seeds.py --merge A.json B.json     # one table from runs made in separate calls

Seed s sets both `seed` (init) and `data_seed` (pair split); `prime_seed` stays 0, so every
run holds out the same primes. `--epochs N` truncates both configs' schedules (REINFORCE keeps
its `ce_steps` warm start unless `--ce-steps` moves it); say so wherever the numbers are quoted.
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import tempfile
import time

import numpy as np
import torch
from scipy import stats

import workbench
from workbench.training.config import load_config

CONFIGS = {"ce": "uma_demo_ce", "reinforce": "uma_demo_reinforce"}
GROUPS = ("seen", "unseen", "extrapolation", "below")


def spec_for(config: str, seed: int, ce_steps: int | None) -> tuple[str, int, int]:
    cfg = load_config(config)
    spec = cfg.variant if ce_steps is None else re.sub(r"ce_steps=\d+", f"ce_steps={ce_steps}", cfg.variant)
    spec += f",seed={seed},data_seed={seed}" + "".join(f",r.{k}={v}" for k, v in cfg.recipe.items())
    return spec, cfg.epochs, cfg.eval_every


def run(config: str, seed: int, store: str, epochs: int | None, ce_steps: int | None) -> dict:
    spec, cfg_epochs, eval_every = spec_for(config, seed, ce_steps)
    epochs = epochs or cfg_epochs
    t0 = time.perf_counter()
    v = workbench.train(spec, epochs=epochs, schedule=f"0:{epochs}:{epochs}", eval_every=eval_every, store=store,
                        quiet=True)
    wall = time.perf_counter() - t0
    workbench.analyze(v, analyzers="prime_sweep,modular_sum_signal", epochs=f"{epochs}:{epochs + 1}:1", quiet=True)
    sweep, sig = v.at(epochs).arrays("prime_sweep"), v.at(epochs).arrays("modular_sum_signal")
    top = np.argsort(-np.nan_to_num(sig["fit_r2"], nan=-1), axis=1)[:, :8]  # per prime, the 8 best-fitting neurons
    return {"spec": spec, "seed": seed, "epochs": epochs, "wall": wall, "primes": sweep["primes"].tolist(),
            "group": sweep["group"].tolist(), "accuracy": sweep["accuracy"].astype(float).tolist(),
            "zp_neurons": np.nansum(sig["zp_fourier"], 1).astype(int).tolist(),
            "zp_decided": np.isfinite(sig["zp_fourier"]).all(1).tolist(),
            "top_wrap": np.nanmedian(np.take_along_axis(sig["wrap"], top, 1), 1).astype(float).tolist()}


def zp_table(rows: dict[str, list[dict]]) -> str:
    """Per prime >= 11: Z_p-verdict neurons (of the MLP's) and the 8 best-R^2 neurons' median wrap, mean (min-max)."""
    first = rows["ce"][0]
    lines = ["| prime | group | CE: Z_p neurons | CE: top-8 wrap | REINFORCE: Z_p neurons | REINFORCE: top-8 wrap |",
             "|---|---|---|---|---|---|"]
    for j, (p, g) in enumerate(zip(first["primes"], first["group"])):
        if not first["zp_decided"][j]:
            continue
        cells = []
        for name in CONFIGS:
            n = np.array([r["zp_neurons"][j] for r in rows[name]])
            w = np.array([r["top_wrap"][j] for r in rows[name]])
            cells += [f"{n.mean():.1f} ({n.min()}–{n.max()})", f"{w.mean():+.2f} ({w.min():+.2f}–{w.max():+.2f})"]
        lines.append(f"| {p} | {GROUPS[g]} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def permutation_p(x: np.ndarray, y: np.ndarray) -> float:
    """Two-sided exact permutation p-value of mean(x) - mean(y) over every relabelling."""
    both, n = np.concatenate([x, y]), len(x)
    observed = abs(x.mean() - y.mean())
    diffs = [abs(both[list(c)].mean() - np.delete(both, list(c)).mean())
             for c in itertools.combinations(range(len(both)), n)]
    return float(np.mean(np.array(diffs) >= observed - 1e-12))


def table(rows: dict[str, list[dict]]) -> str:
    first = rows["ce"][0]
    lines = ["| prime | group | CE mean ± sd (min–max) | REINFORCE mean ± sd (min–max) | CE − RF | Welch p | perm. p |",
             "|---|---|---|---|---|---|---|"]
    for j, (p, g) in enumerate(zip(first["primes"], first["group"])):
        acc = {k: np.array([r["accuracy"][j] for r in v]) for k, v in rows.items()}
        cells = [f"{a.mean():.3f} ± {a.std(ddof=1):.3f} ({a.min():.3f}–{a.max():.3f})" for a in acc.values()]
        diff = acc["ce"].mean() - acc["reinforce"].mean()
        welch = stats.ttest_ind(acc["ce"], acc["reinforce"], equal_var=False).pvalue
        lines.append(f"| {p} | {GROUPS[g]} | {cells[0]} | {cells[1]} | {diff:+.3f} | "
                     f"{'n/a' if np.isnan(welch) else f'{welch:.2f}'} | {permutation_p(acc['ce'], acc['reinforce']):.2f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=None, help="epochs of each run (default: the configs')")
    parser.add_argument("--ce-steps", type=int, default=None, help="REINFORCE warm start step (default: the config's)")
    parser.add_argument("--store", default=None, help="store (default: a temporary directory)")
    parser.add_argument("--json", default=None, help="also write the raw rows here")
    parser.add_argument("--merge", nargs="+", default=None, help="only print the table of these --json files' rows")
    args = parser.parse_args()
    if args.merge:
        rows = {name: [r for path in args.merge for r in json.load(open(path))[name]] for name in CONFIGS}
        print(f"seeds {[r['seed'] for r in rows['ce']]}, epochs {sorted({r['epochs'] for v in rows.values() for r in v})}")
        print(table(rows))
        print(zp_table(rows))
        return
    torch.set_num_threads(1)
    store = args.store or tempfile.mkdtemp(prefix="uma_seeds_")
    rows = {name: [] for name in CONFIGS}
    for seed in args.seeds:
        for name, config in CONFIGS.items():
            r = run(config, seed, store, args.epochs, args.ce_steps)
            rows[name].append(r)
            print(f"{name} seed {seed}: {r['wall']:.0f} s, epochs {r['epochs']}", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f)
    print(f"store {store}; torch threads {torch.get_num_threads()}")
    print(table(rows))
    print(zp_table(rows))


if __name__ == "__main__":
    main()
