"""Synthetic runs and arrays: what a reader reads, written in seconds without training anything.

Arrays follow what analyzers declare: each output's dims (`outputs`) and the kind of its
values (`AnalyzerSpec.value_kind`: real, half, int, freq, bool, epoch or label), so a new
analyzer gets plausible synthetic artifacts without anyone editing this file.

- `synthetic_arrays` / `view_arrays`: one analyzer's artifact, or the arrays a view renders;
- `listed_run`: what `workbench list` and the run index read: a real record (as the
  trainer writes it), a metrics table, empty checkpoints (listing only counts them) and,
  when asked, the summaries that hold the epoch markers (the first marker of each analyzer
  at `onset`, the next one `every` later);
- `synthetic_run`: every artifact the dashboard shows, so the dashboard can be exercised at
  any size (p=113: 512 neurons x 113 x 113).
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from workbench.core.analyzer import AnalyzerSpec, get_analyzer, list_analyzers
from workbench.core.variant import parse_variant
from workbench.core.view import get_view
from workbench.store import RunKey, RunRecord, Store
from workbench.store.markers import marker_names

__all__ = ["sizes", "synthetic_arrays", "view_arrays", "listed_run", "synthetic_run", "METRICS"]

METRICS = ("epoch", "train_loss", "train_acc", "test_loss", "test_acc")  # the columns every metrics table has
_LABELS = {"matrix": ("W_E", "W_pos", "W_Q", "W_K", "W_V", "W_O", "W_in", "W_out", "W_U"),
           "stage": ("embed", "+attn", "+mlp"), "key_pos": ("a", "b", "=")}  # labels a view may look for by name


def sizes(p: int = 17, neurons: int = 6, heads: int = 4, epochs: int = 5, **more: int) -> dict[str, int]:
    """The length of each named dimension for a model of modulus `p`; `more` sets others (unnamed ones are 4)."""
    return {"component": p, "freq": (p - 1) // 2, "rank": 5, "matrix": len(_LABELS["matrix"]), "k": 6, "param": 50,
            "neuron": neurons, "a": p, "b": p, "head": heads, "key_pos": 3, "key": 3, "stage": 3, "row": 5,
            "operand": 2, "epoch": epochs, "k_a": p, "k_b": p, "layer": 2, "offset": 8, "prime": 5, "group": 4,
            "top": 3, "shown": 2, "residue": 7, "alert": 2, **more}


def _labels(axis: str, n: int) -> np.ndarray:
    known = _LABELS.get(axis, ())
    return np.array([known[i] if i < len(known) else f"{axis} {i}" for i in range(n)])


def _values(kind: str, name: str, dims: tuple[str, ...], size: Mapping[str, int], grid: np.ndarray,
            rng: np.random.Generator) -> np.ndarray:
    """Values of one declared kind with the declared dims (see the module docstring)."""
    shape = tuple(size.get(d, 4) for d in dims)  # a dimension nobody sized: small, so views still draw
    if kind == "label":
        return _labels(dims[0], shape[0]) if dims else np.array(name)
    if kind == "epoch":
        if dims == ("epoch",):
            return grid.copy()
        return np.asarray(float(grid[len(grid) // 2])) if not dims else rng.choice(grid, size=shape)
    if kind == "freq":
        return rng.integers(1, max(2, size.get("freq", 2) + 1), size=shape)
    if kind == "int":
        return rng.integers(0, max(1, size.get("a", 2)), size=shape)
    if kind == "bool":
        return rng.random(shape) < 0.5
    if kind == "half":
        return rng.standard_normal(shape).astype(np.float16)
    return rng.random(shape).astype(np.float32) + 1e-3  # positive: losses and norms go on log axes


def synthetic_arrays(spec: AnalyzerSpec, size: Mapping[str, int], rng: np.random.Generator,
                     epochs: list[int] | np.ndarray | None = None) -> dict[str, np.ndarray]:
    """An artifact of analyzer `spec`: every declared output, of its declared dims and value kind.

    Args:
        spec: the analyzer; size: dimension name -> length (`sizes`); rng: the generator;
        epochs: the run's checkpoint epochs (default: size["epoch"] of them, 50 apart).
    """
    grid = np.asarray(epochs if epochs is not None else np.arange(size.get("epoch", 4)) * 50, dtype=np.int64)
    return {name: _values(spec.value_kind(name), name, dims, size, grid, rng) for name, dims in spec.outputs.items()}


def view_arrays(view_name: str, size: Mapping[str, int] | None = None,
                rng: np.random.Generator | None = None) -> dict[str, np.ndarray]:
    """What view `view_name` renders, drawn from its sources' declared outputs (flat
    "<source>.<array>" keys for several sources, as workbench.query.views gives them)."""
    view, size = get_view(view_name), size or sizes()
    rng = rng or np.random.default_rng(0)
    n = size.get("epoch", 4)
    per_source = {}
    for source in view.sources:
        if source == "metrics":
            per_source[source] = {"epoch": np.arange(n) * 25, **{k: rng.random(n) + 0.01 for k in METRICS[1:]}}
        else:
            per_source[source] = synthetic_arrays(get_analyzer(source), size, rng)
    if len(view.sources) == 1:
        return per_source[view.sources[0]]
    return {f"{s}.{k}": v for s, arrays in per_source.items() for k, v in arrays.items()}


# ----------------------------------------------------------------- runs
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
    store.write_record(key, RunRecord(
        family=variant.family.name, variant=variant.spec, params=variant.params.model_dump(),
        recipe=variant.recipe.model_dump(), recipe_overrides=dict(variant.recipe_overrides), config=None,
        epochs=epochs, schedule=f"0:{epochs}:{every}", checkpoint_epochs=ckpts, eval_every=every, state_every=1000,
        stacked=False))
    grid = np.asarray(ckpts)
    store.write_metrics(key, {"epoch": grid, "train_loss": np.linspace(1, 0.01, len(grid)),
                              "train_acc": np.linspace(0, 1, len(grid)), "test_loss": np.linspace(2, 0.1, len(grid)),
                              "test_acc": np.linspace(0, test_acc, len(grid))}, last_epoch=epochs)
    _empty_checkpoints(store, key, ckpts)
    if onset is not None:
        _markers(store, key, float(onset), every)
    return key


def _markers(store: Store, key: RunKey, first: float, every: int) -> None:
    """Each marker-declaring summary with its markers at first, first + every, ... (NaN stays NaN)."""
    by_analyzer: dict[str, list[str]] = {}
    for marker, analyzer in marker_names().items():
        by_analyzer.setdefault(analyzer, []).append(marker)
    for analyzer, markers in by_analyzer.items():
        store.write_summary(key, analyzer, {m: np.array(first + i * every) for i, m in enumerate(markers)})


def _empty_checkpoints(store: Store, key: RunKey, epochs: list[int]) -> None:
    """Checkpoints without tensors: listings count them; nothing here loads one."""
    for epoch in epochs:
        store.save_checkpoint(key, epoch, {}, {"epoch": str(epoch)})


def synthetic_run(store: Store, p: int = 17, epochs: list[int] | None = None, seed: int = 0,
                  n_neurons: int = 512, n_heads: int = 4, analyzers: list[str] | None = None) -> RunKey:
    """Write a fake run (record, metrics, empty checkpoints, every analyzer artifact).

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
    store.write_record(key, RunRecord(variant=variant.spec, family=variant.family.name, epochs=epochs[-1],
                                      schedule=",".join(map(str, epochs)), checkpoint_epochs=epochs,
                                      eval_every=int(grid[1] - grid[0]) if len(grid) > 1 else 1))
    curve = np.exp(-grid / max(1, epochs[-1] / 4))
    store.write_metrics(key, {"epoch": grid, "train_loss": curve + 1e-4, "test_loss": 2 * curve + 1e-3,
                              "train_acc": 1 - curve / 2, "test_acc": 1 - curve}, last_epoch=int(grid[-1]))
    _empty_checkpoints(store, key, epochs)  # the dashboard only lists checkpoints; it never loads one
    size = sizes(p, neurons=n_neurons, heads=n_heads, epochs=len(epochs), k=32, param=4096, row=64)
    for name in analyzers or list_analyzers():
        spec = get_analyzer(name)
        if spec.scope == "summary":
            store.write_summary(key, name, synthetic_arrays(spec, size, rng, epochs))
        else:
            for epoch in epochs:
                store.write_artifact(key, name, epoch, synthetic_arrays(spec, size, rng, epochs))
    return key
