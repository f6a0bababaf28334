"""Reading a measure against its null: percentiles and bands over a null's draws (numpy only).

A null artifact (workbench.analysis.nulls) holds, for each output an analyzer declared in
`null_outputs`, its values over several draws, stacked on a leading `draw` axis. A value is
read elementwise against the draws of the same element (a neuron's fraction against that
neuron's shuffled maps, a matrix's participation ratio against random matrices of its shape).
An analyzer with several nulls stores its first as before and each further one beside it,
its arrays' names led by its kind ("random.mean_dominant_frac", `null_field`).
"""

from __future__ import annotations

import warnings

import numpy as np

__all__ = ["null_percentile", "null_band", "NULL_KEY", "null_key", "null_field"]

NULL_KEY = "null"  # the prefix of a null's arrays among a view's arrays: "null.<analyzer>.<output>"


def null_field(output: str, kind: str | None = None) -> str:
    """The name of `output`'s draws in a null artifact: as is for the first null, "<kind>.<output>" for a further one."""
    return f"{kind}.{output}" if kind else output


def null_key(analyzer: str, output: str, kind: str | None = None) -> str:
    """The key of `analyzer`'s null draws of `output` among a view's arrays (`kind`: a further null's)."""
    return f"{NULL_KEY}.{analyzer}.{null_field(output, kind)}"


def null_percentile(value: np.ndarray | float, draws: np.ndarray) -> np.ndarray:
    """Percent of the null's draws below `value`, ties counted half (the mid-rank percentile).

    Args:
        value: [...] the measured values.
        draws: [draw, ...] the null's values of the same elements.

    Returns:
        [...] percentiles in [0, 100]; NaN where the value or every draw is not finite.
    """
    v = np.asarray(value, dtype=np.float64)
    d = np.asarray(draws, dtype=np.float64)
    if d.shape[1:] != v.shape:
        raise ValueError(f"null draws must be [draw, *{v.shape}], got {d.shape}")
    finite = np.isfinite(d)
    n = finite.sum(axis=0)
    below = np.sum(finite & (d < v), axis=0)
    ties = np.sum(finite & (d == v), axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        pct = 100.0 * (below + 0.5 * ties) / n
    return np.where((n > 0) & np.isfinite(v), pct, np.nan)


def null_band(draws: np.ndarray, lo: float = 2.5, hi: float = 97.5, pool: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The central band of a null: its `lo` and `hi` percentiles over draws (NaNs ignored).

    Args:
        draws: [draw, ...] null values.
        pool: take the percentiles over every element together (one band for e.g. all neurons).

    Returns:
        (low, high), each [...] (scalars when pooled); NaN where no draw is finite.
    """
    d = np.asarray(draws, dtype=np.float64)
    d = d.reshape(-1) if pool else d
    if not np.isfinite(d).any():
        nan = np.full(d.shape[1:], np.nan)
        return nan, nan.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN column is NaN, as documented
        return np.nanpercentile(d, lo, axis=0), np.nanpercentile(d, hi, axis=0)
