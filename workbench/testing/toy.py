"""A seconds-scale family that exercises every optional seam of the family and module contracts.

`ToyFamily` ((a + b) mod p by a one-hidden-layer MLP on one-hot a, b) is not registered; a
test registers it for a while (`workbench.core.family.registered`) or hands the class to
`check_family`. Its params switch the seams on:

- ``fresh=True``: `fresh_batches` draws `batch` rows of the p^2 pairs per step (from the
  trainer's generator, out of the pairs that `data_seed` admits to the pool), and `data`
  evaluates all p^2 pairs as "train": the test split is empty (its metrics NaN);
- ``dropout > 0``: the module drops hidden units in its training forward, from the
  generator `before_step` hands it, one mask shared by every member of a stack;
- ``legacy=True``: `check_new_run` refuses it, so only runs made before the refusal have it.

The module stacks members on a leading axis (the family is stackable), and its analysis
model is the module itself (no hooks: no analyzer applies to it).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from workbench.core.capabilities import Capabilities
from workbench.core.family import BatchDraw, Family, Recipe, TaskData
from workbench.core.naming import hooked_name, param_name
from workbench.core.train_module import TrainModuleBase, dropout

__all__ = ["ToyFamily", "ToyParams", "ToyNet"]


class ToyParams(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    p: int = Field(7, ge=2, le=31, description="modulus")
    hidden: int = Field(16, ge=1, le=256, description="hidden units")
    seed: int = Field(0, ge=0, lt=2**63, description="model init seed")
    data_seed: int = Field(0, ge=0, lt=2**63, description="fixed split, or (fresh) which pairs may be drawn")
    fresh: bool = Field(False, description="draw fresh rows every step; every pair evaluates as train")
    batch: int = Field(16, ge=1, le=4096, description="rows per fresh draw")
    dropout: float = Field(0.0, ge=0, lt=1, description="dropout on the hidden units in training")
    legacy: bool = Field(False, description="a setting new runs refuse (check_new_run)")


def _shapes(params: ToyParams) -> dict[str, tuple[int, ...]]:
    return {"mlp.W_in": (2 * params.p, params.hidden), "mlp.b_in": (params.hidden,),
            "unembed.W_U": (params.hidden, params.p), "unembed.b_U": (params.p,)}


class ToyNet(TrainModuleBase):
    """One-hot (a, b) -> ReLU hidden (dropout in training) -> p logits, on a leading member axis."""

    def __init__(self, params: ToyParams, states: list[dict[str, torch.Tensor]]):
        super().__init__()
        self.p, self.rate = params.p, params.dropout
        self.stochastic = params.dropout > 0
        self._generator: torch.Generator | None = None  # set for one training forward only
        for name in _shapes(params):
            self.register_parameter(param_name(name), nn.Parameter(torch.stack([s[name] for s in states])))

    @property
    def n_members(self) -> int:
        return self.mlp__W_in.shape[0]

    def hooked_state(self, member: int | None = None) -> dict[str, torch.Tensor]:
        if member is None:
            raise ValueError("hooked_state(member=k) for a stacked module")
        return {hooked_name(n): q[member].detach().contiguous() for n, q in self.named_parameters()}

    def before_step(self, step: int, generator: torch.Generator) -> None:
        self._generator = generator if self.stochastic else None

    def after_step(self) -> None:
        self._generator = None  # evaluation forwards never drop

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """tokens [member, rows, 2] -> logits [member, rows, p]."""
        x = torch.cat([F.one_hot(tokens[..., 0], self.p), F.one_hot(tokens[..., 1], self.p)], -1).float()
        hidden = F.relu(x @ self.mlp__W_in + self.mlp__b_in[:, None])
        if self._generator is not None:  # one mask [rows, hidden] for every member: each drops what it would alone
            hidden = dropout(hidden, self.rate, self._generator, shared_leading=1)
        return hidden @ self.unembed__W_U + self.unembed__b_U[:, None]


class _Analysis(nn.Module):
    """The analysis model: the module for one member, rows [rows, 2] -> [rows, 1, p]."""

    def __init__(self, net: ToyNet):
        super().__init__()
        self.net = net

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.net(tokens[None])[0][:, None]


class ToyFamily(Family):
    name = "toy_seams"
    description = "(a + b) mod p by a tiny MLP: fresh batches, dropout and a refused setting (test seams)"
    Params = ToyParams
    stackable = True
    # the conformance variant turns on fresh rows and dropout: resume and stacking are checked with both
    tiny = {"params": {"fresh": True, "dropout": 0.25}, "epochs": 300, "schedule": "0:300:100"}

    def _grid(self, params: ToyParams) -> tuple[torch.Tensor, torch.Tensor]:
        a, b = torch.arange(params.p).repeat_interleave(params.p), torch.arange(params.p).repeat(params.p)
        return torch.stack([a, b], 1), (a + b) % params.p

    def data(self, params: ToyParams) -> TaskData:
        inputs, labels = self._grid(params)
        if params.fresh:  # every pair is evaluated as "train": no test split
            return TaskData(inputs, labels, torch.ones(len(labels), dtype=torch.bool))
        perm = torch.randperm(len(labels), generator=torch.Generator().manual_seed(params.data_seed))
        mask = torch.zeros(len(labels), dtype=torch.bool)
        mask[perm[: len(labels) // 2]] = True
        return TaskData(inputs, labels, mask)

    def fresh_batches(self, params: ToyParams) -> BatchDraw | None:
        if not params.fresh:
            return None
        inputs, labels = self._grid(params)
        pool = torch.randperm(len(labels), generator=torch.Generator().manual_seed(params.data_seed))
        pool = pool[: math.ceil(0.75 * len(pool))]  # the pairs data_seed admits

        def draw(step: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
            rows = pool[torch.randint(len(pool), (params.batch,), generator=generator)]
            return inputs[rows], labels[rows]

        return draw

    def check_new_run(self, params: ToyParams) -> None:
        if params.legacy:
            raise ValueError("legacy=True is refused for new runs (runs made with it still load)")

    def init_state(self, params: ToyParams) -> dict[str, torch.Tensor]:
        gen = torch.Generator().manual_seed(params.seed)
        return {name: torch.randn(dims, generator=gen) / math.sqrt(dims[0]) if ".W_" in name else torch.zeros(dims)
                for name, dims in _shapes(params).items()}

    def train_module(self, params: ToyParams, state) -> ToyNet:
        return ToyNet(params, state if isinstance(state, list) else [state])

    def tl_model(self, params: ToyParams, state: dict[str, torch.Tensor], device: str = "cpu") -> nn.Module:
        return _Analysis(ToyNet(params, [state]).to(device))

    def recipe(self, params: ToyParams) -> Recipe:
        return Recipe(epochs=100, lr=3e-3, weight_decay=0.1, eval_every=2)

    def schedule(self, params: ToyParams) -> str:
        return "0:101:10"

    def capabilities(self, params: ToyParams) -> Capabilities:
        return Capabilities(mlp=True, n_layers=1)
