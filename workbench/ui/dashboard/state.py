"""The page's state in the URL query string, so that a reload or a shared link shows the same view.

    /?variant=modular_addition/p%3D53,...&epoch=3500&neuron=7&head=1&groups=training,neurons
    /compare?variant=...&compare=modular_addition/a&compare=modular_addition/b&align=turn

The browser writes the query (`history.replaceState`, see `clientside.py`) whenever a
control changes; the server reads it on load. Everything read here is untrusted: a
malformed entry is dropped, and variant ids are checked against the store by the caller.
"""

from __future__ import annotations

from urllib.parse import parse_qs

__all__ = ["parse_state", "STATE_KEYS"]

STATE_KEYS = ("variant", "epoch", "neuron", "head", "groups", "compare", "align")
_MAX_DIGITS = 12  # no epoch, neuron or head needs more; longer numbers are crafted


def _int(text: str) -> int | None:
    text = text.strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) <= _MAX_DIGITS else None


def parse_state(search: object) -> dict:
    """The well-formed state entries of a query string ('?a=1&b=2' or 'a=1&b=2').

    Returns:
        A dict with any of: variant (str), epoch/neuron/head (int >= 0), groups (list of
        str, possibly empty), compare (list of str), align ("epoch" | "turn"); entries
        that are absent or malformed are left out.
    """
    if not isinstance(search, str) or not search:
        return {}
    try:
        query = parse_qs(search.lstrip("?"), keep_blank_values=True, max_num_fields=200)
    except ValueError:  # more fields than any page writes: crafted
        return {}
    state: dict = {}
    if query.get("variant"):
        state["variant"] = query["variant"][0]
    for name in ("epoch", "neuron", "head"):
        value = _int(query[name][0]) if query.get(name) else None
        if value is not None:
            state[name] = value
    if "groups" in query:
        state["groups"] = [g for g in query["groups"][0].split(",") if g]
    if "compare" in query:
        state["compare"] = [v for v in query["compare"] if v]
    if query.get("align") and query["align"][0] in ("epoch", "turn"):
        state["align"] = query["align"][0]
    return state
