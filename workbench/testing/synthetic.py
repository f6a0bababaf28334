"""Synthetic runs: stores with exactly the files a reader reads, written in seconds without training.

- `listed_run`: what `workbench list` and the run index read: a real variant.json record
  (as the trainer writes it), a metrics.npz, empty checkpoint files (listing only counts
  them) and, when asked, the summaries that hold the epoch markers (the first marker of
  each analyzer at `onset`, the next one `every` later);
- `synthetic_run`: every artifact the dashboard shows, arrays following each analyzer's
  declared outputs (names and dims from the analyzer registry) filled with random values
  of the right kind, so the dashboard can be exercised at any size (p=113: 512 neurons x
  113 x 113).
"""

from __future__ import annotations

import numpy as np

from workbench.core.analyzer import get_analyzer, list_analyzers
from workbench.core.variant import parse_variant
from workbench.store._io import save_json, save_npz
from workbench.store.file_store import RunKey, Store
from workbench.store.markers import marker_names

__all__ = ["listed_run", "synthetic_run"]


def listed_run(store: Store, spec: str, *, epochs: int = 1000, every: int = 100, test_acc: float = 1.0,
               onset: float | None = None) -> RunKey:
    """Write a finished fake run of `spec` and return its key.

    Args:
        store: where; spec: the variant; epochs: trained epochs; every: checkpoint spacing;
        test_acc: the final test accuracy; onset: the first epoch marker (None: not analyzed,
        NaN: analyzed and no turn found).
    """
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
    by_analyzer: dict[str, list[str]] = {}
    for marker, analyzer in marker_names().items():
        by_analyzer.setdefault(analyzer, []).append(marker)
    for analyzer, markers in by_analyzer.items():
        save_npz({m: np.array(first + i * every) for i, m in enumerate(markers)}, store.summary_path(key, analyzer))


# ----------------------------------------------------------------- dashboard runs
_MATRICES = np.array(["W_E", "W_pos", "W_Q", "W_K", "W_V", "W_O", "W_in", "W_out", "W_U"])


def _sizes(p: int, n_neurons: int, n_heads: int, n_epochs: int) -> dict[str, int]:
    return {"component": p, "freq": (p - 1) // 2, "rank": 5, "matrix": len(_MATRICES), "k": 32, "param": 4096,
            "neuron": n_neurons, "a": p, "b": p, "head": n_heads, "key_pos": 3, "key": 3, "stage": 3,
            "row": 64, "operand": 2, "epoch": n_epochs, "k_a": p, "k_b": p}


def _array(name: str, dims: tuple, size: dict, p: int, epochs: list[int], rng) -> np.ndarray:
    shape = tuple(size.get(d, 4) for d in dims)  # a dimension added since: small, so views still draw
    if name == "matrix_names":
        return _MATRICES.copy()
    if name == "stages":
        return np.array(["embed", "+attn", "+mlp"])
    if name == "epochs":
        return np.asarray(epochs, dtype=np.int64)
    if name in ("dominant_freqs", "dominant_freq", "key_freqs", "head_dominant_freq"):
        return rng.integers(1, size["freq"] + 1, size=shape)
    if name in ("inputs", "rank", "gap_index", "n_intersections", "neuron_freq_counts"):
        return rng.integers(0, p, size=shape)
    if name in ("is_train", "self_intersects"):
        return rng.random(shape) < 0.5
    if name == "acts":
        return rng.standard_normal(shape).astype(np.float16)
    if name in ("turn_epoch", "loss_turn_epoch", "velocity_peak_epoch"):
        return np.asarray(float(epochs[len(epochs) // 2]))
    return rng.random(shape).astype(np.float32) + 1e-3  # positive: losses and norms go on log axes


def synthetic_run(store: Store, p: int = 17, epochs: list[int] | None = None, seed: int = 0,
                  n_neurons: int = 512, n_heads: int = 4, analyzers: list[str] | None = None) -> RunKey:
    """Write a fake run (variant.json, metrics, empty checkpoints, every analyzer artifact).

    Args:
        store: where to write; p: the modulus; epochs: checkpoint epochs (default 0..1000 step 100);
        seed: variant seed and RNG seed; n_neurons/n_heads: model sizes;
        analyzers: which analyzers to write (default: all registered).
    Returns:
        The run's key.
    """
    epochs = list(range(0, 1001, 100)) if epochs is None else list(epochs)
    variant = parse_variant(f"modular_addition:p={p},seed={seed}")
    key = RunKey(*variant.key)
    rng = np.random.default_rng(seed)
    grid = np.arange(0, epochs[-1] + 1, max(1, epochs[-1] // 100))
    save_json({"variant": variant.spec, "family": variant.family.name, "epochs": epochs[-1],  # a whole record,
               "schedule": ",".join(map(str, epochs)), "checkpoint_epochs": epochs,  # as `list` reads it
               "eval_every": int(grid[1] - grid[0]) if len(grid) > 1 else 1}, store.variant_path(key))
    curve = np.exp(-grid / max(1, epochs[-1] / 4))
    save_npz({"epoch": grid, "train_loss": curve + 1e-4, "test_loss": 2 * curve + 1e-3,
              "train_acc": 1 - curve / 2, "test_acc": 1 - curve}, store.metrics_path(key))
    for epoch in epochs:
        path = store.checkpoint_path(key, epoch)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")  # the dashboard only lists checkpoints; it never loads one
    size = _sizes(p, n_neurons, n_heads, len(epochs))
    for name in analyzers or list_analyzers():
        spec = get_analyzer(name)
        make = lambda: {a: _array(a, dims, size, p, epochs, rng) for a, dims in spec.outputs.items()}  # noqa: E731
        if spec.scope == "summary":
            save_npz(make(), store.summary_path(key, name))
        else:
            for epoch in epochs:
                save_npz(make(), store.artifact_path(key, name, epoch))
    return key
