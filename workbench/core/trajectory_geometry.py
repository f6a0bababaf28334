"""Parameter trajectories of several runs on one basis, and the geometry of their loops.

Each run's own PCA (analyzers.param_pca) gives it its own axes and scale, so loop sizes and
self-intersections of two runs cannot be compared. `shared_pca` fits one basis to the
snapshots of all runs together (the rows of every run, centred on their pooled mean) and
projects each run on it; with one run it is that run's own PCA. `loop_geometry` reads a
projected 2-D path: where it crosses itself, and the area its loops enclose per unit of
path length, in the basis's units, so two runs on one basis compare.

Pure numpy, in the core so that both the group_trajectories analyzer and the compare page
(which computes a basis on the fly where that artifact is absent) use this one definition.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["shared_pca", "SharedBasis", "loop_geometry", "LoopGeometry"]

_RANK_TOL = 1e-10  # components below this fraction of the first's variance are numerical noise
_EPS = 1e-9  # crossings strictly inside both segments: relative to a segment's length


@dataclass(frozen=True)
class SharedBasis:
    """One PCA basis fitted to several runs' parameter snapshots."""

    mean: np.ndarray  # [param] the pooled mean
    components: np.ndarray  # [n, param] orthonormal directions (zero rows past the data's rank)
    explained: np.ndarray  # [n] each component's share of the pooled variance
    scores: list[np.ndarray]  # per run: [epoch, n] its snapshots projected on the components

    def project(self, flat: np.ndarray) -> np.ndarray:
        """[epoch, n] scores of another run's snapshots ([epoch, param]) on this basis."""
        return (np.asarray(flat, dtype=np.float64) - self.mean) @ self.components.T


def shared_pca(runs: list[np.ndarray], n: int = 3) -> SharedBasis:
    """Fit one PCA basis to the snapshots of every run and project each run on it.

    Uses the Gram matrix of all rows (runs x checkpoints are few, parameters many). Each
    component's sign is fixed so its largest-magnitude score over all runs is positive.

    Args:
        runs: per run, [epoch, param] flattened parameters (param_snapshot's `flat`, stacked);
            every run has the same parameter count.
        n: components kept (missing ones, past the rows' rank, are zero).

    Returns:
        The basis, its explained-variance ratios and each run's scores.
    """
    if not runs or len({r.shape[1] for r in runs}) != 1:
        raise ValueError(f"shared_pca needs runs of one parameter count, got {[r.shape for r in runs]}")
    x = np.concatenate([np.asarray(r, dtype=np.float64) for r in runs])  # [rows, param]
    mean = x.mean(axis=0)
    xc = x - mean
    evals, evecs = np.linalg.eigh(xc @ xc.T)  # ascending
    evals, evecs = np.clip(evals[::-1], 0, None), evecs[:, ::-1]
    m = min(n, int(np.sum(evals > _RANK_TOL * max(evals[0], 1e-300))))
    components = np.zeros((n, x.shape[1]))
    components[:m] = (evecs[:, :m] / np.sqrt(evals[:m])).T @ xc  # V = Xᵀ U / s, rows orthonormal
    scores = xc @ components.T  # [rows, n]
    peak = scores[np.argmax(np.abs(scores), axis=0), np.arange(n)]
    flip = np.where(peak < 0, -1.0, 1.0)
    components *= flip[:, None]
    scores *= flip
    explained = np.zeros(n)
    if evals.sum() > 0:
        explained[:m] = evals[:m] / evals.sum()
    bounds = np.cumsum([0] + [len(r) for r in runs])
    return SharedBasis(mean, components, explained, [scores[a:b] for a, b in zip(bounds[:-1], bounds[1:])])


@dataclass(frozen=True)
class LoopGeometry:
    """Where a 2-D path crosses itself and how much area its loops enclose."""

    crossings: np.ndarray  # [crossing, 2] int: the (earlier, later) segment indices that cross
    points: np.ndarray  # [crossing, 2] where they cross
    loop_area: float  # total area of the loops the path closes (each loop's absolute area)
    length: float  # the path's length

    @property
    def self_intersects(self) -> bool:
        return len(self.crossings) > 0

    @property
    def area_per_length(self) -> float:
        """Loop area over path length (a length in the basis's units; NaN for a path of no length)."""
        return self.loop_area / self.length if self.length > 0 else float("nan")


def _shoelace(poly: list[np.ndarray]) -> float:
    p = np.asarray(poly)
    return 0.5 * abs(float(np.dot(p[:, 0], np.roll(p[:, 1], -1)) - np.dot(p[:, 1], np.roll(p[:, 0], -1))))


def _crossing(a, b, c, d) -> tuple[float, np.ndarray] | None:
    """(t, point) where segment a->b properly crosses c->d (strictly inside both), else None."""
    r, s, q = b - a, d - c, c - a
    den = r[0] * s[1] - r[1] * s[0]
    if abs(den) <= _EPS * np.linalg.norm(r) * np.linalg.norm(s):
        return None  # parallel or degenerate: touching and overlaps do not count
    t = (q[0] * s[1] - q[1] * s[0]) / den
    u = (q[0] * r[1] - q[1] * r[0]) / den
    return (t, a + t * r) if _EPS < t < 1 - _EPS and _EPS < u < 1 - _EPS else None


def loop_geometry(path: np.ndarray) -> LoopGeometry:
    """Self-crossings of a 2-D polyline and the area of the loops it closes.

    The path is walked segment by segment; where a segment crosses an earlier kept segment,
    the loop between the two is cut out at the crossing (its absolute area counted, the
    crossing recorded) and the walk goes on from the crossing point. A path that ends where it
    began closes one more loop. So a figure-eight crosses once and encloses both lobes, a
    circle crosses nowhere and encloses its disc, an open arc encloses nothing.

    Args:
        path: [point, 2] vertices in order (e.g. a run's scores on PC2/PC3 of a shared basis).

    Returns:
        The crossings (segment index pairs and points), the loop area and the path length.
    """
    pts = np.asarray(path, dtype=np.float64)
    length = float(np.linalg.norm(np.diff(pts, axis=0), axis=1).sum()) if len(pts) > 1 else 0.0
    kept, seg_of = [pts[0]], []  # kept vertices; the original segment each kept segment lies on
    pairs, where, area = [], [], 0.0
    for k in range(len(pts) - 1):
        b = pts[k + 1]
        while True:
            a = kept[-1]
            hits = [(hit, m) for m in range(len(kept) - 2) if (hit := _crossing(a, b, kept[m], kept[m + 1]))]
            if not hits:
                break
            (t, x), m = min(hits, key=lambda h: h[0][0])  # the first crossing along a -> b
            area += _shoelace([x, *kept[m + 1:]])
            pairs.append((seg_of[m], k))
            where.append(x)
            kept, seg_of = kept[:m + 1] + [x], seg_of[:m + 1]
        kept.append(b)
        seg_of.append(k)
    if len(kept) > 3 and np.linalg.norm(kept[-1] - kept[0]) <= _EPS * max(length, 1e-300):
        area += _shoelace(kept[:-1])  # it returns to its start: the last loop closes
    return LoopGeometry(np.array(pairs, dtype=np.int64).reshape(-1, 2), np.array(where).reshape(-1, 2), area, length)
