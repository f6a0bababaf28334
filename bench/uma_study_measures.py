"""The MIRAS study's own measures on runs already trained (issue 28, item 5): per prime at the last
checkpoint, the study's "Fourier purity (SNR)" of the top-variance neuron beside its permutation
null and wrap score (analyzers/study_snr.py), the accuracy sweep by group (prime_sweep), and the
regression alerts over all checkpoints (prime_regressions). Trains nothing.

    OMP_NUM_THREADS=1 nice -n 10 python bench/uma_study_measures.py --store DIR [DIR ...] [--match objective=ce] [--json F]

Runs whose last checkpoint is below the latest among the matched runs (an interrupted run) are
left out and named, so every row of the table is at the same epoch.

Over the matched runs (seeds): mean +- sd and min-max of SNR, the null's 99th percentile, how many
runs beat the null at p <= 0.01, and the median wrap score of the SNR neuron.
"""

from __future__ import annotations

import argparse
import json

import numpy as np

import workbench

GROUPS = ("seen", "unseen", "extrapolation", "below")


def measure(info, store: str) -> dict:
    """Analyze one run (study_snr and prime_sweep at every checkpoint, then prime_regressions) and read them."""
    v = info.open(store)
    workbench.analyze(v, analyzers="prime_sweep,study_snr,prime_regressions", quiet=True)
    last = v.at(v.epochs[-1])
    snr, sweep, reg = last.arrays("study_snr"), last.arrays("prime_sweep"), v.summary("prime_regressions")
    return {"spec": info.spec, "epochs": list(map(int, v.epochs)), "primes": snr["primes"].tolist(),
            "group": snr["group"].tolist(), "accuracy": sweep["accuracy"].astype(float).tolist(),
            **{k: snr[k].astype(float).tolist() for k in ("snr", "snr_null_q99", "snr_p", "wrap", "freq", "neuron")},
            "alerted": reg["alerted_primes"].tolist(), "drop": reg["drop"].astype(float).tolist()}


def _cell(x: np.ndarray) -> str:
    x = x[np.isfinite(x)]
    return "—" if not x.size else f"{x.mean():.2f} ± {x.std(ddof=1) if x.size > 1 else 0:.2f} ({x.min():.2f}–{x.max():.2f})"


def table(rows: list[dict]) -> str:
    """One line per prime: group, accuracy, SNR, null q99, runs above the null, median wrap (over runs)."""
    get = {k: np.array([r[k] for r in rows], dtype=float) for k in ("accuracy", "snr", "snr_null_q99", "snr_p", "wrap")}
    out = [f"runs: {len(rows)}; checkpoints {rows[0]['epochs'][0]}..{rows[0]['epochs'][-1]} ({len(rows[0]['epochs'])})",
           "| p | group | accuracy | study SNR | null q99 | runs p ≤ 0.01 | median wrap |", "|---|---|---|---|---|---|---|"]
    for j, (p, g) in enumerate(zip(rows[0]["primes"], rows[0]["group"])):
        beat = int(np.nansum(get["snr_p"][:, j] <= 0.01))
        wrap = np.nanmedian(get["wrap"][:, j]) if np.isfinite(get["wrap"][:, j]).any() else np.nan
        out.append(f"| {p} | {GROUPS[g]} | {_cell(get['accuracy'][:, j])} | {_cell(get['snr'][:, j])} | "
                   f"{_cell(get['snr_null_q99'][:, j])} | {beat}/{len(rows)} | {wrap:.2f} |")
    out.append("regression alerts (fell >= 0.2 from a reached >= 0.6): "
               + "; ".join(f"run {i}: {r['alerted'] or 'none'}" for i, r in enumerate(rows)))
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", nargs="+", required=True)
    ap.add_argument("--match", default="", help="only runs whose spec contains every comma-separated piece")
    ap.add_argument("--json", help="write the per-run numbers here")
    args = ap.parse_args()
    pieces = [m for m in args.match.split(",") if m]
    runs = [(r, st) for st in args.store for r in workbench.list_runs(st)
            if r.spec.startswith("universal_modular:") and all(m in r.spec for m in pieces)]
    if not runs:
        raise SystemExit(f"no universal_modular run in {args.store} matches {args.match!r}")
    end = max(r.epochs for r, _ in runs)
    for r, st in runs:
        if r.epochs < end:
            print(f"left out (last checkpoint {r.epochs} < {end}): {st} {r.spec}")
    runs = [(r, st) for r, st in runs if r.epochs == end]
    rows = [measure(r, st) for r, st in runs]
    for r in rows:
        print(r["spec"])
    print(table(rows))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f)


if __name__ == "__main__":
    main()
