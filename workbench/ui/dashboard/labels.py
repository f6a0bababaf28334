"""Short variant labels and one colour per variant.

A variant's name lists every parameter (`p=53,seed=999,data_seed=598,...`),
which is too long for a legend or a picker and hides what matters: the parameters that
differ between the variants on screen. `short_labels` keeps only those.
"""

from __future__ import annotations

import hashlib
import re

from workbench.query.presets import params
from workbench.store import RunKey
from workbench.ui.palette import PALETTE

__all__ = ["PALETTE", "FAMILY_PALETTE", "family_colour", "params", "short_labels", "colours", "full_label", "export_name"]

_UNSAFE = re.compile(r"[^A-Za-z0-9=,._+-]")  # characters kept in exported file names
_NAME_KEPT = 160  # bytes of a variant name in an exported file name: with family and view it fits NAME_MAX

# a family's badge colour: muted, and apart from PALETTE's saturated hues, which mean "this run"
FAMILY_PALETTE = ("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3", "#8c8c8c")


def family_colour(family: str, families: list[str]) -> str:
    """The badge colour of a family: by its place among the store's `families` in name order, so
    the families of one store (up to eight) never share a colour."""
    return FAMILY_PALETTE[sorted(set(families)).index(family) % len(FAMILY_PALETTE)]


def full_label(key: RunKey) -> str:
    """Family and every parameter: the tooltip behind a short label."""
    return f"{key.family}: {key.variant}"


def short_labels(keys: list[RunKey]) -> dict[RunKey, str]:
    """For each run, the parameters that differ among the runs of its family in `keys`, led by
    the family when families differ (a family's only run is then its family's name).

    A single run, or runs of one family that differ in nothing, keep their full parameter
    string. Parameters are compared within a family only: another family's parameters are
    not missing from this one ("no vocab_size").
    """
    by_family: dict[str, list[RunKey]] = {}
    for key in keys:
        by_family.setdefault(key.family, []).append(key)
    several = len(by_family) > 1
    out = {}
    for family, members in by_family.items():
        parsed = {k: params(k) for k in members}
        names = sorted({n for p in parsed.values() for n in p}, key=lambda n: _order(parsed, n))
        differ = [n for n in names if len({p.get(n) for p in parsed.values()}) > 1]
        for key, p in parsed.items():
            label = ",".join(f"{n}={p[n]}" if n in p else f"no {n}" for n in differ)
            out[key] = (f"{family}: {label}" if label else family) if several else (label or key.variant)
    return {k: out[k] for k in keys}


def _order(parsed: dict, name: str) -> int:
    """Where a parameter first appears in any variant string (keeps the family's own order)."""
    return min((list(p).index(name) for p in parsed.values() if name in p), default=0)


def colours(keys: list[RunKey]) -> dict[RunKey, str]:
    """One colour per run, by its place in `keys` (the selection), the same on every panel."""
    return {k: PALETTE[i % len(PALETTE)] for i, k in enumerate(keys)}


def export_name(key: RunKey, view: str, epoch: int | None = None) -> str:
    """The canonical file stem of an exported figure: variant_view[_epochN].

    e.g. 'modular_addition_p=53,seed=999_embedding_fourier_epoch3500'; safe on every OS.
    """
    name = key.variant
    if len(name.encode()) > _NAME_KEPT:  # a long name: a prefix and a hash keep the file name valid and distinct
        head = name.encode()[:_NAME_KEPT - 17].decode(errors="ignore")
        name = f"{head}-{hashlib.sha256(name.encode()).hexdigest()[:16]}"
    stem = f"{key.family}_{name}_{view}" + (f"_epoch{epoch}" if epoch is not None else "")
    return _UNSAFE.sub("-", stem)
