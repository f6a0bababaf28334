"""Issue 31: key-frequency ablation across training on the demo variant, with a random-frequency control.

For each seed's run (trained beforehand with `workbench train --seeds 0,1,2` into STORE), the
`interventions` analyzer runs twice over every checkpoint: with the run's key frequencies
(fixed at its final checkpoint, the paper rule) and with as many frequencies drawn at random
from the others (numpy seed = the run's seed). Prints a markdown table of test accuracy
(mean ± std over the seeds) at a few epochs for: the unedited model, keep-only and remove in
the neurons, the logits and W_E. An existing default run's summary is read as it is; after the
control the default options run again, so the store holds them.

    OMP_NUM_THREADS=1 nice -n 10 python bench/keyfreq_ablation.py /tmp/interv-store 0,1,2
"""

from __future__ import annotations

import sys

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


def rows(results: list[dict], label: str) -> list[str]:
    out = []
    for edit in EDITS:
        cells = []
        for epoch in EPOCHS:
            acc = [r["test_acc"][list(r["epochs"]).index(epoch), list(r["edit_names"]).index(edit)] for r in results]
            cells.append(f"{np.mean(acc):.2f} ± {np.std(acc, ddof=1):.2f}" if len(acc) > 1 else f"{acc[0]:.2f}")
        out.append(f"| {label} | {edit} | " + " | ".join(cells) + " |")
    return out


def main(root: str, seeds: str) -> None:
    store = Store(root)
    keyed, control = [], []
    for seed in (int(s) for s in seeds.split(",")):
        spec = DEMO.format(seed=seed)
        key = RunKey(*parse_variant(spec).key)
        keyed.append(store.read_summary(key, "intervention_trajectory") if store.has_summary(key, "intervention_trajectory")
                     else trajectory(store, spec, None))
        keys = keyed[-1]["key_freqs"]
        drawn = control_keys(keys, 53, seed)
        print(f"seed {seed}: key frequencies {keys.tolist()}, control {drawn}", flush=True)
        control.append(trajectory(store, spec, {"key_freqs": drawn}))
        trajectory(store, spec, None)  # leave the default artifacts in the store
    print("| frequencies | edit | " + " | ".join(f"epoch {e}" for e in EPOCHS) + " |")
    print("|---|---|" + "---|" * len(EPOCHS))
    print("\n".join(rows(keyed, "key") + rows(control, "random control")))


if __name__ == "__main__":
    main(*sys.argv[1:3])
