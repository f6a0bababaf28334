"""Training recipes as data: optimizer, learning-rate schedule, batches, budget, clipping.

A family's `recipe(params)` gives its default `Recipe`; any run may override any field
(`r.FIELD=VALUE` in a variant spec, `--set`, or a `--config` file), and the overrides
are part of the run's identity. Everything here is a pure function of its inputs: the
learning rate is a function of the optimizer step and each epoch's batch order a
function of (batch_seed, epoch), so resuming needs only the step count.

    >>> r = Recipe(lr=1e-3, lr_schedule="warmup_cosine", warmup_steps=10, decay_steps=90, epochs=5)
    >>> lr_at(r, 0), lr_at(r, 9), lr_at(r, 100)
    (0.0001, 0.001, 0.0)
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field, model_validator

from workbench.core.naming import hooked_name

__all__ = ["Recipe", "lr_at", "lr_steps", "decay_integral", "steps_per_epoch", "param_group", "PARAM_GROUPS",
           "build_optimizer", "epoch_batches", "total_epochs"]

PARAM_GROUPS = ("weight", "embed", "bias", "norm", "gate")  # what `no_decay` may name
_FINITE = {"allow_inf_nan": False}


class Recipe(BaseModel):
    """How a model is trained. Defaults reproduce the canonical full-batch AdamW recipe's shape."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    epochs: int | None = Field(None, gt=0, le=10**8, description="budget in passes over the training rows")
    steps: int | None = Field(None, gt=0, le=10**9, description="budget in optimizer steps (instead of epochs)")
    optimizer: Literal["adamw", "adam", "sgd"] = Field("adamw", description="optimizer")
    lr: float = Field(1e-3, gt=0, le=100, **_FINITE, description="peak learning rate")
    weight_decay: float = Field(0.0, ge=0, le=100, **_FINITE, description="(decoupled for adamw) weight decay")
    betas: tuple[float, float] = Field((0.9, 0.98), description="Adam betas")
    momentum: float = Field(0.0, ge=0, lt=1, description="SGD momentum")
    no_decay: tuple[Literal["weight", "embed", "bias", "norm", "gate"], ...] = Field(
        (), description="parameter groups excluded from weight decay")
    lr_schedule: Literal["constant", "warmup", "warmup_cosine", "step"] = Field("constant", description="lr schedule")
    warmup_steps: int = Field(0, ge=0, description="linear warmup steps (warmup, warmup_cosine, step)")
    decay_steps: int = Field(0, ge=0, description="cosine decay steps after warmup (warmup_cosine)")
    min_lr_ratio: float = Field(0.0, ge=0, le=1, **_FINITE, description="cosine floor as a fraction of lr")
    step_every: int = Field(0, ge=0, description="step decay: multiply lr by gamma every N steps")
    gamma: float = Field(0.1, gt=0, le=1, **_FINITE, description="step decay factor")
    batch_size: int | None = Field(None, gt=0, description="rows per step; None is full batch")
    batch_seed: int = Field(0, ge=0, lt=2**63, description="seed of each epoch's batch order")
    grad_clip: float | None = Field(None, gt=0, **_FINITE, description="clip each model's gradient norm to this")
    eval_every: int = Field(100, gt=0, description="evaluate metrics every N epochs")

    @model_validator(mode="after")
    def _consistent(self) -> "Recipe":
        if self.epochs is not None and self.steps is not None:
            raise ValueError("give the budget in epochs or in steps, not both")
        if self.lr_schedule == "warmup_cosine" and self.decay_steps == 0:
            raise ValueError("lr_schedule warmup_cosine needs decay_steps > 0")
        if self.lr_schedule == "step" and self.step_every == 0:
            raise ValueError("lr_schedule step needs step_every > 0")
        if any(not (0 <= b < 1) for b in self.betas):
            raise ValueError(f"betas must lie in [0, 1), got {self.betas}")
        return self


def lr_at(recipe: Recipe, step: int) -> float:
    """The learning rate of optimizer step `step` (0-based): a pure function of the step."""
    lr = recipe.lr
    warm = recipe.warmup_steps if recipe.lr_schedule != "constant" else 0
    if step < warm:
        return lr * (step + 1) / warm
    if recipe.lr_schedule == "warmup_cosine":
        t = min(1.0, (step - warm) / recipe.decay_steps)
        return lr * (recipe.min_lr_ratio + (1 - recipe.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * t)))
    if recipe.lr_schedule == "step":
        return lr * recipe.gamma ** ((step - warm) // recipe.step_every)
    return lr


def lr_steps(recipe: Recipe, n: int) -> np.ndarray:
    """[n] float64 learning rate of optimizer steps 0..n-1: `lr_at` for a whole run at once."""
    step = np.arange(int(n), dtype=np.float64)
    warm = recipe.warmup_steps if recipe.lr_schedule != "constant" else 0
    lr = np.full(len(step), recipe.lr)
    if recipe.lr_schedule == "warmup_cosine":
        t = np.clip((step - warm) / recipe.decay_steps, None, 1.0)
        lr = recipe.lr * (recipe.min_lr_ratio + (1 - recipe.min_lr_ratio) * 0.5 * (1 + np.cos(np.pi * t)))
    elif recipe.lr_schedule == "step":
        lr = recipe.lr * recipe.gamma ** ((step - warm) // recipe.step_every)
    return np.where(step < warm, recipe.lr * (step + 1) / max(warm, 1), lr)


def decay_integral(recipe: Recipe, steps) -> np.ndarray:
    """The weight-decay budget spent after each of `steps` optimizer steps: sum of lr(s) * wd over s < step.

    With AdamW's decoupled decay every step multiplies the weights by (1 - lr * wd), so absent
    gradients they shrink by about exp(-budget); with Adam's or SGD's L2 form it is only the
    penalty's accumulated strength. Parameter groups in `no_decay` are not decayed at all.

    Args:
        recipe: the run's recipe.
        steps: [n] numbers of optimizer steps done (e.g. epoch * steps per epoch).
    Returns:
        [n] float64.
    """
    steps = np.asarray(steps, dtype=np.int64)
    if not steps.size:
        return np.zeros(0)
    cumulative = np.concatenate([[0.0], np.cumsum(lr_steps(recipe, int(steps.max())))])
    return recipe.weight_decay * cumulative[np.clip(steps, 0, None)]


def param_group(name: str) -> str:
    """The group of a parameter by its (HookedTransformer-style) name: embed, bias, norm, gate or weight."""
    parts = hooked_name(name).split(".")
    leaf = parts[-1]
    if any(p.startswith("ln") or p in ("norm", "layernorm") for p in parts):
        return "norm"
    if any("gate" in p for p in parts):
        return "gate"
    if leaf.startswith("b_") or leaf == "bias":
        return "bias"
    if parts[0] in ("embed", "pos_embed") or leaf in ("W_E", "W_pos"):
        return "embed"
    return "weight"


def build_optimizer(recipe: Recipe, named: dict[str, torch.nn.Parameter], groups: dict[str, str] | None = None,
                    capturable: bool = False):
    """The recipe's optimizer over `named` parameters, with no-decay groups split off.

    Args:
        recipe: the recipe.
        named: parameter name -> parameter (in a fixed order).
        groups: parameter name -> group, where the model declares its own (default: `param_group`).
        capturable: Adam(W) keeps its step count on the parameters' device, so a CUDA graph
            can capture the whole step (SGD has no such flag and is built as usual).
    Returns:
        A torch optimizer. With no `no_decay` groups it has exactly one param group, the
        canonical recipe's, so the canonical run's arithmetic is unchanged.
    """
    group_of = {n: (groups or {}).get(n) or param_group(n) for n in named}
    decay = [p for n, p in named.items() if group_of[n] not in recipe.no_decay]
    keep = [p for n, p in named.items() if group_of[n] in recipe.no_decay]
    param_groups = [{"params": decay}] + ([{"params": keep, "weight_decay": 0.0}] if keep else [])
    adam = {"capturable": True} if capturable else {}
    if recipe.optimizer == "adamw":
        return torch.optim.AdamW(param_groups, lr=recipe.lr, betas=recipe.betas, weight_decay=recipe.weight_decay,
                                 **adam)
    if recipe.optimizer == "adam":  # L2 penalty in the gradient, as torch's Adam defines weight_decay
        return torch.optim.Adam(param_groups, lr=recipe.lr, betas=recipe.betas, weight_decay=recipe.weight_decay,
                                **adam)
    return torch.optim.SGD(param_groups, lr=recipe.lr, momentum=recipe.momentum, weight_decay=recipe.weight_decay)


def steps_per_epoch(recipe: Recipe, n_train: int) -> int:
    return 1 if recipe.batch_size is None else max(1, math.ceil(n_train / recipe.batch_size))


def total_epochs(recipe: Recipe, n_train: int, per_epoch: int | None = None) -> int:
    """The budget in epochs (a steps budget rounds up to whole epochs of `per_epoch` steps,
    by default `steps_per_epoch(recipe, n_train)`)."""
    if recipe.steps is not None:
        return math.ceil(recipe.steps / (per_epoch or steps_per_epoch(recipe, n_train)))
    if recipe.epochs is None:
        raise ValueError("recipe has no budget: set epochs or steps")
    return recipe.epochs


def epoch_batches(recipe: Recipe, n_train: int, epoch: int) -> list[torch.Tensor] | None:
    """Row indices of each step of `epoch` (1-based), or None for full batch.

    The order is a fresh permutation from a generator seeded by (batch_seed, epoch), so
    it is the same whether the run was resumed or not, and for every ensemble member.
    """
    if recipe.batch_size is None or recipe.batch_size >= n_train:
        return None
    gen = torch.Generator().manual_seed((recipe.batch_seed * 1_000_003 + epoch) % 2**63)
    return list(torch.randperm(n_train, generator=gen).split(recipe.batch_size))
