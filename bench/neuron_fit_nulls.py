"""The neuron fit of trained and untrained networks against both of its nulls (issue 25 item 3).

Usage: python bench/neuron_fit_nulls.py GROUP [--store DIR]

For each run of a seed group (GROUP: its spec, label or a --where clause, as `workbench report
--group` takes), reads through the Store neuron_freq_clusters' `mean_dominant_frac` at epoch 0
and at the last analyzed checkpoint, and its null artifact (a permutation null and a random
-network null, 16 draws each; `workbench analyze --analyzers neuron_freq_clusters` writes
them), and prints each value's percentile against each null and the nulls' ranges.
"""

from __future__ import annotations

import argparse

import numpy as np

import analyzers  # noqa: F401  (registers the built-in analyzers)
from workbench.core.nulls import null_field, null_percentile
from workbench.query.group_listing import find_group, run_name
from workbench.query.group_views import group_keys
from workbench.store import Store

NAME, OUT = "neuron_freq_clusters", "mean_dominant_frac"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("group")
    ap.add_argument("--store", default="artifacts")
    args = ap.parse_args()
    store = Store(args.store)
    g = find_group(store, args.group)
    print(f"{g.spec} (n={g.n})\n| run | epoch-0 fit | final fit | permutation null | random null "
          "| pctl epoch 0 (perm, random) | pctl final (perm, random) |\n|---|---|---|---|---|---|---|")
    finals, inits = [], []
    for key, spec in zip(group_keys(g), g.runs):
        last = store.artifact_epochs(key, NAME)[-1]
        init, final = (float(store.read_artifact(key, NAME, e)[OUT]) for e in (0, last))
        null = store.read_null(key, NAME)
        perm, rand = null[OUT], null[null_field(OUT, "random")]
        pct = [(float(null_percentile(v, perm)), float(null_percentile(v, rand))) for v in (init, final)]
        print(f"| {run_name(g, spec)} | {init:.4f} | {final:.4f} | {perm.min():.4f}-{perm.max():.4f} "
              f"| {rand.min():.4f}-{rand.max():.4f} | {pct[0][0]:.1f}, {pct[0][1]:.1f} | {pct[1][0]:.1f}, {pct[1][1]:.1f} |")
        finals.append(final)
        inits.append(init)
    print(f"final {np.mean(finals):.3f} ± {np.std(finals, ddof=1):.3f}; epoch 0 {np.mean(inits):.3f} ± "
          f"{np.std(inits, ddof=1):.3f} (mean ± std over the runs)")


if __name__ == "__main__":
    main()
