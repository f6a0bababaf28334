"""Untrusted control values from the browser turned into valid ones, never an exception.

Dash hands callbacks whatever JSON the request carried: a string for n_clicks, NaN or
±Infinity for an index, a list for an epoch. Every function here maps such input to a
valid value or to None.
"""

from __future__ import annotations

import math

from workbench.ui.dashboard import data

__all__ = ["as_int", "as_number", "index_from_click", "select_epoch", "select_index", "epoch_at"]

_LIMIT = 2**53  # beyond this a JSON number is not an exact integer: crafted


def as_int(value: object) -> int | None:
    """A finite number or digit string as an int (rounded), else None; bools are not numbers."""
    if isinstance(value, str):
        value = value.strip()
        if not (value.isascii() and value.lstrip("-").isdigit() and len(value) <= 16):
            return None
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return int(round(value)) if abs(value) < _LIMIT else None


def as_number(value: object) -> int | float | None:
    """A finite number (or a digit string, as an int) within exact-integer range, else None; bools are not numbers."""
    if isinstance(value, str):
        return as_int(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return value if abs(value) < _LIMIT else None


def index_from_click(click_data: object) -> int | None:
    """customdata[0] of the first clicked point as a non-negative int, else None."""
    try:
        custom = click_data["points"][0]["customdata"]  # type: ignore[index]
    except (KeyError, IndexError, TypeError):
        return None
    if isinstance(custom, dict):  # a typed-array row (base64 2-d customdata) arrives as {"0": v, ...}
        custom = custom.get("0")
    elif isinstance(custom, (list, tuple)):
        custom = custom[0] if custom else None
    value = as_int(custom) if not isinstance(custom, str) else None
    return value if value is not None and value >= 0 else None


def select_epoch(epochs: list[int], current: object, click_data: object = None) -> int | None:
    """The checkpoint epoch to show: the clicked one if any, else `current`, snapped to `epochs`."""
    clicked = index_from_click(click_data)
    if clicked is not None:
        return data.nearest_epoch(epochs, clicked)
    value = as_int(current)
    return data.nearest_epoch(epochs, value if value is not None else math.nan)


def select_index(current: object, click_data: object = None, limit: int | None = None) -> int:
    """An index (of a view option) from a click or the current value, clipped to [0, limit)."""
    value = index_from_click(click_data)
    if value is None:
        value = as_int(current) or 0
    hi = (limit - 1) if limit else value
    return max(0, min(value, hi))


def epoch_at(index: object, epochs: object) -> int | None:
    """The epoch at a slider position in the list of epochs the browser holds, else None."""
    i = as_int(index)
    if not isinstance(epochs, list) or i is None or not 0 <= i < len(epochs):
        return None
    return as_int(epochs[i])
