"""The page's state in the URL query string, so that a reload or a shared link shows the same view.

    /?variant=modular_addition/p%3D53,...&epoch=3500&<option key>=7&groups=training,embeddings
    /compare?variant=...&compare=modular_addition/a&compare=modular_addition/b&align=turn

Which entries there are comes from the pages' declarations (`pages.Page.state`: the
explore page's variant, epoch, a control per declared view option and open groups; the
compare page's selection and alignment). The browser writes the query
(`history.replaceState`, see `shell.py`) whenever one of those components changes; the
server reads it on load. Everything read here is untrusted: a malformed entry is dropped,
and variant ids are checked against the store by the caller.
"""

from __future__ import annotations

from typing import Iterable
from urllib.parse import parse_qs

from workbench.ui.dashboard.pages import StateField, state_fields

__all__ = ["parse_state"]

_MAX_DIGITS = 12  # no epoch or index needs more; longer numbers are crafted


def _int(text: str) -> int | None:
    text = text.strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) <= _MAX_DIGITS else None


def _read(field: StateField, values: list[str]) -> object:
    """One field's value from its query entries, or None when malformed."""
    if field.kind == "list":
        return [v for v in values if v]
    if field.kind == "csv":
        return [v for v in values[0].split(",") if v]
    if field.kind in ("int", "epoch"):
        return _int(values[0])
    text = values[0]
    return text if text and (not field.choices or text in field.choices) else None


def parse_state(search: object, fields: Iterable[StateField] | None = None) -> dict:
    """The well-formed state entries of a query string ('?a=1&b=2' or 'a=1&b=2').

    Args:
        search: the query (untrusted); fields: the entries to read (default: every page's).
    Returns:
        {key: value} for each field present and well-formed: a str, an int >= 0, or a list
        of str (possibly empty); absent or malformed entries are left out.
    """
    if not isinstance(search, str) or not search:
        return {}
    try:
        query = parse_qs(search.lstrip("?"), keep_blank_values=True, max_num_fields=200)
    except ValueError:  # more fields than any page writes: crafted
        return {}
    state: dict = {}
    for field in state_fields() if fields is None else fields:
        if field.key in query:
            value = _read(field, query[field.key])
            if value is not None:
                state[field.key] = value
    return state
