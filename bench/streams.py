"""Issue 29: the study's four conditions (clamps on the constrained model) for both architectures, with seeds.

    python bench/streams.py run --arch study|causal --seeds 0-2 [--steps N] [--site SITE] [--store DIR] [--size k=v,...]
    python bench/streams.py leak --seeds 0-2 [--steps N] [--store DIR]     # arch=study control with the mask
    python bench/streams.py table [--store DIR] [--size k=v,...] [--steps N]

`run` trains per seed the control, then the constraint (frozen attention), then the naive
and mean-preserving clamps on the constrained model, each calibrated at the clamp site
(final_ln_out, the study's) from the control of the same seed. Seed s sets both the init
(seed) and the data stream (data_seed), so the conditions of one seed are paired.
`table` prints, per arch and condition, the last evaluation's accuracies and statistics as
mean [min, max] over the seeds found, plus the per-seed paired ratios the study predicts.
Training is the study's recipe (Adam, no weight decay, betas 0.9/0.999) at lr 3e-3 (the
study's 1e-3 learns too little in a CPU demo's steps). Bad input: one line, exit 2.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analyzers.attention_offsets import next_mass  # noqa: E402
from families.interleaved_streams import calibrated_spec, calibration_control  # noqa: E402
from workbench.core.errors import UserError  # noqa: E402
from workbench.core.variant import parse_variant  # noqa: E402
from workbench.store import RunKey, Store  # noqa: E402
from workbench.training.trainer import plan_training, train  # noqa: E402

SIZE = "vocab_size=128,seq_len=64,n_val_seqs=128,d_model=32"  # CPU demo (study: 4096, 128, 40/80/128)
RECIPE = {"lr": 3e-3}  # data=fresh runs take the study's recipe (Adam, no weight decay) but this lr
CONDITIONS = {"control": "", "constraint": ",constraint=frozen",
              "naive": ",constraint=frozen,clamp=naive",  # site: final_ln_out
              "mean": ",constraint=frozen,clamp=mean"}
COLUMNS = ("acc_all", "acc_pred", "last_acc", "A_final", "s2tok_final", "A_study", "s2tok_study")


def base(arch: str, seed: int, size: str, mask: bool = False) -> str:
    extra = ",attn_mask=causal" if mask else ""
    return (f"interleaved_streams:{size},arch={arch}{extra},data=fresh,patterns=study_2_7,scoring=all,"
            f"seed={seed},data_seed={seed}")


def _train(spec: str, store: Store, steps: int) -> float:
    variant = parse_variant(spec, recipe=RECIPE)
    plan = plan_training(variant, store, epochs=steps, schedule=f"0:{steps + 1}:{steps // 4}", eval_every=steps // 4)
    t0 = time.perf_counter()
    if plan.start_epoch < plan.epochs or plan.fresh:
        train(plan, store, quiet=True)
    return time.perf_counter() - t0


def _calibrated(spec: str, store: Store) -> str:
    control = calibration_control(spec)
    key = RunKey(*parse_variant(control.spec, recipe=RECIPE).key)
    done = store.read_record(key) if store.exists(key) else None
    if done is None:
        raise UserError(f"control run {control.spec} is missing in {store.root}; train it first")
    return calibrated_spec(spec, store.load_checkpoint(key, done.epochs))


def conditions(site: str | None) -> dict[str, str]:
    """The four conditions' params; `site` moves both clamps (default: final_ln_out, the study's)."""
    extra = f",clamp_site={site}" if site else ""
    return {k: v + extra if "clamp=" in v else v for k, v in CONDITIONS.items()}


def run(store: Store, arch: str, seeds: list[int], steps: int, size: str, site: str | None = None) -> None:
    for seed in seeds:
        for name, axes in conditions(site).items():
            spec = base(arch, seed, size) + axes
            if "clamp=" in axes:
                spec = _calibrated(spec, store)
            print(f"{arch} seed {seed} {name}: {_train(spec, store, steps):.0f} s", flush=True)


def _last(store: Store, spec: str) -> dict[str, float] | None:
    key = RunKey(*parse_variant(spec, recipe=RECIPE).key)
    if not store.exists(key):
        return None
    metrics = store.read_metrics(key)
    return {k: float(metrics[k][-1]) for k in COLUMNS}


def _find(store: Store, arch: str, seed: int, size: str, name: str, site: str | None) -> dict[str, float] | None:
    spec = base(arch, seed, size) + conditions(site)[name]
    if "clamp=" in spec:
        try:
            spec = _calibrated(spec, store)
        except UserError:
            return None
    return _last(store, spec)


def _cell(values: list[float]) -> str:
    return f"{statistics.fmean(values):.3f} [{min(values):.3f}, {max(values):.3f}]" if values else "-"


def table(store: Store, size: str, seeds: list[int], site: str | None = None) -> str:
    lines = ["| arch | condition | n | " + " | ".join(COLUMNS) + " |", "|" + "---|" * (len(COLUMNS) + 3)]
    ratios = []
    for arch in ("study", "causal"):
        found = {name: {s: r for s in seeds if (r := _find(store, arch, s, size, name, site))} for name in CONDITIONS}
        for name, rows in found.items():
            cells = [_cell([r[c] for r in rows.values()]) for c in COLUMNS]
            lines.append(f"| {arch} | {name} | {len(rows)} | " + " | ".join(cells) + " |")
        paired = [s for s in seeds if all(s in found[n] for n in CONDITIONS)]
        for metric in ("last_acc", "acc_all"):
            con = lambda s: found["constraint"][s][metric]  # noqa: E731
            ratios.append(f"{arch}, {metric}: mean/constraint {_cell([found['mean'][s][metric] / con(s) for s in paired])}; "
                          f"naive - constraint {_cell([found['naive'][s][metric] - con(s) for s in paired])}; "
                          f"constraint - control {_cell([con(s) - found['control'][s][metric] for s in paired])}")
        ratios.append(f"{arch}, A at the last resid_post (study's site): constraint - control "
                      f"{_cell([found['constraint'][s]['A_study'] - found['control'][s]['A_study'] for s in paired])}")
    leak = [r for s in seeds if (r := _last(store, base("study", s, size, mask=True)))]
    lines.append(f"| study + causal mask | control | {len(leak)} | " +
                 " | ".join(_cell([r[c] for r in leak]) for c in COLUMNS) + " |")
    plus = [f"{name}: {_cell([m for s in seeds if (m := plus_one_mass(store, base(arch, s, size, mask))) is not None])}"
            for name, arch, mask in (("study control (no mask)", "study", False),
                                     ("study control + causal mask", "study", True), ("causal control", "causal", False))]
    return "\n".join(lines + ["", "Paired per seed, mean [min, max]:"] + [f"- {r}" for r in ratios] +
                     ["", "Attention mass on key q+1 (the query's own target), mean over heads and queries 0..T-2, "
                      "probe batch, final checkpoint:"] + [f"- {r}" for r in plus])


def plus_one_mass(store: Store, spec: str) -> float | None:
    """Mean attention probability on key q+1 over heads and queries 0..T-2 (the leak), or None."""
    variant = parse_variant(spec, recipe=RECIPE)
    key = RunKey(*variant.key)
    if not store.exists(key):
        return None
    family, params = variant.family, variant.params
    model = family.tl_model(params, store.load_checkpoint(key, store.read_record(key).epochs))
    with torch.no_grad():
        _, cache = model.run_with_cache(family.probe(params).inputs, names_filter=lambda n: n.endswith("hook_pattern"))
    return float(next_mass(cache["blocks.0.attn.hook_pattern"].numpy()).mean())  # the analyzer's measure


def _seeds(text: str) -> list[int]:
    lo, _, hi = text.partition("-")
    return list(range(int(lo), int(hi or lo) + 1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/streams.py")
    parser.add_argument("command", choices=("run", "leak", "table"))
    parser.add_argument("--arch", choices=("study", "causal"), default="study")
    parser.add_argument("--seeds", default="0-2")
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--size", default=SIZE, help="shared size params, k=v,...")
    parser.add_argument("--site", help="clamp_site of both clamps (default: final_ln_out)")
    parser.add_argument("--store", help="artifact store (default: $WORKBENCH_STORE or ./artifacts)")
    args = parser.parse_args(argv)
    try:
        store, seeds = Store(args.store), _seeds(args.seeds)
        if args.command == "run":
            run(store, args.arch, seeds, args.steps, args.size, args.site)
        elif args.command == "leak":
            for seed in seeds:
                print(f"leak seed {seed}: {_train(base('study', seed, args.size, mask=True), store, args.steps):.0f} s")
        else:
            print(table(store, args.size, seeds, args.site))
    except (UserError, ValueError) as err:
        print(f"streams: error: {' '.join(str(err).split())}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
