"""Analysis on a named probe: which probe, which of its rows, and which analyzers run there.

`workbench analyze --probe NAME` runs the per-epoch analyzers that read the probe row by
row (`register_analyzer(rows=True)`), and the summaries that only stack them, on the rows the probe selects of the family's
canonical probe, and writes them under the probe's name (`Store.with_probe`). Analyzers
that need the whole grid, other summaries and nulls stay on the canonical probe; under 'all'
they are named as skipped, asked for by name they are a one-line error. References (e.g.
the final checkpoint's key frequencies) are always the canonical probe's.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from workbench.core.analyzer import get_analyzer
from workbench.core.errors import UserError
from workbench.core.family import TaskData, get_family
from workbench.core.probes import CANONICAL, Probe, check_probe, select_rows
from workbench.core.variant import Variant
from workbench.store.probes import read_probe, save_probe

__all__ = ["ProbeChoice", "resolve_probe", "probe_data", "on_probe", "add_probe"]


class ProbeChoice(NamedTuple):
    """A probe resolved for one variant: its definition, the canonical rows it selects, and its stamp."""

    probe: Probe
    rows: np.ndarray  # [n] int64 rows of the family's canonical probe, ascending

    @property
    def stamp(self) -> str:
        """What an artifact on this probe was computed on (a replaced probe makes them stale)."""
        return f"{self.probe.name}:{self.probe.expr}"


def resolve_probe(store, name: str | None, variant: Variant) -> ProbeChoice | None:
    """None for the canonical probe (no name, or "canonical"); else the saved probe and its rows.

    UserError (one line) for an unknown probe, one of another family, or one whose expression
    selects nothing (or names inputs this variant does not have).
    """
    if name in (None, "", CANONICAL):
        return None
    probe = read_probe(store, name)
    if probe.family != variant.family.name:
        raise UserError(f"probe {name!r} is for family {probe.family!r}, not {variant.family.name!r}")
    data = variant.family.probe(variant.params)
    caps = variant.family.capabilities(variant.params).as_dict()
    try:
        rows = select_rows(probe.expr, data.inputs.numpy(), data.train_mask.numpy(), caps)
    except UserError as err:
        raise UserError(f"probe {name!r} on {variant.spec}: {err}") from None
    return ProbeChoice(probe, rows)


def probe_data(data: TaskData, rows: np.ndarray | None) -> TaskData:
    """`data` restricted to `rows` (all of it for None)."""
    if rows is None:
        return data
    index = np.asarray(rows, dtype=np.int64)
    return TaskData(data.inputs[index], data.labels[index], data.train_mask[index])


def on_probe(per_epoch: list[str], summaries: list[str], choice: ProbeChoice | None,
             explicit: bool) -> tuple[list[str], list[str], list[str]]:
    """(per-epoch, summaries, left out) of the chosen analyzers that run on `choice`'s rows.

    On the canonical probe everything runs. On a named one only row-wise per-epoch analyzers
    do; asking by name for another is a UserError.
    """
    if choice is None:
        return per_epoch, summaries, []
    row_summaries = [n for n in summaries if _stacks_rows(n)]
    out = [n for n in per_epoch if not get_analyzer(n).rows] + [n for n in summaries if n not in row_summaries]
    if out and explicit:
        raise UserError(f"{', '.join(out)} read the whole canonical probe, so they do not run on probe "
                        f"{choice.probe.name!r}; row-wise analyzers do (e.g. loss_accuracy, logit_lens, trace)")
    return [n for n in per_epoch if get_analyzer(n).rows], row_summaries, out


def _stacks_rows(summary: str) -> bool:
    """A summary that reads only row-wise analyzers (and no metrics) runs on a probe too, e.g. trace_history."""
    requires = get_analyzer(summary).requires
    return bool(requires) and all(get_analyzer(r).rows for r in requires)


def add_probe(store, name: str, family: str, expr: str, description: str = "", replace: bool = False) -> Probe:
    """Check `expr` against `family` and save it as probe `name` in `store`.

    Raises:
        UserError (one line) for an unknown family, a bad name, or an expression the family
        cannot take (a filter's syntax or names, operands on a family without them).
    """
    fam = get_family(family)
    check_probe(expr, fam.capabilities(fam.Params()).as_dict())
    probe = Probe(name, family, expr.strip(), description)
    save_probe(store, probe, replace=replace)
    return probe
