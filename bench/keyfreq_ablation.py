"""Issue 31: key-frequency ablation across training on the demo variant, with a random-frequency control.

For each seed's run (trained beforehand with `workbench train --seeds 0,1,2` into STORE), the
`interventions` analyzer runs twice over every checkpoint: with the run's key frequencies
(fixed at its final checkpoint, the paper rule) and with as many frequencies drawn at random
from the others (numpy seed = the run's seed). Prints a markdown table of test accuracy
(mean ± std over the seeds) at a few epochs for: the unedited model, keep-only and remove in
the neurons, the logits and W_E. An existing default run's summary is read as it is; after the
control the default options run again, so the store holds them.

    OMP_NUM_THREADS=1 nice -n 10 python bench/keyfreq_ablation.py /tmp/interv-store 0,1,2

With --variant TEMPLATE and --epochs E1,E2,... it reads the per-checkpoint `interventions`
artifacts at those epochs only (no trajectory, which needs every checkpoint), e.g. the canonical
variant's seeds, each run's keys fixed at its last checkpoint:

    python bench/keyfreq_ablation.py /work/store 1000,1001 --variant "modular_addition:seed={seed}" \
        --epochs 0,4000,6000,8000,12000,17000
"""

from __future__ import annotations

import argparse

import numpy as np

from workbench.analysis.pipeline import analyze
from workbench.core.variant import parse_variant
from workbench.store import RunKey, Store

DEMO = "modular_addition:p=53,seed={seed},data_seed=598,frac_train=0.4,lr=0.003,weight_decay=1.0"
WANT = "interventions,intervention_trajectory"
EPOCHS = (0, 500, 1000, 1500, 2000, 3500)
EDITS = ("none", "neurons keep only key", "neurons remove key", "logits keep only key", "logits remove key",
         "W_E keep only key", "W_E remove key")


def trajectory(store: Store, spec: str, options: dict | None) -> dict:
    analyze(spec, store, analyzers=WANT, options=options, force=True, quiet=True, jobs=1)
    return store.read_summary(RunKey(*parse_variant(spec).key), "intervention_trajectory")


def control_keys(keys: np.ndarray, p: int, seed: int) -> list[int]:
    """As many frequencies as `keys`, drawn from the others."""
    others = sorted(set(range(1, (p - 1) // 2 + 1)) - set(int(k) for k in keys))
    return sorted(int(k) for k in np.random.default_rng(seed).choice(others, size=len(keys), replace=False))


def at_epochs(store: Store, spec: str, options: dict | None, epochs: tuple[int, ...]) -> dict:
    """The `interventions` artifacts at `epochs`, stacked as the trajectory summary stacks them."""
    analyze(spec, store, analyzers="interventions", epochs=",".join(map(str, epochs)), options=options, force=True,
            quiet=True, jobs=1)
    key = RunKey(*parse_variant(spec).key)
    arts = [store.read_artifact(key, "interventions", e) for e in epochs]
    return {"epochs": np.asarray(epochs), "edit_names": arts[0]["edit_names"], "key_freqs": arts[0]["key_freqs"],
            "test_acc": np.stack([a["test_acc"] for a in arts])}


def rows(results: list[dict], label: str, epochs: tuple[int, ...] = EPOCHS) -> list[str]:
    out = []
    for edit in EDITS:
        cells = []
        for epoch in epochs:
            acc = [r["test_acc"][list(r["epochs"]).index(epoch), list(r["edit_names"]).index(edit)] for r in results]
            cells.append(f"{np.mean(acc):.2f} ± {np.std(acc, ddof=1):.2f}" if len(acc) > 1 else f"{acc[0]:.2f}")
        out.append(f"| {label} | {edit} | " + " | ".join(cells) + " |")
    return out


def main(root: str, seeds: str, template: str = DEMO, epochs: tuple[int, ...] | None = None) -> None:
    store = Store(root)
    keyed, control = [], []
    for seed in (int(s) for s in seeds.split(",")):
        spec = template.format(seed=seed)
        key = RunKey(*parse_variant(spec).key)
        p = int(store.read_variant(key).params.p)
        if epochs is not None:
            run = lambda options: at_epochs(store, spec, options, epochs)  # noqa: E731
        else:
            run = lambda options: trajectory(store, spec, options)  # noqa: E731
        keyed.append(store.read_summary(key, "intervention_trajectory") if epochs is None and
                     store.has_summary(key, "intervention_trajectory") else run(None))
        keys = keyed[-1]["key_freqs"]
        drawn = control_keys(keys, p, seed)
        print(f"seed {seed}: key frequencies {keys.tolist()}, control {drawn}", flush=True)
        control.append(run({"key_freqs": drawn}))
        run(None)  # leave the default artifacts in the store
    shown = epochs or EPOCHS
    print("| frequencies | edit | " + " | ".join(f"epoch {e}" for e in shown) + " |")
    print("|---|---|" + "---|" * len(shown))
    print("\n".join(rows(keyed, "key", shown) + rows(control, "random control", shown)))


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("store")
    ap.add_argument("seeds", help="model seeds, comma-separated")
    ap.add_argument("--variant", default=DEMO, help="the variant, with {seed} for the model seed (default: the demo's)")
    ap.add_argument("--epochs", help="only these checkpoints, comma-separated (reads the per-checkpoint artifacts)")
    a = ap.parse_args()
    main(a.store, a.seeds, a.variant, tuple(int(e) for e in a.epochs.split(",")) if a.epochs else None)
