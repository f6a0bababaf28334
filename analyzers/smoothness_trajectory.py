"""Spectral smoothness of the output function at every checkpoint, beside the exact
target's score and chance (the least-action study, issue 12), stacked from the
`spectral_smoothness` artifacts (see that analyzer for the definition).

Version 2 (issue 27) also stacks the study's own definition (argmax class index, DC bin in:
`smoothness_study`, and on the expected class index: `smoothness_study_soft`) with its exact
target, random-label null (mean, sd) and DC floor."""

from __future__ import annotations

import numpy as np

from workbench.core.analyzer import register_analyzer
from workbench.core.context import SummaryContext

__all__ = ["smoothness_trajectory"]

_STUDY_SERIES = ("smoothness_study", "smoothness_study_soft")
_STUDY_REFERENCES = ("study_target", "study_null_mean", "study_null_sd", "study_dc_floor")


@register_analyzer("smoothness_trajectory", kind="trajectory", scope="summary", requires=("spectral_smoothness",), version=2,
                   outputs={"epochs": ("epoch",), "smoothness": ("epoch",), "target": (), "chance": (),
                            **{k: ("epoch",) for k in _STUDY_SERIES}, **{k: () for k in _STUDY_REFERENCES}})
def smoothness_trajectory(ctx: SummaryContext) -> dict[str, np.ndarray]:
    """Output-function smoothness per checkpoint (ours and the study's), with each one's target and reference."""
    art = ctx.artifacts("spectral_smoothness")
    last = lambda k: np.array(float(np.asarray(art[k])[-1]))  # noqa: E731  (the references are constant per run)
    return {"epochs": np.asarray(ctx.epochs, dtype=np.int64),
            "smoothness": np.asarray(art["smoothness"], dtype=np.float64),
            "target": last("target"), "chance": last("chance"),
            **{k: np.asarray(art[k], dtype=np.float64) for k in _STUDY_SERIES},
            **{k: last(k) for k in _STUDY_REFERENCES}}
