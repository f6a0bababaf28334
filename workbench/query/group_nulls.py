"""A group's headlines against their nulls: each run's value, its percentile, the null's band.

For every analyzer that declares a null (`register_analyzer(null=...)`) and every headline of
it the null covers (`null_outputs`), each run's value at its last analyzed checkpoint is read
against that run's own stored draws of each null it declares, one row per kind
(`workbench.core.nulls.null_percentile`); the row also
gives the central 95% of all runs' draws pooled (draws several runs share counted once), so the group's spread and the chance level
sit side by side. A headline over a named axis (a participation ratio per matrix) gives one
row per element. A run without the artifact or the null is named with the reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from workbench.core.analyzer import get_analyzer, list_analyzers
from workbench.core.errors import CorruptFile, MissingFile
from workbench.core.nulls import null_band, null_field, null_percentile
from workbench.query.group_views import distinct
from workbench.store import ArraysRef, RunKey, Store

__all__ = ["NullRow", "group_null_rows"]


@dataclass
class NullRow:
    """One headline (element) of a group against its null."""

    analyzer: str
    headline: str
    kind: str  # the null's kind: permutation, init or random
    values: dict[RunKey, float] = field(default_factory=dict)  # per run: its value
    pctl: dict[RunKey, float] = field(default_factory=dict)  # per run: percentile of its value among its own draws
    draws: list[np.ndarray] = field(default_factory=list)  # every run's draws of this element

    def pooled(self) -> np.ndarray:
        """Every run's draws together, a set of draws that several runs share counted once (random networks)."""
        return np.concatenate(distinct(self.draws)) if self.draws else np.empty(0)

    def band(self) -> tuple[float, float]:
        """The central 95% of the pooled draws."""
        lo, hi = null_band(self.pooled(), pool=True) if self.draws else (np.nan, np.nan)
        return float(lo), float(hi)


def _read(store: Store, key: RunKey, name: str, outputs: tuple[str, ...]) -> tuple[dict, dict] | str:
    """(artifact at the last analyzed epoch, null) of one run, or why it has none."""
    spec = get_analyzer(name)
    ref = ArraysRef(name) if spec.scope == "summary" else None
    if ref is None:
        epochs = store.artifact_epochs(key, name)
        if not epochs:
            return f"{name} not run"
        ref = ArraysRef(name, epochs[-1])
    null_ref = ArraysRef(name, null=True)
    if not store.has_arrays(key, ref) or not store.has_arrays(key, null_ref):
        return f"{name} not run" if not store.has_arrays(key, ref) else f"{name}'s null not computed"
    labels = tuple(f"{spec.outputs[o][0]}_names" for o in outputs if len(spec.outputs[o]) == 1)
    try:
        arrays = store.read_arrays(key, ref, keys=outputs + tuple(a for a in labels if a in spec.outputs))
        return arrays, store.read_arrays(key, null_ref)
    except (CorruptFile, MissingFile) as err:
        return f"{name} unreadable ({type(err).__name__})"


def _elements(spec, output: str, arrays: dict) -> list[tuple[str, int | None]]:
    """(row name, element index or None for a scalar) of a headline output."""
    headline = spec.headlines[output]
    value = np.asarray(arrays[output])
    if value.ndim == 0:
        return [(headline, None)]
    names = arrays.get(f"{spec.outputs[output][0]}_names")
    return [(f"{headline} {names[i] if names is not None else i}", i) for i in range(value.size)]


def _add(rows: dict, spec, key: RunKey, arrays: dict, null: dict) -> None:
    for i, own in enumerate(k if j else None for j, k in enumerate(spec.nulls)):
        if null_field("null_kind", own) not in null and i:  # a further null this run has not drawn
            continue
        kind = str(np.asarray(null.get(null_field("null_kind", own), spec.nulls[i])))
        for output in spec.headlines:
            name = null_field(output, own)
            if output not in spec.null_outputs or name not in null or output not in arrays:
                continue
            value, draws = np.asarray(arrays[output], dtype=np.float64), np.asarray(null[name], dtype=np.float64)
            if draws.shape[1:] != value.shape:  # a stale null of another shape says nothing
                continue
            for label, e in _elements(spec, output, arrays):
                v, d = (value, draws) if e is None else (value.reshape(-1)[e], draws.reshape(len(draws), -1)[:, e])
                row = rows.setdefault((spec.name, label, kind), NullRow(spec.name, label, kind))
                row.values[key], row.pctl[key] = float(v), float(null_percentile(v, d))
                row.draws.append(d)


def group_null_rows(store: Store, keys: Sequence[RunKey]) -> tuple[list[NullRow], dict[RunKey, list[str]]]:
    """(one row per headline element with a null, {run: why it is missing from some rows}); an
    analyzer no run of the group has (with its null) gives no row."""
    rows: dict[tuple, NullRow] = {}
    why: dict[RunKey, list[str]] = {}
    for name in list_analyzers():
        spec = get_analyzer(name)
        outputs = tuple(o for o in spec.headlines if o in spec.null_outputs)
        if not spec.nulls or not outputs:
            continue
        got = {key: _read(store, key, name, outputs) for key in keys}
        if all(isinstance(g, str) for g in got.values()):  # not run on any run (or not for this family): no row
            continue
        for key, g in got.items():
            why.setdefault(key, []).append(g) if isinstance(g, str) else _add(rows, spec, key, *g)
    return list(rows.values()), why
