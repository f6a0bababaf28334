"""What the pipeline hands an analyzer. Analyzers never load checkpoints or run models."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

__all__ = ["EpochContext", "SummaryContext", "GroupContext"]


def _no_reference(name: str) -> dict[str, np.ndarray]:
    raise KeyError(f"no final-checkpoint reference {name!r} in this context; declare it with register_analyzer(reference=...)")


@dataclass
class EpochContext:
    """One checkpoint: the model, a cache of only the declared hooks, and the probe.

    Attributes:
        epoch: the checkpoint's epoch.
        model: the TransformerLens bridge carrying the checkpoint (for W_E, W_U, ... access).
        weights: HookedTransformer-named weights as float32 numpy arrays.
        cache: hook name -> numpy activations over the probe, only the requested hooks.
            Shapes follow TransformerLens: [batch, pos, ...].
        logits: [batch, pos, d_vocab_out] model output over the probe.
        probe: [batch, n_ctx] input tokens (default: the family's full input grid).
        labels: [batch] correct answers for the probe.
        train_mask, test_mask: [batch] bool, which probe rows are in the training split.
        family: the family's capabilities (workbench.core.family) plus extras, e.g.
            {"modular": {"p": 113, "operation": "add", "operands": (0, 1), "answer": 2},
            "neuron_hooks": [...], "fourier_basis": [p, p]}.
        options: per-run options (e.g. {"trace_inputs": [[a, b], ...]}).
        reference: `reference(name)` -> the arrays per-epoch analyzer `name` wrote for the
            run's FINAL checkpoint; only names the analyzer declared in `reference=` resolve.
    """

    epoch: int
    model: Any
    weights: Mapping[str, np.ndarray]
    cache: Mapping[str, np.ndarray]
    logits: np.ndarray
    probe: np.ndarray
    labels: np.ndarray
    train_mask: np.ndarray
    test_mask: np.ndarray
    family: Mapping[str, Any]
    options: Mapping[str, Any]
    reference: Callable[[str], dict[str, np.ndarray]] = field(default=lambda name: _no_reference(name))

    @property
    def p(self) -> int:
        """The modulus of a modular family (capabilities["modular"]["p"])."""
        return int(self.family["modular"]["p"])


@dataclass
class SummaryContext:
    """The whole checkpoint sequence of one variant.

    Attributes:
        epochs: [n_epochs] checkpoint epochs, ascending.
        metrics: the training metrics table: {"epoch", "train_loss", "train_acc", "test_loss", "test_acc"}.
        artifacts: `artifacts(name)` -> {array: np.stack over epochs} of a per-epoch analyzer
            listed in the summary's `requires` (leading axis = `epochs`).
        family: family facts, as in EpochContext.
        recipe: the run's recipe (workbench.core.recipe.Recipe: the family's with the run's overrides).
        steps_per_epoch: optimizer steps in one epoch of this run (its batches over its training rows).
    """

    epochs: np.ndarray
    metrics: Mapping[str, np.ndarray]
    artifacts: Callable[[str], dict[str, np.ndarray]]
    family: Mapping[str, Any]
    recipe: Any = None
    steps_per_epoch: int = 1


@dataclass
class GroupContext:
    """Several runs of one family, read together (a group-scope analyzer's input).

    Attributes:
        runs: [run] each run's variant spec, in the group's order.
        epochs: per run, its checkpoint epochs, ascending (runs may have different ones).
        artifacts: `artifacts(name)` -> per run, {array: np.stack over that run's epochs} of a
            per-epoch analyzer listed in the group analyzer's `requires`.
        family: the family facts of the group's first run, as in EpochContext.
    """

    runs: list[str]
    epochs: list[np.ndarray]
    artifacts: Callable[[str], list[dict[str, np.ndarray]]]
    family: Mapping[str, Any]
