"""Short variant labels and one colour per variant.

A variant's directory name lists every parameter (`p=53,seed=999,data_seed=598,...`),
which is too long for a legend or a picker and hides what matters: the parameters that
differ between the variants on screen. `short_labels` keeps only those.
"""

from __future__ import annotations

import re

from workbench.store import RunKey

__all__ = ["PALETTE", "params", "short_labels", "colours", "full_label", "export_name"]

_UNSAFE = re.compile(r"[^A-Za-z0-9=,._+-]")  # characters kept in exported file names

# plotly's qualitative "D3" palette: distinct hues, one per variant in the selection
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf")


def params(key: RunKey) -> dict[str, str]:
    """The parameters named in a variant directory ('p=53,seed=1' -> {'p': '53', 'seed': '1'})."""
    out = {}
    for part in key.variant.split(","):
        name, sep, value = part.partition("=")
        out[name] = value if sep else ""
    return out


def full_label(key: RunKey) -> str:
    """Family and every parameter: the tooltip behind a short label."""
    return f"{key.family}: {key.variant}"


def short_labels(keys: list[RunKey]) -> dict[RunKey, str]:
    """For each run, the parameters that differ among `keys` (the family too when families differ).

    A single run, or runs that differ in nothing, keep their full parameter string.
    """
    parsed = {k: params(k) for k in keys}
    names = sorted({n for p in parsed.values() for n in p}, key=lambda n: _order(parsed, n))
    differ = [n for n in names if len({p.get(n) for p in parsed.values()}) > 1]
    families = len({k.family for k in keys}) > 1
    out = {}
    for key, p in parsed.items():
        parts = [f"{n}={p[n]}" if n in p else f"no {n}" for n in differ]
        label = ",".join(parts) if parts else key.variant
        out[key] = f"{key.family}: {label}" if families else label
    return out


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
    stem = f"{key.family}_{key.variant}_{view}" + (f"_epoch{epoch}" if epoch is not None else "")
    return _UNSAFE.sub("-", stem)
