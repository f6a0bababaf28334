"""Modular addition, the canonical grokking family (Nanda et al. 2023; the TransformerLens
grokking demo): predict (a + b) mod p from the tokens [a, b, =] with a one-layer,
four-head, ReLU, no-LayerNorm transformer trained full-batch with AdamW.

The model is `families._gpt.GPT` on its "tables" path (one layer from per-(position, token)
tables, the answer position only, seeds stacked on the member axis) with frozen zero
biases, as the TransformerLens grokking demo trains weights only."""

from __future__ import annotations

import torch
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from families._gpt import GPT, GPTShape, init_state, to_bridge
from workbench.core.capabilities import Capabilities, Modular
from workbench.core.family import Family, Recipe, TaskData, register_family
from workbench.core.fourier import fourier_basis

__all__ = ["ModularAddition", "ModularAdditionParams", "is_prime", "MAX_P", "MAX_SEED"]


MAX_P = 1000  # see ModularAdditionParams
MAX_SEED = 2**63  # seeds must fit torch.Generator.manual_seed's signed 64-bit range


def is_prime(n: int) -> bool:
    return n >= 2 and all(n % d for d in range(2, int(n**0.5) + 1))


class ModularAdditionParams(BaseModel):
    """Defaults are the canonical Nanda et al. variant.

    Bounds keep a variant trainable and analyzable on one machine and fail fast:

    - `p <= 1000`: analysis runs the model on all p^2 pairs at once, so the logits alone are
      p^2 x p float32, 4 GB at p = 1000 (and 80 GB at p = 100,003). The bound is checked
      before the primality test, which would take minutes for a p near 10^18.
    - seeds in [0, 2^63), the range of `torch.Generator.manual_seed`.
    - `lr` in (0, 100], `weight_decay` in [0, 100], both finite: an infinite rate trains
      straight to NaN, and 100 is the bound `workbench.core.recipe.Recipe` puts on both.
    - `frac_train` leaves at least one training and one test pair of the p^2.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")
    p: int = Field(113, le=MAX_P, description=f"prime modulus <= {MAX_P}; vocabulary is p+1 with '=' as token p")
    seed: int = Field(999, ge=0, lt=MAX_SEED, description="model init seed")
    data_seed: int = Field(598, ge=0, lt=MAX_SEED, description="train/test split seed")
    frac_train: float = Field(0.3, gt=0, lt=1, allow_inf_nan=False, description="fraction of the p^2 pairs that train")
    lr: float = Field(1e-3, gt=0, le=100, allow_inf_nan=False, description="AdamW learning rate")
    weight_decay: float = Field(1.0, ge=0, le=100, allow_inf_nan=False, description="AdamW weight decay")

    @field_validator("p")
    @classmethod
    def _prime(cls, p: int) -> int:
        if not is_prime(p):
            raise ValueError(f"p must be prime, got {p}")
        return p

    @model_validator(mode="after")
    def _both_splits_nonempty(self) -> "ModularAdditionParams":
        pairs = self.p * self.p
        n_train = int(self.frac_train * pairs)  # as ModularAddition.data splits
        if not 1 <= n_train < pairs:
            raise ValueError(f"frac_train={self.frac_train} gives {n_train} of the {pairs} pairs to training; "
                             "need at least one training and one test pair")
        return self


@register_family
class ModularAddition(Family):
    name = "modular_addition"
    description = "(a + b) mod p from [a, b, =]; 1-layer transformer (Nanda et al. 2023)"
    Params = ModularAdditionParams
    # Groks on 2 CPU cores in a few minutes: a smaller prime, a larger train fraction and a
    # higher learning rate pull grokking from ~11k epochs (p=113, 30%) to ~2-3k, while keeping
    # a clear memorize-then-generalize gap (train acc 1.0 by epoch ~300, test acc < 0.2 at 500).
    demo = {"params": {"p": 53, "frac_train": 0.4, "lr": 3e-3}, "epochs": 3500,
            "schedule": "0:3500:100", "eval_every": 50}
    stackable = True  # GPT stacks seeds on a member axis
    tiny = {"params": {"p": 17, "frac_train": 0.5}, "epochs": 60, "schedule": "0:60:20"}

    def shape(self, params: ModularAdditionParams) -> GPTShape:
        return GPTShape(n_layers=1, d_vocab=params.p + 1, d_vocab_out=params.p, n_ctx=3, normalization=None,
                        answer_path="tables", train_biases=False)

    def data(self, params: ModularAdditionParams) -> TaskData:
        p = params.p
        a = torch.arange(p).repeat_interleave(p)
        b = torch.arange(p).repeat(p)
        inputs = torch.stack([a, b, torch.full_like(a, p)], dim=1)
        perm = torch.randperm(p * p, generator=torch.Generator().manual_seed(params.data_seed))
        train_mask = torch.zeros(p * p, dtype=torch.bool)
        train_mask[perm[: int(params.frac_train * p * p)]] = True
        return TaskData(inputs, (a + b) % p, train_mask)

    def init_state(self, params: ModularAdditionParams) -> dict[str, torch.Tensor]:
        return init_state(self.shape(params), params.seed)

    def train_module(self, params: ModularAdditionParams, state) -> GPT:
        return GPT(self.shape(params), state)

    def tl_model(self, params: ModularAdditionParams, state: dict[str, torch.Tensor], device: str = "cpu"):
        return to_bridge(self.shape(params), state, device)

    def recipe(self, params: ModularAdditionParams) -> Recipe:
        return Recipe(epochs=25_000, lr=params.lr, weight_decay=params.weight_decay, betas=(0.9, 0.98), eval_every=100)

    def schedule(self, params: ModularAdditionParams) -> str:
        # dense through memorization, sparse on the plateau, dense again around the usual
        # p=113 transition on this trainer (test acc 0.19 -> 0.99 over ~14k-15.5k), sparse through cleanup
        return "0:1500:100,1500:13000:500,13000:16500:100,16500:25001:500"

    def capabilities(self, params: ModularAdditionParams) -> Capabilities:
        return Capabilities(
            modular=Modular(p=params.p, operation="add", operands=(0, 1), answer=2),
            transformer=True, n_layers=1, n_heads=4, final_ln=False,
            neuron_hooks=["blocks.0.mlp.hook_post"], attention_hooks=["blocks.0.attn.hook_pattern"],
            resid_hooks=["blocks.0.hook_resid_pre", "blocks.0.hook_resid_mid", "blocks.0.hook_resid_post"])

    def analysis_context(self, params: ModularAdditionParams) -> dict:
        return {**self.capabilities(params).as_dict(), "p": params.p, "fourier_basis": fourier_basis(params.p)}
