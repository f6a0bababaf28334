"""A run's measures against their declared nulls (issue 25 item 3): value, null draws, percentile.

Usage: python bench/nulls.py VARIANT [--store DIR]

Reads, through the Store, the last analyzed checkpoint of each analyzer that declares a null
and its null artifact (`workbench analyze` writes both), and prints each null output's value,
the null's median and central 95% (over its draws) and the value's percentile. Vector
outputs are summarized: per-neuron fractions as their mean over live neurons and the share
of neurons above their own null's 97.5th percentile; per-matrix ratios per matrix.
"""

from __future__ import annotations

import argparse

import numpy as np

import analyzers  # noqa: F401  (registers the built-in analyzers)
from workbench.core.analyzer import get_analyzer, list_analyzers
from workbench.core.nulls import null_band, null_percentile
from workbench.core.variant import parse_variant
from workbench.store import RunKey, Store


def _row(label: str, value: float, draws: np.ndarray) -> str:
    lo, hi = null_band(draws)
    pct = float(null_percentile(value, draws))
    return (f"| {label} | {value:.4g} | {float(np.nanmedian(draws)):.4g} | {float(lo):.4g} to {float(hi):.4g} "
            f"| {len(draws)} | {pct:.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("variant")
    parser.add_argument("--store", default=None)
    args = parser.parse_args()
    store, key = Store(args.store), RunKey(*parse_variant(args.variant).key)
    print("| measure | value | null median | null 95% | draws | percentile |")
    print("|---|---|---|---|---|---|")
    for name in list_analyzers(scope="epoch"):
        spec = get_analyzer(name)
        epochs = store.artifact_epochs(key, name)
        if spec.null is None or not epochs:
            continue
        out, null = store.read_artifact(key, name, epochs[-1]), store.read_null(key, name)
        kind = str(null["null_kind"])
        for o in spec.null_outputs:
            value, draws = np.asarray(out[o], dtype=np.float64), null[o].astype(np.float64)
            if value.ndim == 0:
                print(_row(f"{name}.{o} ({kind}, epoch {epochs[-1]})", float(value), draws))
            elif "matrix_names" in out:
                for i, m in enumerate(out["matrix_names"]):
                    print(_row(f"{name}.{o} {m} ({kind})", float(value[i]), draws[:, i]))
            else:
                live = np.isfinite(value)
                above = np.mean(value[live] > null_band(draws[:, live])[1])
                print(f"| {name}.{o}: neurons above their null's 97.5th pct ({kind}) | {above:.3f} of "
                      f"{int(live.sum())} | | | {len(draws)} | |")


if __name__ == "__main__":
    main()
