"""Several runs' parameter trajectories on one shared PCA basis, for a figure.

`shared_paths(store, keys)` projects every run's param_snapshot rows on one basis fitted to
all of them (`workbench.core.trajectory_geometry.shared_pca`) and reads each run's PC2/PC3
path for self-crossings (`loop_geometry`), as the group_trajectories analyzer does. Where
that analyzer's artifact over exactly these runs is up to date
(`workbench analyze --group ...`) it is read; otherwise the basis is computed here.

A basis needs one parameter space: runs are split by parameter count (p=53 and p=59 runs
cannot share axes) and each part gets its own basis. A run without param_snapshot at every
checkpoint is left out, with the reason.

What a shared basis means depends on the runs: runs that share a model seed (data seeds,
fractions, learning rates varied) start at one point and their loops compare; runs of
different model seeds move in nearly orthogonal directions, so the basis mostly separates
them (bench/RESULTS.md, issue 25).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from workbench.analysis.group import current_group_artifact, missing_requirement
from workbench.core.trajectory_geometry import loop_geometry, shared_pca
from workbench.store import RunKey, Store

__all__ = ["RunPath", "Basis", "SharedPaths", "shared_paths", "N_PCS"]

N_PCS = 3
ANALYZER = "group_trajectories"


@dataclass(frozen=True)
class RunPath:
    """One run on a shared basis."""

    key: RunKey
    epochs: np.ndarray  # [epoch]
    scores: np.ndarray  # [epoch, N_PCS]
    crossing_epochs: np.ndarray  # [crossing, 2]: the epochs starting the two segments that cross
    crossing_points: np.ndarray  # [crossing, 2]: where, on PC2/PC3
    area_per_length: float  # loop area / path length on PC2/PC3


@dataclass(frozen=True)
class Basis:
    """Runs of one parameter space on their shared basis."""

    runs: list[RunPath]
    explained: np.ndarray  # [N_PCS] share of the pooled variance
    source: str  # "artifact" (group_trajectories) or "computed"


@dataclass
class SharedPaths:
    bases: list[Basis] = field(default_factory=list)
    left_out: dict[RunKey, str] = field(default_factory=dict)  # run -> why it is on no basis


def _from_artifact(keys: list[RunKey], arrays: dict[str, np.ndarray]) -> Basis:
    by_spec = {f"{k.family}:{k.variant}": k for k in keys}
    runs = []
    for r, spec in enumerate(str(s) for s in arrays["runs"]):
        ok = ~np.isnan(arrays["epochs"][r])
        mine = arrays["crossing_run"] == r
        runs.append(RunPath(by_spec.get(spec) or RunKey(*spec.split(":", 1)), arrays["epochs"][r][ok],
                            arrays["scores"][r][ok].astype(float), arrays["crossing_epochs"][mine],
                            arrays["crossing_points"][mine], float(arrays["area_per_length"][r])))
    return Basis(runs, np.asarray(arrays["explained_variance"], float), "artifact")


def _computed(keys: list[RunKey], epochs: list[np.ndarray], flats: list[np.ndarray]) -> Basis:
    basis = shared_pca(flats, N_PCS)
    runs = []
    for key, e, s in zip(keys, epochs, basis.scores):
        geo = loop_geometry(s[:, 1:3])
        runs.append(RunPath(key, e, s, e[geo.crossings].reshape(-1, 2).astype(float), geo.points,
                            geo.area_per_length))
    return Basis(runs, basis.explained, "computed")


def _spec(key: RunKey) -> str:
    return f"{key.family}:{key.variant}"


def shared_paths(store: Store, keys: list[RunKey]) -> SharedPaths:
    """The runs `keys` on shared bases (one per parameter count), and the runs left out with why."""
    out = SharedPaths()
    parts: dict[int, list[tuple[RunKey, np.ndarray, np.ndarray]]] = {}
    for key in keys:
        why = missing_requirement(store, key, ("param_snapshot",))
        if why:
            out.left_out[key] = why + " (run: workbench analyze --analyzers param_snapshot)"
            continue
        epochs = np.array(store.checkpoint_epochs(key))
        flat = np.stack([store.read_artifact(key, "param_snapshot", int(e), keys=("flat",))["flat"] for e in epochs])
        parts.setdefault(flat.shape[1], []).append((key, epochs, flat))
    for members in parts.values():
        stored = current_group_artifact(store, [_spec(k) for k, _, _ in members], ANALYZER)
        if stored is not None and len(stored["runs"]) == len(members):
            out.bases.append(_from_artifact([k for k, _, _ in members], stored))
        else:
            out.bases.append(_computed(*map(list, zip(*members))))
    return out
