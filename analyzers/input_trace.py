"""Follow a handful of inputs through the residual stream (per-input logit lens).

The inputs come from ctx.options["trace_inputs"] (a list of (a, b) pairs) or, by default,
4 train and 4 test pairs spread evenly over each split in probe order, so every epoch of
a run traces the same pairs. For each, the correct class's logit and its rank (0 = the
top logit; ties count in its favour) after each stage of analyzers._output.stage_logits.
"""

from __future__ import annotations

import numpy as np

from analyzers._maps import operand_pos
from analyzers._output import correct_logit, resid_hooks, stage_logits, stage_names
from workbench.core.analyzer import register_analyzer

N_DEFAULT = 4  # pairs per split


def default_rows(train_mask: np.ndarray, n: int = N_DEFAULT) -> np.ndarray:
    """n train then n test probe rows, evenly spaced within each split (fewer if a split is small)."""
    picks = []
    for mask in (train_mask, ~train_mask):
        rows = np.flatnonzero(mask)
        if len(rows):
            picks.append(rows[np.unique(np.linspace(0, len(rows) - 1, min(n, len(rows))).round().astype(int))])
    return np.concatenate(picks) if picks else np.zeros(0, dtype=np.int64)


def rows_of(pairs, probe: np.ndarray, operands: tuple[int, int] = (0, 1)) -> np.ndarray:
    """Probe row index of each (a, b) pair (a, b at the `operands` columns); ValueError naming
    the first pair not in the probe."""
    index = {(int(a), int(b)): i for i, (a, b) in enumerate(probe[:, list(operands)])}
    try:
        return np.array([index[(int(a), int(b))] for a, b in pairs], dtype=np.int64)
    except KeyError as err:
        raise ValueError(f"trace input {err.args[0]} is not an (a, b) pair of the probe") from None


@register_analyzer("input_trace", kind="output", hooks=resid_hooks, needs=("modular", "resid_hooks"),
          outputs={"inputs": ("row", "operand"), "is_train": ("row",), "stages": ("stage",),
                   "correct_logit": ("row", "stage"), "rank": ("row", "stage")}, kinds={'inputs': 'int', 'is_train': 'bool', 'rank': 'int', 'stages': 'label'}, rows=True)
def input_trace(ctx) -> dict[str, np.ndarray]:
    """Correct-class logit and rank of a few traced inputs after each residual-stream stage."""
    pairs = ctx.options.get("trace_inputs")
    operands = operand_pos(ctx.family)
    rows = default_rows(ctx.train_mask) if pairs is None else rows_of(pairs, ctx.probe, operands)
    return {"inputs": ctx.probe[rows][:, list(operands)].astype(np.int64),
            "is_train": ctx.train_mask[rows].astype(bool), "stages": stage_names(resid_hooks(ctx.family)),
            **lens_rows(ctx, rows)[1]}


def lens_rows(ctx, rows: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(stage logits [stage, row, classes], {"correct_logit", "rank": [row, stage]}) of probe `rows`:
    each row's correct-class logit after each stage and its rank (0 = the top; ties in its favour)."""
    logits = stage_logits(ctx, rows)  # [stage, row, p]
    correct = correct_logit(logits, ctx.labels[rows])  # [stage, row]
    rank = (logits > correct[..., None]).sum(axis=-1)  # [stage, row]
    return logits, {"correct_logit": correct.T.astype(np.float64), "rank": rank.T.astype(np.int64)}
