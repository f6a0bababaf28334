"""The interventions' effect over training: each edit's loss and accuracy stacked over the checkpoints.

Reads the per-epoch `interventions` artifacts (analyzers.interventions); the edits are the same
at every checkpoint of a run (they follow from its options and family), so their names are
read off the first. Version 1.
"""

from __future__ import annotations

import numpy as np

from analyzers._intervene import METRICS
from workbench.core.analyzer import register_analyzer

__all__ = ["intervention_trajectory"]


@register_analyzer("intervention_trajectory", kind="trajectory", scope="summary", requires=("interventions",),
                   version=1, outputs={"epochs": ("epoch",), "edit_names": ("edit",), "edit_scopes": ("edit",),
                                       "key_freqs": ("key",), **{m: ("epoch", "edit") for m in METRICS}},
                   kinds={"key_freqs": "freq", "edit_scopes": "label"})
def intervention_trajectory(ctx) -> dict[str, np.ndarray]:
    """Each intervention's train/test loss and accuracy over training."""
    art = ctx.artifacts("interventions")
    names = np.asarray(art["edit_names"])
    if len(names) and not (names == names[0]).all():
        raise ValueError("the interventions differ between checkpoints (were they analyzed with other options?)")
    return {"epochs": np.asarray(ctx.epochs, dtype=np.int64), "edit_names": names[0].astype(np.str_),
            "edit_scopes": np.asarray(art["edit_scopes"])[0].astype(np.str_),
            "key_freqs": np.asarray(art["key_freqs"])[-1].astype(np.int64),
            **{m: np.asarray(art[m], dtype=np.float64) for m in METRICS}}
