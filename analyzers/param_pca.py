"""PCA of the flattened parameters across checkpoints, and whether the PC2/PC3 path crosses itself.

The path of a grokking run in PC space typically turns sharply at the phase transition;
a self-crossing PC2/PC3 path marks the network revisiting a region of weight space.
"""

from __future__ import annotations

import numpy as np

from workbench.core.analyzer import register_analyzer
from workbench.core.context import SummaryContext

__all__ = ["pca_scores", "count_self_intersections", "param_pca"]

N_PCS = 3
_CHUNK = 1 << 16  # parameter columns per Gram-matrix block, bounds float64 temporaries
_RANK_TOL = 1e-10  # eigenvalues below this fraction of the largest are numerically zero


def pca_scores(x: np.ndarray, n: int = N_PCS) -> tuple[np.ndarray, np.ndarray]:
    """Scores and explained-variance ratios of the first `n` principal components of the rows of `x`.

    Uses the [rows, rows] Gram matrix, since checkpoints are few and parameters many.
    Component signs are fixed so each component's largest-magnitude score is positive;
    components with variance below _RANK_TOL of the first are numerical noise and read 0.

    Args:
        x: [epoch, param] data, one row per observation.
        n: number of components; missing ones (fewer rows than n) are zero-filled.

    Returns:
        scores [epoch, n] and explained-variance ratios [n].
    """
    rows = x.shape[0]
    mean = x.mean(axis=0, dtype=np.float64)  # [param]
    gram = np.zeros((rows, rows))
    for s in range(0, x.shape[1], _CHUNK):
        block = x[:, s : s + _CHUNK].astype(np.float64) - mean[s : s + _CHUNK]
        gram += block @ block.T
    evals, evecs = np.linalg.eigh(gram)  # ascending
    evals, evecs = np.clip(evals[::-1], 0, None), evecs[:, ::-1]
    # float32 round-off gives a rank-deficient trajectory tiny random components; zero them,
    # or the PC2/PC3 path of a planar trajectory becomes noise that "crosses itself"
    evals[evals <= _RANK_TOL * evals[0]] = 0.0
    m = min(n, rows)
    scores = np.zeros((rows, n))
    scores[:, :m] = evecs[:, :m] * np.sqrt(evals[:m])  # U·S = projections on the PCs
    peak = scores[np.argmax(np.abs(scores), axis=0), np.arange(n)]
    scores *= np.where(peak < 0, -1.0, 1.0)
    ratio = np.zeros(n)
    total = evals.sum()
    if total > 0:
        ratio[:m] = evals[:m] / total
    return scores, ratio


def _orient(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Twice the signed area of triangles (a, b, c), broadcasting over leading axes."""
    return (b[..., 0] - a[..., 0]) * (c[..., 1] - a[..., 1]) - (b[..., 1] - a[..., 1]) * (c[..., 0] - a[..., 0])


def count_self_intersections(path: np.ndarray) -> int:
    """Proper crossings between non-adjacent segments of a 2-D polyline.

    Segment i joins path[i] and path[i+1]. Pairs (i, j) with j >= i + 2 cross properly when
    each segment's endpoints lie strictly on opposite sides of the other's line; touching,
    shared endpoints (a path closed exactly on its start) and collinear overlaps do not
    count. "Strictly" allows a 1e-12 relative tolerance.

    Args:
        path: [point, 2] vertices in order.

    Returns:
        The number of crossing segment pairs.
    """
    pts = np.asarray(path, dtype=np.float64)
    if len(pts) < 4:
        return 0
    a, b = pts[:-1], pts[1:]  # [seg, 2] each
    i, j = np.triu_indices(len(a), k=2)
    tol = 1e-12 * max(float(np.ptp(pts, axis=0).max()), 1e-300) ** 2
    sign = lambda v: np.where(np.abs(v) <= tol, 0.0, np.sign(v))  # noqa: E731
    d1, d2 = sign(_orient(a[i], b[i], a[j])), sign(_orient(a[i], b[i], b[j]))
    d3, d4 = sign(_orient(a[j], b[j], a[i])), sign(_orient(a[j], b[j], b[i]))
    return int(np.sum((d1 * d2 < 0) & (d3 * d4 < 0)))


@register_analyzer("param_pca", kind="trajectory", scope="summary", requires=("param_snapshot",), outputs={
    "epochs": ("epoch",), "pcs": ("epoch", "component"), "explained_variance": ("component",),
    "self_intersects": (), "n_intersections": ()}, kinds={'self_intersects': 'bool', 'n_intersections': 'int'})
def param_pca(ctx: SummaryContext) -> dict[str, np.ndarray]:
    """Top-3 principal components of the parameter trajectory; self-crossings of its PC2/PC3 path."""
    scores, ratio = pca_scores(ctx.artifacts("param_snapshot")["flat"])
    crossings = count_self_intersections(scores[:, 1:3])
    return {
        "epochs": np.asarray(ctx.epochs, dtype=np.int64),
        "pcs": scores.astype(np.float32),
        "explained_variance": ratio,
        "self_intersects": np.array(crossings > 0),
        "n_intersections": np.array(crossings, dtype=np.int64),
    }
