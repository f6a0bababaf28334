"""The per-input trace over every checkpoint: `trace`'s arrays stacked on a leading epoch axis.

Runs on the canonical probe (input_trace's default pairs) and on a named probe (its rows),
since it reads only `trace`. Labels (inputs, stages, heads, positions, key frequencies) are
the same at every checkpoint and kept once; `neuron_freq` is the final checkpoint's.
``emergence_epoch`` [row] marks, per input, where its key-frequency signal appears: the
first checkpoint at which the final stage's projection on the key frequencies (summed over
them) reaches half of its largest value over the run (-1 where the run has no key frequencies).
"""

from __future__ import annotations

import numpy as np

from workbench.core.analyzer import register_analyzer
from workbench.core.context import SummaryContext

STACKED = ("correct_logit", "rank", "attention", "neuron_contrib", "key_projection")  # per checkpoint
FIXED = ("inputs", "is_train", "labels", "stages", "head_names", "pos_names", "key_freqs")  # the same at every one
EMERGENCE_FRAC = 0.5


def emergence(epochs: np.ndarray, projection: np.ndarray) -> np.ndarray:
    """[row] first epoch whose final-stage key projection (summed over keys) reaches EMERGENCE_FRAC of its max.

    Args:
        epochs: [epoch]; projection: [epoch, row, stage, key].
    """
    if projection.shape[-1] == 0:
        return np.full(projection.shape[1], -1, dtype=np.int64)
    signal = projection[:, :, -1, :].sum(axis=-1)  # [epoch, row]
    first = np.argmax(signal >= EMERGENCE_FRAC * signal.max(axis=0, keepdims=True), axis=0)
    return np.asarray(epochs, dtype=np.int64)[first]


@register_analyzer("trace_history", kind="trajectory", scope="summary", requires=("trace",),
                   outputs={"epochs": ("epoch",), "inputs": ("row", "operand"), "is_train": ("row",),
                            "labels": ("row",), "stages": ("stage",), "head_names": ("head",), "pos_names": ("pos",),
                            "key_freqs": ("key",), "neuron_freq": ("neuron",),
                            "correct_logit": ("epoch", "row", "stage"), "rank": ("epoch", "row", "stage"),
                            "attention": ("epoch", "row", "head", "pos"), "neuron_contrib": ("epoch", "row", "neuron"),
                            "key_projection": ("epoch", "row", "stage", "key"), "emergence_epoch": ("row",)},
                   kinds={"inputs": "int", "is_train": "bool", "labels": "int", "stages": "label", "rank": "int",
                          "head_names": "label", "pos_names": "label", "neuron_freq": "freq", "key_freqs": "freq",
                          "emergence_epoch": "epoch"})
def trace_history(ctx: SummaryContext) -> dict[str, np.ndarray]:
    """The per-input trace (logit lens, attention, neuron contributions, key projections) over every checkpoint."""
    arrays = ctx.artifacts("trace")
    out = {name: arrays[name] for name in STACKED}
    out |= {name: arrays[name][-1] for name in FIXED}
    out["neuron_freq"] = arrays["neuron_freq"][-1]
    out["epochs"] = np.asarray(ctx.epochs, dtype=np.int64)
    out["emergence_epoch"] = emergence(ctx.epochs, arrays["key_projection"])
    return out
