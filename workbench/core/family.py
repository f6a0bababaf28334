"""What a family provides: params, task data, model, loss, recipe, schedule and capabilities.

A family is one file in a plugin package (the built-in ones are in `families/`) that
subclasses `Family` and registers itself with `@register_family`. Everything downstream
(trainer, analyzers, dashboard) talks to families only through this interface and the
registry here (family name -> Family instance), so a new task is one more file.

Capabilities (`capabilities(params)`, a typed `workbench.core.capabilities.Capabilities`)
say what a family is, so analyzers and views that declare `needs=(...)` run only where
they apply. Its fields (a need is met when the field is set and truthy):

- ``modular``: {"p", "operation" ("add" | "multiply" | ...), "operands": (i, j) token
  positions of a and b, "answer": position whose logits answer} for tasks whose probe is
  the full p x p grid of operand pairs;
- ``transformer`` (bool), ``mlp`` (bool), ``n_layers``, ``n_heads``;
- ``neuron_hooks``: per layer, the hook holding neuron activations [batch, pos, d_mlp];
- ``attention_hooks``: per layer, the attention-pattern hook [batch, head, q, k];
- ``resid_hooks``: residual stream after the embeddings and after each component, in
  order (the logit lens unembeds each); ``final_ln`` (bool): a LayerNorm precedes W_U;
- ``sequence`` (bool): next-token prediction at every position;
- ``extra_metrics``: the names of the columns `extra_metrics` adds to the metrics table;
- ``routing``: {"n_heads", "gate_hooks": per block, the hook holding the routing gate
  [batch, head]} for networks whose blocks mix parallel heads by a learned gate;
- ``multi_prime``: {"max_p", "primes", "groups" (per prime: 0 seen, 1 unseen, 2
  extrapolation, 3 below the range), "modulus", "operands" (positions of p, a, b),
  "answer", "answer_neuron_hook"} for one model over many moduli whose probe holds all
  p^2 pairs of every prime in "primes".

A param whose Field carries ``json_schema_extra={"in_name": "when_set"}`` appears in the
run's directory name only when it differs from its default, so adding a param to a
family never renames (orphans) the runs already in a store.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar, NamedTuple

import torch
import torch.nn.functional as F
from pydantic import BaseModel

from workbench.core.capabilities import Capabilities
from workbench.core.recipe import Recipe
from workbench.core.registry import Registry

__all__ = ["Family", "TaskData", "Recipe", "ComparePreset", "IGNORE", "register_family", "list_families",
           "get_family"]


class TaskData(NamedTuple):
    """The task's rows (for grid tasks the full input grid), labels, and which rows train.

    Labels may have trailing axes (e.g. [n_rows, n_ctx] for next-token tasks); a label of
    IGNORE (-100) is not scored.
    """

    inputs: torch.Tensor  # [n_rows, n_ctx] long
    labels: torch.Tensor  # [n_rows, ...] long
    train_mask: torch.Tensor  # [n_rows] bool


IGNORE = -100  # label of a position that is not scored (F.cross_entropy's ignore_index)


@dataclass(frozen=True)
class ComparePreset:
    """A way to line up related runs of one family on the compare page (e.g. a study's conditions).

    The runs lined up share every parameter except those in `vary`; they are ordered by the
    first `vary` parameter (in the order of its declared choices when it is a Literal). The
    page overlays `metrics` (columns of the metrics table) and tabulates their values at the
    last evaluation, with each ratio (label, metric, numerator params, denominator params),
    e.g. ("mean-preserving / constraint accuracy", "test_acc", {"condition": "mean_clamp"},
    {"condition": "constraint"}).
    """

    vary: tuple[str, ...]
    metrics: tuple[str, ...]
    ratios: tuple[tuple[str, str, dict, dict], ...] = field(default=())


class Family(ABC):
    """Base class for a task + model + training recipe."""

    name: ClassVar[str]
    description: ClassVar[str]
    Params: ClassVar[type[BaseModel]]  # frozen pydantic model; its defaults are the canonical variant
    demo: ClassVar[dict[str, Any]] = {}  # params of the quick demo variant (`workbench train` alone)
    # True if `train_module` accepts a list of states and stacks them on a leading member
    # axis (seed sweeps train as one model); otherwise sweeps refuse with one line
    stackable: ClassVar[bool] = False
    # a seconds-scale variant for the family conformance suite (tests/integration/
    # test_family_conformance.py): {"params": {...}, "epochs": N, "schedule": SPEC}, plus
    # optional "recipe": {field: value} overrides; every family must declare one
    tiny: ClassVar[dict[str, Any]] = {}
    # named ways to line up related runs on the dashboard's compare page (ComparePreset)
    compare_presets: ClassVar[dict[str, ComparePreset]] = {}

    @abstractmethod
    def data(self, params: BaseModel) -> TaskData: ...

    @abstractmethod
    def init_state(self, params: BaseModel) -> dict[str, torch.Tensor]:
        """Epoch-0 weights, HookedTransformer-named, from params' model seed."""

    @abstractmethod
    def train_module(self, params: BaseModel, state: dict[str, torch.Tensor] | list[dict[str, torch.Tensor]]) -> torch.nn.Module:
        """A module carrying `state` whose forward maps inputs to logits and whose
        `hooked_state()` returns its weights under the same names. If the family is
        `stackable` and given a list of states (members sharing `params`' architecture) it
        is an ensemble: inputs and logits gain a leading member axis and
        `hooked_state(member=k)` returns member k.

        Optional hooks the trainer calls when the module has them: `param_groups()` ->
        {parameter name: group} for the recipe's `no_decay` (default: by name, see
        workbench.core.recipe.param_group), and `after_step()` after every optimizer step
        (e.g. to hold frozen slices at their initial values)."""

    @abstractmethod
    def tl_model(self, params: BaseModel, state: dict[str, torch.Tensor], device: str = "cpu") -> Any:
        """The TransformerLens model carrying `state`, ready for `run_with_cache`."""

    @abstractmethod
    def recipe(self, params: BaseModel) -> Recipe: ...

    @abstractmethod
    def schedule(self, params: BaseModel) -> str:
        """Default checkpoint schedule SPEC for the full recipe (clipped to shorter runs)."""

    def capabilities(self, params: BaseModel) -> Capabilities:
        """What this family is (the module docstring lists the fields)."""
        return Capabilities()

    def analysis_context(self, params: BaseModel) -> dict[str, Any]:
        """Family facts analyzers may use: the capabilities (as a dict) plus extras (e.g. a Fourier basis)."""
        return self.capabilities(params).as_dict()

    def probe(self, params: BaseModel) -> TaskData:
        """The rows analysis runs the model on (default: all of `data`). A family whose data
        is large (e.g. many long sequences) returns a fixed, seeded subset, which bounds the
        memory of one checkpoint's cache."""
        return self.data(params)

    def objective(self, logits: torch.Tensor, labels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """The training loss per member [...] (default: `loss`). `generator` is seeded from
        (batch_seed, step), for objectives that sample (e.g. REINFORCE), so resume is exact."""
        return self.loss(logits, labels)

    def extra_metrics(self, module: torch.nn.Module, logits: torch.Tensor, data: TaskData) -> list[dict[str, float]]:
        """Family-specific metrics per member at each evaluation (e.g. weight norm), or []."""
        return []

    def loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Mean cross-entropy over the batch axis: logits [..., batch, classes] -> [...]."""
        # float64 log-softmax, as in the grokking demo: float32 rounds tiny losses to zero
        # and stalls the late, weight-decay-driven phase of training.
        per_row = F.cross_entropy(logits.flatten(0, -2).to(torch.float64), labels.flatten(), reduction="none")
        return per_row.view(labels.shape).mean(-1)


_FAMILIES: Registry[Family] = Registry("family", "workbench.families")  # family name -> Family instance


def register_family(cls: type[Family]) -> type[Family]:
    """Class decorator: instantiate and register a Family under `cls.name`."""
    _FAMILIES.add(cls.name, cls())
    return cls


def list_families() -> list[str]:
    return _FAMILIES.list_()


def get_family(name: str) -> Family:
    return _FAMILIES.get(name)
