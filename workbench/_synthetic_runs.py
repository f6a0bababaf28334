"""Fake runs with exactly the files `workbench list` reads, for index tests and the list benchmark.

A run gets a real variant.json record (as the trainer writes it), a metrics.npz, empty
checkpoint files (listing only counts them) and, when asked, the summaries that hold the
epoch markers (the first marker of each analyzer at `onset`, the next one `every` later). Nothing is trained; thousands of runs are written in seconds.
"""

from __future__ import annotations

import numpy as np

from workbench._io import save_json, save_npz
from workbench.store import RunKey, Store

__all__ = ["listed_run"]


def listed_run(store: Store, spec: str, *, epochs: int = 1000, every: int = 100, test_acc: float = 1.0,
               onset: float | None = None) -> RunKey:
    """Write a finished fake run of `spec` and return its key.

    Args:
        store: where; spec: the variant; epochs: trained epochs; every: checkpoint spacing;
        test_acc: the final test accuracy; onset: the first epoch marker (None: not analyzed,
        NaN: analyzed and no turn found).
    """
    from workbench.core.variant import parse_variant

    variant = parse_variant(spec)
    key = RunKey(*variant.key)
    ckpts = list(range(0, epochs + 1, every))
    save_json({"family": variant.family.name, "variant": variant.spec, "params": variant.params.model_dump(),
               "recipe": variant.recipe.model_dump(), "recipe_overrides": dict(variant.recipe_overrides),
               "config": None, "epochs": epochs, "schedule": f"0:{epochs}:{every}", "checkpoint_epochs": ckpts,
               "eval_every": every, "state_every": 1000, "stacked": False}, store.variant_path(key))
    grid = np.asarray(ckpts)
    save_npz({"epoch": grid, "train_loss": np.linspace(1, 0.01, len(grid)), "train_acc": np.linspace(0, 1, len(grid)),
              "test_loss": np.linspace(2, 0.1, len(grid)), "test_acc": np.linspace(0, test_acc, len(grid))},
             store.metrics_path(key))
    store.checkpoint_dir(key).mkdir(parents=True, exist_ok=True)
    for epoch in ckpts:
        store.checkpoint_path(key, epoch).write_bytes(b"")
    if onset is not None:
        _markers(store, key, float(onset), every)
    return key


def _markers(store: Store, key: RunKey, first: float, every: int) -> None:
    """Each marker-declaring summary with its markers at first, first + every, ... (NaN stays NaN)."""
    from workbench.markers import marker_names

    by_analyzer: dict[str, list[str]] = {}
    for marker, analyzer in marker_names().items():
        by_analyzer.setdefault(analyzer, []).append(marker)
    for analyzer, markers in by_analyzer.items():
        save_npz({m: np.array(first + i * every) for i, m in enumerate(markers)}, store.summary_path(key, analyzer))
