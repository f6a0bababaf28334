"""A run's record, variant.json, read with the fields that `list` and `report` show checked."""

from __future__ import annotations

from workbench._io import load_json
from workbench.core.errors import CorruptFile
from workbench.store import RunKey, Store

__all__ = ["read_record"]

_FIELDS = {"variant": (str,), "epochs": (int,), "schedule": (str,), "eval_every": (int,)}  # required field -> types


def read_record(store: Store, key: RunKey) -> dict:
    """The run's variant.json as a dict.

    Raises:
        MissingFile if there is none; CorruptFile if it is unreadable, not a JSON object,
        lacks "variant" or "epochs", or holds one of the wrong type.
    """
    path = store.variant_path(key)
    info = load_json(path, expect=dict, keys=tuple(_FIELDS))
    for field, kinds in _FIELDS.items():
        if isinstance(info[field], bool) or not isinstance(info[field], kinds):
            raise CorruptFile(path, f"{field!r} is {type(info[field]).__name__}, not {kinds[0].__name__}")
    return info
