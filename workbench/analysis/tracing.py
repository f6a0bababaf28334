"""`trace(spec, store, inputs)`: one input, or a small probe, followed across every checkpoint.

The inputs become a named probe (an existing probe's name is used as it is; pairs or an
expression are saved as probe `trace-<hash>`), the `trace` analyzer runs on its rows at each
checkpoint that lacks an up-to-date artifact (one forward per checkpoint, cached in the
store under the probe's name, so a second call reads files only), and `trace_history`
stacks them. What the arrays hold: analyzers/trace.py and analyzers/trace_history.py.
"""

from __future__ import annotations

import hashlib
from typing import Iterable

import numpy as np

from workbench.analysis.pipeline import analyze
from workbench.analysis.probing import add_probe, resolve_probe
from workbench.core.errors import UserError
from workbench.core.probes import pairs_text
from workbench.core.variant import parse_variant
from workbench.store import RunKey, Store
from workbench.store.markers import read_markers
from workbench.store.probes import read_probe

__all__ = ["trace", "trace_probe", "MAX_INPUTS"]

MAX_INPUTS = 64  # analyzers/trace.MAX_ROWS: a bigger probe would be traced by its default pairs only


def trace_probe(store: Store, family: str, inputs: str | Iterable) -> str:
    """The probe name for `inputs`: a saved probe's name, or a `trace-<hash>` probe saved now
    for an expression ("4+29", "a < 3 and test") or a list of operand tuples [(4, 29), ...]."""
    if isinstance(inputs, str) and _saved(store, inputs):
        return inputs
    expr = inputs.strip() if isinstance(inputs, str) else pairs_text(inputs)
    name = "trace-" + hashlib.sha256(f"{family}:{expr}".encode()).hexdigest()[:12]
    if not store.probe_path(name).exists():
        add_probe(store, name, family, expr, description="made by trace()")
    elif read_probe(store, name).expr != expr:  # a 48-bit clash: refuse rather than trace other inputs
        raise UserError(f"probe {name!r} holds {read_probe(store, name).expr!r}, not {expr!r}; remove it")
    return name


def _saved(store: Store, text: str) -> bool:
    """Whether `text` names a probe saved in `store` (an expression is no valid name, or names none)."""
    try:
        return store.probe_path(text.strip()).exists()
    except UserError:
        return False


def trace(spec: str, store: Store, inputs: str | Iterable, *, device: str = "cpu",
          quiet: bool = True) -> dict[str, np.ndarray]:
    """The trace of `inputs` over every checkpoint of a trained variant.

    Args:
        spec: the variant; store: its store.
        inputs: a probe name, an expression ("4+29, 17+96", "a < 3 and test"), or operand tuples.
    Returns:
        trace_history's arrays (epochs, inputs, correct_logit [epoch, row, stage], ...) plus
        the run's epoch markers as 0-d arrays ("turn_onset_epoch", ...) and "probe" (its name).
    Raises:
        UserError (one line) for an untrained variant, a bad expression, inputs not in the
        variant's probe, or more than MAX_INPUTS inputs.
    """
    variant = parse_variant(spec)
    key = RunKey(*variant.key)
    if not store.exists(key):
        raise UserError(f"no trained run for {variant.spec!r} in {store.root}; run `workbench train {variant.spec}` first")
    name = trace_probe(store, variant.family.name, inputs)
    n = len(resolve_probe(store, name, store.read_variant(key)).rows)
    if n > MAX_INPUTS:
        raise UserError(f"probe {name!r} selects {n} inputs; a trace follows at most {MAX_INPUTS}")
    result = analyze(variant.spec, store, analyzers="trace,trace_history", probe=name, device=device, quiet=quiet)
    if "trace_history" in result.errors or "trace" in result.errors:
        raise UserError(f"trace of {variant.spec} failed: {result.errors}")
    out = store.with_probe(name).read_summary(key, "trace_history")
    return out | {m: np.array(e) for m, e in read_markers(store, key).items()} | {"probe": np.array(name)}
