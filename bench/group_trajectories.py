"""A run group's parameter trajectories on one shared PCA basis vs each run's own (issue 25 item 5).

Usage: python bench/group_trajectories.py VARIANT [VARIANT ...] [--store DIR]

Runs the group_trajectories analyzer over the given runs (each needs param_snapshot at every
checkpoint: `workbench analyze VARIANT --analyzers param_snapshot`) and prints, per run, its
PC2/PC3 loop geometry on the shared basis and on its own PCA: self-crossings (and the epochs
of the first), loop area, path length and area per unit length, and the share of variance
the first three components explain in each.
"""

from __future__ import annotations

import argparse

import numpy as np

import analyzers  # noqa: F401  (registers the built-in analyzers)
from workbench.core.trajectory_geometry import loop_geometry, shared_pca
from workbench.analysis.group import analyze_group
from workbench.core.variant import parse_variant
from workbench.store import RunKey, Store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("variants", nargs="+")
    parser.add_argument("--store", default=None)
    args = parser.parse_args()
    store = Store(args.store)
    result = analyze_group(store, args.variants, analyzers="group_trajectories", force=True)
    out = store.read_group_artifact(result.group, "group_trajectories")
    print(f"group {result.group}: shared basis explains {np.round(out['explained_variance'], 3).tolist()}; "
          f"left out: {dict(zip(out['left_out_runs'], out['left_out_why'])) or 'none'}")
    print("| run | basis | crossings | first crossing (epochs) | loop area | path length | area / length |")
    print("|---|---|---|---|---|---|---|")
    for r, spec in enumerate(out["runs"]):
        key = RunKey(*parse_variant(str(spec)).key)
        flat = np.stack([store.read_artifact(key, "param_snapshot", e)["flat"] for e in store.checkpoint_epochs(key)])
        own = loop_geometry(shared_pca([flat], 3).scores[0][:, 1:3])
        first = out["crossing_epochs"][out["crossing_run"] == r]
        seed = str(spec).split("seed=")[1].split(",")[0]
        shared = (int(out["n_crossings"][r]), out["loop_area"][r], out["path_length"][r], out["area_per_length"][r])
        mine = (len(own.crossings), own.loop_area, own.length, own.area_per_length)
        epochs = store.checkpoint_epochs(key)
        own_first = [(epochs[i], epochs[j]) for i, j in own.crossings[:1]]
        for name, (n, area, length, ratio), where in (("shared", shared, first[:1].tolist()), ("own", mine, own_first)):
            print(f"| seed {seed} | {name} | {n} | {where[0] if where else '-'} | {area:.4g} | {length:.4g} | {ratio:.4g} |")


if __name__ == "__main__":
    main()
