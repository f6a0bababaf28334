"""Parameter trajectories of a run group on one shared PCA basis, with each run's loop geometry.

Each run's own PCA (param_pca) has its own axes, so its loops cannot be laid beside another
run's. Here one basis is fitted to every run's param_snapshot rows together
(workbench.core.trajectory_geometry.shared_pca) and each run is projected on it; its PC2/PC3
path (as param_pca reads its own: PC1 is mostly the drift of the weights' norm) is then
read for self-crossings, where they are (the epochs of the two crossing segments' starts)
and the area its loops enclose per unit of path length, all in the shared basis's units.

Runs may have different checkpoints: per-run rows are padded with NaN to the longest run.

The basis compares runs that share an initialization (data seed, learning rate or schedule
varied). Runs of different model seeds move in nearly orthogonal directions of weight space
(bench/RESULTS.md, issue 25: |cos| <= 0.006 between five p=53 seeds' first components), so
there the shared components separate the runs and their loops vanish from PC2/PC3.
"""

from __future__ import annotations

import numpy as np

from workbench.core.trajectory_geometry import loop_geometry, shared_pca
from workbench.core.analyzer import register_analyzer
from workbench.core.context import GroupContext

N_PCS = 3


@register_analyzer("group_trajectories", kind="trajectory", scope="group", requires=("param_snapshot",), outputs={
    "runs": ("run",), "epochs": ("run", "epoch"), "scores": ("run", "epoch", "component"),
    "explained_variance": ("component",), "self_intersects": ("run",), "n_crossings": ("run",),
    "crossing_run": ("crossing",), "crossing_epochs": ("crossing", "end"), "crossing_points": ("crossing", "coord"),
    "loop_area": ("run",), "path_length": ("run",), "area_per_length": ("run",)},
    kinds={"runs": "label", "self_intersects": "bool", "n_crossings": "int", "crossing_run": "int",
           "crossing_epochs": "epoch"})
def group_trajectories(ctx: GroupContext) -> dict[str, np.ndarray]:
    """Every run's parameter trajectory on one shared PCA basis; self-crossings and loop area of each PC2/PC3 path."""
    basis = shared_pca([a["flat"] for a in ctx.artifacts("param_snapshot")], N_PCS)
    longest = max(len(e) for e in ctx.epochs)
    epochs = np.full((len(ctx.runs), longest), np.nan)
    scores = np.full((len(ctx.runs), longest, N_PCS), np.nan, dtype=np.float32)
    geo = [loop_geometry(s[:, 1:3]) for s in basis.scores]
    crossing_run, crossing_epochs, points = [], [], []
    for r, (e, s, g) in enumerate(zip(ctx.epochs, basis.scores, geo)):
        epochs[r, : len(e)], scores[r, : len(e)] = e, s
        for (i, j), x in zip(g.crossings, g.points):
            crossing_run.append(r)
            crossing_epochs.append((e[i], e[j]))
            points.append(x)
    return {
        "runs": np.array(ctx.runs, dtype=np.str_), "epochs": epochs, "scores": scores,
        "explained_variance": basis.explained, "self_intersects": np.array([g.self_intersects for g in geo]),
        "n_crossings": np.array([len(g.crossings) for g in geo], dtype=np.int64),
        "crossing_run": np.array(crossing_run, dtype=np.int64),
        "crossing_epochs": np.array(crossing_epochs, dtype=np.float64).reshape(-1, 2),
        "crossing_points": np.array(points, dtype=np.float64).reshape(-1, 2),
        "loop_area": np.array([g.loop_area for g in geo]), "path_length": np.array([g.length for g in geo]),
        "area_per_length": np.array([g.area_per_length for g in geo]),
    }
