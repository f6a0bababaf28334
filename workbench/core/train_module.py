"""What the trainer calls on a training module: the `TrainModule` contract and its base class.

A family's `train_module(params, state)` builds the module the trainer steps. The trainer
relies on exactly what `TrainModule` declares, and on nothing it has to probe for:

- ``forward(inputs) -> logits``: inputs [rows, ...] -> logits [rows, ..., classes]; a
  module with a member axis (`n_members` not None) maps [member, rows, ...] ->
  [member, rows, ..., classes];
- ``n_members``: None for one model; E for E models stacked on a leading member axis (a
  `stackable` family's module, built from a list of states; one run is E = 1);
- ``hooked_state(member=None)``: the weights (and any state buffers a checkpoint must
  carry) under HookedTransformer names; `member` picks one of a stack (required there);
- ``param_groups()``: {parameter name: group} for the recipe's `no_decay`, or None for the
  default by name (workbench.core.recipe.param_group);
- ``before_step(step, generator)``: called before every training forward, with a
  `torch.Generator` on the module's device seeded from (recipe.batch_seed, step) alone
  (`step_seed(..., stream=MODULE_STREAM)`), so a module that draws in its training forward
  (dropout: see `dropout`) draws the same numbers in a resumed run. A module that keeps the
  generator drops it in `after_step`: evaluation and analysis forwards run outside a
  before/after pair and must not draw;
- ``after_step()``: called after every optimizer step (e.g. to hold frozen slices at their
  initial values, or to count steps);
- ``stochastic``: True if the training forward draws from that generator; a step replayed
  from a captured CUDA graph would reuse one draw, so `--step-mode graph` refuses it.

`TrainModuleBase` is an `nn.Module` with every optional hook as a no-op; families' modules
subclass it (alone, or beside a TransformerLens `HookedRootModule`).

The seeds of everything random in a step are counter-based: `step_seed(seed, step, stream)`
is a pure function of its arguments, so a resumed run needs only the step count.
"""

from __future__ import annotations

from typing import ClassVar, Protocol, runtime_checkable

import torch
from torch import nn

__all__ = ["TrainModule", "TrainModuleBase", "dropout", "step_seed", "step_generator", "OBJECTIVE_STREAM",
           "DATA_STREAM", "MODULE_STREAM"]

OBJECTIVE_STREAM = 0  # the family's objective (e.g. REINFORCE's samples); the seeds every run before had
DATA_STREAM = 1  # a family's fresh training rows (Family.fresh_batches)
MODULE_STREAM = 2  # the module's training forward (TrainModule.before_step: dropout)
_MASK64 = 2**64 - 1


def _splitmix64(x: int) -> int:
    """One round of SplitMix64 (Steele et al. 2014): a bijective 64-bit mix."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return x ^ (x >> 31)


def step_seed(seed: int, step: int, stream: int = OBJECTIVE_STREAM) -> int:
    """The seed of `stream`'s generator at optimizer step `step` (0-based) of a run seeded `seed`.

    Stream 0 keeps the objective's historical seed (seed * 1_000_003 + step) mod 2^63, so
    sampling objectives draw what they always drew; other streams are SplitMix64-mixed, so
    no two streams (nor a stream and the objective's) share a seed at any step.

    >>> step_seed(0, 5), step_seed(0, 5, DATA_STREAM) != step_seed(0, 5, MODULE_STREAM)
    (5, True)
    """
    if stream == OBJECTIVE_STREAM:
        return (seed * 1_000_003 + step) % 2**63
    return _splitmix64(_splitmix64(_splitmix64(seed & _MASK64) ^ step) ^ stream) % 2**63


def step_generator(seed: int, step: int, stream: int, device: str | torch.device = "cpu") -> torch.Generator:
    """A fresh `torch.Generator` on `device` seeded `step_seed(seed, step, stream)`."""
    return torch.Generator(device=device).manual_seed(step_seed(seed, step, stream))


def dropout(x: torch.Tensor, p: float, generator: torch.Generator | None, shared_leading: int = 0) -> torch.Tensor:
    """Inverted dropout whose mask comes from `generator` (torch's F.dropout takes none).

    Kept entries are scaled by exactly 1/(1-p), dropped ones are 0. With no generator (an
    evaluation or analysis forward) or p == 0 it is the identity. The mask is drawn over
    x.shape[shared_leading:] and broadcast over the leading axes: with a stack's member
    axis first (shared_leading=1) every member drops what its solo run drops.
    """
    if generator is None or p == 0:
        return x
    keep = torch.rand(x.shape[shared_leading:], generator=generator, device=x.device) >= p
    return x * keep / (1 - p)


@runtime_checkable
class TrainModule(Protocol):
    """The training module's contract (module docstring)."""

    stochastic: bool

    @property
    def n_members(self) -> int | None: ...

    def __call__(self, inputs: torch.Tensor) -> torch.Tensor: ...

    def hooked_state(self, member: int | None = None) -> dict[str, torch.Tensor]: ...

    def param_groups(self) -> dict[str, str] | None: ...

    def before_step(self, step: int, generator: torch.Generator) -> None: ...

    def after_step(self) -> None: ...


class TrainModuleBase(nn.Module):
    """`TrainModule` with no-op hooks: a module overrides `forward`, `hooked_state` and what it needs."""

    stochastic: ClassVar[bool] = False  # True: the training forward draws from before_step's generator

    @property
    def n_members(self) -> int | None:
        """None: one model, no member axis (a stacked module returns its member count)."""
        return None

    def hooked_state(self, member: int | None = None) -> dict[str, torch.Tensor]:
        """Weights (and checkpointed buffers) under HookedTransformer names, detached and contiguous."""
        raise NotImplementedError(f"{type(self).__name__} must define hooked_state")

    def param_groups(self) -> dict[str, str] | None:
        """{parameter name: group} for the recipe's no_decay; None: by name (recipe.param_group)."""
        return None

    def before_step(self, step: int, generator: torch.Generator) -> None:
        """Before the training forward of optimizer step `step` (0-based); default: nothing."""

    def after_step(self) -> None:
        """After every optimizer step; default: nothing."""
