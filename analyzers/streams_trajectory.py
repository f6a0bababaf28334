"""Issue 14's measures over training: accuracy, A, sigma^2 and each head's attention offset
profile, one row per checkpoint, for the four-condition comparison and the offset views.

Stacks the per-epoch `stream_accuracy`, `amplitude` and `attention_offsets` artifacts
(same probe batch at every checkpoint; definitions in those modules) so a view of a whole
run, or a comparison of runs, reads one file.
"""

from __future__ import annotations

import numpy as np

from workbench.core.analyzer import register_analyzer
from workbench.core.context import SummaryContext

__all__ = ["streams_trajectory"]

_ACCURACIES = ("test_acc", "last_acc", "acc_a", "acc_b")


@register_analyzer("streams_trajectory", kind="trajectory", scope="summary",
          requires=("stream_accuracy", "amplitude", "attention_offsets"), outputs={
              "epochs": ("epoch",), **{name: ("epoch",) for name in _ACCURACIES},
              "amplitude": ("epoch", "layer"), "sigma2": ("epoch", "layer"),
              "offset_profile": ("epoch", "layer", "head", "offset"), "offsets": ("offset",)})
def streams_trajectory(ctx: SummaryContext) -> dict[str, np.ndarray]:
    """Stream accuracies, A, sigma^2 and attention offset profiles at every checkpoint."""
    acc, amp, offsets = ctx.artifacts("stream_accuracy"), ctx.artifacts("amplitude"), ctx.artifacts("attention_offsets")
    return {"epochs": np.asarray(ctx.epochs, dtype=np.int64),
            **{name: np.asarray(acc[name], dtype=np.float64) for name in _ACCURACIES},
            "amplitude": np.asarray(amp["amplitude"], dtype=np.float64),
            "sigma2": np.asarray(amp["sigma2"], dtype=np.float64),
            "offset_profile": np.asarray(offsets["profile"], dtype=np.float32),
            "offsets": np.asarray(offsets["offsets"][0], dtype=np.int64)}
