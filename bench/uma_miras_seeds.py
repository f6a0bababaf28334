"""The MIRAS demo (configs/uma_miras_demo_ce.yaml, arch=miras) over seeds (issue 28): runs already
trained, read at their last checkpoint. Trains nothing.

    OMP_NUM_THREADS=1 nice -n 10 python bench/uma_miras_seeds.py --store DIR [--match arch=miras] [--json F]

Over the matched runs (seeds), mean ± sd (min–max):
- per prime, accuracy on all p^2 pairs (prime_sweep) and split by the wrap: pairs with a + b < p
  and pairs with a + b >= p (from the checkpoint's model on the probe), beside chance 1/p and the
  raw-sum baseline (p + 1) / (2p), the accuracy of a model that answers a + b (right on exactly
  the no-wrap pairs);
- per prime >= 11, the last MLP's neurons with the "Fourier on Z_p" verdict (modular_sum_signal)
  and the study's SNR beside its null's 99th percentile and its neuron's wrap score (study_snr);
- neuron_adaptation: neurons that are Z_p features at half the decided primes or more;
- the study's adaptation measure (adaptation_overlap) at the last checkpoint and at epoch 0 (the
  untrained network: how much overlap neuron scale alone gives), against its random-subset chance,
  and the trained pairs of primes >= 5 outside the central 95% of the analyzer's random null
  (untrained networks of the run's shape, computed by the pipeline).
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import torch

import workbench
from workbench.core.nulls import null_band
from workbench.store import ArraysRef
from uma_study_measures import GROUPS, _cell  # noqa: E402  (bench/ is the script's directory)

ANALYZERS = "prime_sweep,modular_sum_signal,neuron_adaptation,study_snr,adaptation_overlap"


@torch.no_grad()
def wrap_accuracy(v, epoch: int, primes: list[int]) -> tuple[list[float], list[float]]:
    """Per prime: accuracy on the pairs with a + b < p and on those with a + b >= p."""
    params = v.variant.params
    probe = v.variant.family.probe(params)
    model = v.at(epoch).model()
    pred = torch.cat([model(x)[:, -1].argmax(-1) for x in probe.inputs.split(8192)])
    x, right = probe.inputs, pred == probe.labels
    no_wrap, wrap = [], []
    for p in primes:
        rows = x[:, 0] == p
        low = rows & (x[:, 1] + x[:, 2] < p)
        no_wrap.append(float(right[low].double().mean()))
        wrap.append(float(right[rows & ~low].double().mean()) if (rows & ~low).any() else float("nan"))
    return no_wrap, wrap


def _overlap_summary(a: dict) -> dict:
    """Mean pairwise overlap within seen primes and from seen to unseen / extrapolation (primes >= 5), and the sets."""
    g, big = a["group"], a["primes"] >= 5
    pair = {}
    for name, other in (("seen-seen", 0), ("seen-unseen", 1), ("seen-extrapolation", 2)):
        rows, cols = np.flatnonzero(big & (g == 0)), np.flatnonzero(big & (g == other))
        block = a["overlap"][np.ix_(rows, cols)]
        pvals = a["overlap_p"][np.ix_(rows, cols)]
        off = ~np.equal.outer(rows, cols)
        pair[name] = (float(block[off].mean()), float((pvals[off] <= 0.01).mean())) if off.any() else (np.nan, np.nan)
    sets = {str(n): (float(i), float(c), float(q)) for n, i, c, q in
            zip(a["set_names"], a["intersection"], a["set_chance"], a["set_null_q99"])}
    return {"k": int(a["k"]), "chance": float(a["chance"][0, 1]), "pairs": pair, "sets": sets}


def versus_untrained(v, a: dict) -> tuple[int, int, int]:
    """(pairs above, pairs below, pairs) of primes >= 5: trained overlap against the random null's central 95%."""
    null = v.store.read_arrays(v.key, ArraysRef("adaptation_overlap", null=True))["overlap"]
    lo, hi = null_band(null)
    big = a["primes"] >= 5
    pairs = np.triu(np.outer(big, big), 1)
    return int((a["overlap"] > hi)[pairs].sum()), int((a["overlap"] < lo)[pairs].sum()), int(pairs.sum())


def measure(info, store: str) -> dict:
    """Analyze one run's last checkpoint (and epoch 0 for the overlap control) and read it."""
    v = info.open(store)
    last = v.epochs[-1]
    workbench.analyze(v, analyzers=ANALYZERS, epochs=f"{last}:{last + 1}:1", quiet=True)
    workbench.analyze(v, analyzers="adaptation_overlap", epochs="0:1:1", quiet=True)
    at = v.at(last)
    sweep, sig, snr = (at.arrays(n) for n in ("prime_sweep", "modular_sum_signal", "study_snr"))
    adapt = at.arrays("neuron_adaptation")
    primes = sweep["primes"].tolist()
    no_wrap, wrap = wrap_accuracy(v, last, primes)
    top = np.argsort(-np.nan_to_num(sig["fit_r2"], nan=-1), axis=1)[:, :8]
    top_wrap = np.take_along_axis(sig["wrap"], top, 1)  # all NaN below p = 5
    top_wrap = [float(np.median(w[np.isfinite(w)])) if np.isfinite(w).any() else float("nan") for w in top_wrap]
    return {"spec": info.spec, "epoch": int(last), "primes": primes, "group": sweep["group"].tolist(),
            "accuracy": sweep["accuracy"].astype(float).tolist(), "no_wrap": no_wrap, "wrap": wrap,
            "zp_neurons": np.nansum(sig["zp_fourier"], 1).astype(int).tolist(),
            "zp_decided": np.isfinite(sig["zp_fourier"]).all(1).tolist(),
            "top_wrap": top_wrap,
            **{f"snr_{k}": snr[k].astype(float).tolist() for k in ("snr", "snr_null_q99", "snr_p", "wrap")},
            "zp_majority": int((np.nan_to_num(adapt["zp_share"]) >= 0.5).sum()),
            "zp_any": int((np.nan_to_num(adapt["zp_share"]) > 0).sum()),
            "overlap": _overlap_summary(at.arrays("adaptation_overlap")),
            "vs_untrained": versus_untrained(v, at.arrays("adaptation_overlap")),
            "overlap_init": _overlap_summary(v.at(0).arrays("adaptation_overlap"))}


def accuracy_table(rows: list[dict]) -> str:
    get = {k: np.array([r[k] for r in rows], dtype=float) for k in ("accuracy", "no_wrap", "wrap")}
    out = ["| p | group | accuracy | a+b < p | a+b ≥ p | raw-sum baseline | chance |", "|---|---|---|---|---|---|---|"]
    for j, (p, g) in enumerate(zip(rows[0]["primes"], rows[0]["group"])):
        out.append(f"| {p} | {GROUPS[g]} | {_cell(get['accuracy'][:, j])} | {_cell(get['no_wrap'][:, j])} | "
                   f"{_cell(get['wrap'][:, j])} | {(p + 1) / (2 * p):.3f} | {1 / p:.3f} |")
    return "\n".join(out)


def neuron_table(rows: list[dict]) -> str:
    get = {k: np.array([r[k] for r in rows], dtype=float) for k in
           ("zp_neurons", "top_wrap", "snr_snr", "snr_snr_null_q99", "snr_snr_p", "snr_wrap")}
    out = ["| p | group | Z_p neurons | top-8 median wrap | study SNR | SNR null q99 | runs SNR p ≤ 0.01 | SNR neuron wrap |",
           "|---|---|---|---|---|---|---|---|"]
    for j, (p, g) in enumerate(zip(rows[0]["primes"], rows[0]["group"])):
        if not rows[0]["zp_decided"][j]:
            continue
        beat = int(np.nansum(get["snr_snr_p"][:, j] <= 0.01))
        out.append(f"| {p} | {GROUPS[g]} | {_cell(get['zp_neurons'][:, j])} | {_cell(get['top_wrap'][:, j])} | "
                   f"{_cell(get['snr_snr'][:, j])} | {_cell(get['snr_snr_null_q99'][:, j])} | {beat}/{len(rows)} | "
                   f"{_cell(get['snr_wrap'][:, j])} |")
    out.append("neurons Z_p at >= half the decided primes (neuron_adaptation): "
               + ", ".join(str(r["zp_majority"]) for r in rows) + "; at >= 1 prime: " + ", ".join(str(r["zp_any"]) for r in rows))
    return "\n".join(out)


def overlap_table(rows: list[dict]) -> str:
    first = rows[0]["overlap"]
    out = [f"top-{first['k']} overlap; random-subset chance {first['chance']:.1f} per pair",
           "| measure | trained (last checkpoint) | untrained (epoch 0) | chance | null q99 |", "|---|---|---|---|---|"]
    for name in first["pairs"]:
        cells = [_cell(np.array([r[w]["pairs"][name][0] for r in rows])) for w in ("overlap", "overlap_init")]
        share = np.mean([r["overlap"]["pairs"][name][1] for r in rows])
        out.append(f"| mean pair overlap {name} ({share:.0%} of pairs p ≤ 0.01) | {cells[0]} | {cells[1]} | "
                   f"{first['chance']:.1f} | — |")
    for name, (_, chance, q99) in first["sets"].items():
        cells = [_cell(np.array([r[w]["sets"][name][0] for r in rows])) for w in ("overlap", "overlap_init")]
        out.append(f"| common intersection: {name} | {cells[0]} | {cells[1]} | {chance:.2f} | {q99:.0f} |")
    out.append("trained pairs above / below the untrained networks' central 95% (random null), per run: "
               + ", ".join(f"{up} / {down} of {n}" for up, down, n in (r["vs_untrained"] for r in rows)))
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", required=True)
    ap.add_argument("--match", default="arch=miras", help="only runs whose spec contains every comma-separated piece")
    ap.add_argument("--json", help="write the per-run numbers here")
    args = ap.parse_args()
    torch.set_num_threads(1)
    pieces = [m for m in args.match.split(",") if m]
    runs = [r for r in workbench.list_runs(args.store) if all(m in r.spec for m in pieces)]
    if not runs:
        raise SystemExit(f"no run in {args.store} matches {args.match!r}")
    rows = [measure(r, args.store) for r in runs]
    print("\n".join(f"{r['spec']} at epoch {r['epoch']}" for r in rows))
    print(accuracy_table(rows), neuron_table(rows), overlap_table(rows), sep="\n\n")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f)


if __name__ == "__main__":
    main()
