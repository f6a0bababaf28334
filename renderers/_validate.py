"""Up-front shape checks for renderers: a wrong array fails with the shape it should have."""

from __future__ import annotations

from typing import Mapping

import numpy as np

from workbench.core.errors import UserError

__all__ = ["require", "same_length", "option_index"]


def require(arrays: Mapping[str, np.ndarray], name: str, dims: tuple[str, ...], view: str) -> np.ndarray:
    """Return `arrays[name]` as an array after checking it has one axis per dim name.

    Args:
        arrays: the renderer's input dict.
        name: the array's key.
        dims: its axis names, e.g. ("neuron", "a", "b"); () for a scalar.
        view: the view name, used in the error message.
    Returns:
        The array (numpy).
    Raises:
        ValueError naming the expected shape when the array is missing or has another rank.
    """
    expected = "[" + ", ".join(dims) + "]"
    if name not in arrays:
        raise ValueError(f"{view}: missing array {name!r}, expected shape {expected}; have {sorted(arrays)}")
    arr = np.asarray(arrays[name])
    if arr.ndim != len(dims):
        raise ValueError(f"{view}: array {name!r} must have shape {expected}, got shape {tuple(arr.shape)}")
    return arr


def same_length(view: str, axis: str, **named: np.ndarray) -> int:
    """Check the given arrays share their first axis (`axis`); return its length."""
    lengths = {k: int(np.shape(v)[0]) for k, v in named.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"{view}: arrays must share the [{axis}] axis, got lengths {lengths}")
    return next(iter(lengths.values()))


def option_index(value: object, n: int, view: str, what: str) -> int:
    """A user-chosen index option (a neuron, a head) as an int in 0..n-1, else UserError."""
    try:
        idx = int(value)
    except (TypeError, ValueError):
        raise UserError(f"{view}: {what} must be an integer, got {value!r}") from None
    if not 0 <= idx < n:
        raise UserError(f"{view}: {what} {idx} out of range; choose 0..{n - 1}")
    return idx
