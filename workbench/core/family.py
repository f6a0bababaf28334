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

Seams a family may fill (each has a default that changes nothing; `workbench.testing.check_family`
checks them):

- ``train_module(params, state)``: the module the trainer steps, a
  `workbench.core.train_module.TrainModule` (its hooks: `param_groups`, `before_step`,
  `after_step`, `hooked_state(member=)`, the member axis `n_members`);
- ``fresh_batches(params)``: None (default) trains on the fixed training rows of `data`,
  one epoch a pass over them; or a draw ``(step, generator) -> (inputs, labels)`` of the
  rows optimizer step `step` trains on, from a generator the trainer seeds from
  (recipe.batch_seed, step) alone, so a resumed run draws the same rows. One epoch is
  then one step; `data`'s rows are only evaluated (its train rows as "train", the rest as
  "test"; either may be empty, and an empty split's metrics are NaN);
- ``check_new_run(params)``: refuse a setting for runs not yet in the store (raise
  ValueError or UserError with one line); runs that exist still list, load and resume;
- ``objective``, ``loss``, ``extra_metrics``, ``format_log_line``, ``probe``: below.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Iterator, NamedTuple

import torch
import torch.nn.functional as F
from pydantic import BaseModel

from workbench.core.capabilities import Capabilities
from workbench.core.recipe import Recipe
from workbench.core.registry import Registry
from workbench.core.train_module import TrainModule

__all__ = ["Family", "TaskData", "Recipe", "ComparePreset", "IGNORE", "BatchDraw", "register_family", "list_families",
           "get_family", "registered", "plain_log_line", "METRIC_NAMES"]


class TaskData(NamedTuple):
    """The task's rows (for grid tasks the full input grid), labels, and which rows train.

    Labels may have trailing axes (e.g. [n_rows, n_ctx] for next-token tasks); a label of
    IGNORE (-100) is not scored.
    """

    inputs: torch.Tensor  # [n_rows, n_ctx] long
    labels: torch.Tensor  # [n_rows, ...] long
    train_mask: torch.Tensor  # [n_rows] bool


IGNORE = -100  # label of a position that is not scored (F.cross_entropy's ignore_index)
METRIC_NAMES = ("train_loss", "train_acc", "test_loss", "test_acc")  # what the trainer evaluates for every family

# a fresh-batch family's draw: (optimizer step, seeded generator) -> (inputs [rows, ...], labels [rows, ...])
BatchDraw = Callable[[int, torch.Generator], tuple[torch.Tensor, torch.Tensor]]


def plain_log_line(epoch: int, metrics: dict[str, float]) -> str:
    """`--log-format plain`: `Epoch    300 | Train: 100.0% | Test:  47.1% | Loss: 1.23e-04`, then
    any further metrics as `, name=value` (the default `Family.format_log_line`). A run without
    held-out rows (universal_modular's sampling=fresh) reads `Test:   n/a ` where it has no test accuracy."""
    test = metrics["test_acc"]
    test_text = "  n/a " if math.isnan(test) else f"{100 * test:5.1f}%"
    line = (f"Epoch {epoch:6d} | Train: {100 * metrics['train_acc']:5.1f}% | Test: {test_text} "
            f"| Loss: {metrics['train_loss']:.2e}")
    extras = [f"{k}={v:.4g}" for k, v in metrics.items() if k not in METRIC_NAMES]
    return ", ".join([line, *extras])


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
    metrics: tuple[str, ...]  # metrics-table columns, or headline names (a run's analyzed headline)
    ratios: tuple[tuple[str, str, dict, dict], ...] = field(default=())
    # spread: line up every seed (the family's seed_params) of each condition (the first vary
    # param's value) and show each metric per condition as its seed spread, a figure and a
    # table, with each condition tested against `reference` (a value of that param); ratios
    # are then paired per seed
    spread: bool = False
    split: str | None = None  # spread: a param whose values are drawn side by side (e.g. "arch")
    reference: str | None = None
    absent: dict = field(default_factory=dict)  # param -> label of its value when the run does not name it


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
    # params that only reseed a run (init, data split, ...): runs of one family that differ in
    # nothing else form a group (workbench.query.groups), whose spread is the seed noise
    seed_params: ClassVar[tuple[str, ...]] = ("seed", "data_seed")

    @abstractmethod
    def data(self, params: BaseModel) -> TaskData: ...

    @abstractmethod
    def init_state(self, params: BaseModel) -> dict[str, torch.Tensor]:
        """Epoch-0 weights, HookedTransformer-named, from params' model seed."""

    @abstractmethod
    def train_module(self, params: BaseModel, state: dict[str, torch.Tensor] | list[dict[str, torch.Tensor]]) -> TrainModule:
        """The `TrainModule` (workbench.core.train_module) carrying `state`: its forward maps
        inputs to logits and `hooked_state()` returns its weights under the same names.

        A `stackable` family is given a list of states (members sharing `params`'
        architecture, one for a solo run) and returns a module with a leading member axis
        (`n_members` = len(states)): inputs and logits gain that axis and
        `hooked_state(member=k)` returns member k; each member must compute what it would
        alone (`check_family` checks it). Otherwise it is given one state."""

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

    def fresh_batches(self, params: BaseModel) -> BatchDraw | None:
        """None: train on `data`'s fixed training rows (default). Else the draw of each step's rows.

        The draw ``(step, generator) -> (inputs, labels)`` gives the rows optimizer step `step`
        (0-based) trains on, shaped as `data`'s, drawn only from `generator`: a CPU generator
        the trainer seeds from (recipe.batch_seed, step) alone (`train_module.step_seed`,
        DATA_STREAM), so a resumed run redraws the same rows and needs only the step count.
        One epoch is then one step, the recipe's batch_size is unused (the draw sets the
        rows), and stacked members all train on the lead member's draw. `data` then holds
        the rows evaluated: its training rows as "train" and the rest as "test", either
        possibly empty (an empty split's loss and accuracy are NaN).
        """
        return None

    def check_new_run(self, params: BaseModel) -> None:
        """Refuse `params` for a new run by raising ValueError (or UserError) with one line.

        Called only when a run is created, never when one in the store is resumed, extended,
        listed or loaded: a setting found wanting later can be refused for new runs while
        the runs already made with it keep working. `workbench train` turns the refusal into
        one line on stderr and exit 2, with nothing written. Default: accept.
        """

    def format_log_line(self, epoch: int, metrics: dict[str, float]) -> str:
        """The `--log-format plain` line of one evaluation (default: `plain_log_line`)."""
        return plain_log_line(epoch, metrics)

    def objective(self, logits: torch.Tensor, labels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """The training loss per member [...] (default: `loss`). `generator` is seeded from
        (batch_seed, step), for objectives that sample (e.g. REINFORCE), so resume is exact."""
        return self.loss(logits, labels)

    def extra_metrics(self, module: TrainModule, logits: torch.Tensor | None, data: TaskData) -> list[dict[str, float]]:
        """Family-specific metrics per member at each evaluation (e.g. weight norm), or [].

        `logits` are the module's over all of `data`'s rows [member, rows, ..., classes], or
        None where the trainer evaluated in row chunks (the family forwards what it needs)."""
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


@contextmanager
def registered(family: Family) -> Iterator[Family]:
    """Register `family` (an instance) for the duration of a with-block, e.g. a family a test
    defines; the one already registered under its name, if any, is used and kept."""
    entries = _FAMILIES.registered()
    if family.name in _FAMILIES:
        yield _FAMILIES.get(family.name)
        return
    entries[family.name] = family
    try:
        yield family
    finally:
        entries.pop(family.name, None)
