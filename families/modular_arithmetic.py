"""x op y mod p with a 2-layer transformer, after Power et al. 2022, *Grokking:
Generalization Beyond Overfitting on Small Algorithmic Datasets* (arXiv:2201.02177).

The model reads `[x, op, y]` (the op token is p, so the vocabulary is p+1) and answers
(x op y) mod p at the last position. Defaults are the study in issue 11: 2 layers, 4
heads, d_model 128, FFN 512, learned positions, a 50/50 split of the p^2 pairs, and the
recipe a researcher reported as failing to grok (AdamW lr 1e-3, weight decay 0.1,
betas (0.9, 0.98), 2,000 warmup steps then cosine decay over 100,000, minibatches of
min(512, n_train/2)).

Where this differs from Power et al.'s code (github.com/openai/grok, grok/transformer.py
and grok/training.py at 43efed2 / ec9bc7a), it follows the study as issue 11 states it:

- positions are learned (theirs: fixed sinusoids);
- blocks are pre-LayerNorm with a final LayerNorm, GPT-2 style (theirs: post-LN), and
  every linear map has a bias (theirs: none);
- the activation default is ReLU, as theirs (`--non_linearity relu`); `act_fn=gelu` is offered;
- init is HookedTransformer's N(0, 0.8/sqrt(d_model)) (theirs: torch's defaults);
- their paper's recipe is weight decay 1, 10 warmup steps and a constant lr; the study's
  default recipe is the one quoted above (a variant overrides any recipe field).
"""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import BaseModel, ConfigDict, Field, model_validator

from families._gpt import GPT, GPTShape, init_state, to_bridge, weight_norms
from families.modular_addition import MAX_P, MAX_SEED, is_prime
from workbench.core.capabilities import Capabilities, Modular
from workbench.core.family import Family, TaskData, register_family
from workbench.core.modular import operation_basis
from workbench.core.recipe import Recipe, steps_per_epoch

__all__ = ["ModularArithmetic", "ModularArithmeticParams", "OPERATIONS"]

OPERATIONS = {  # name -> (a, b) -> a op b (reduced mod p by the caller)
    "add": lambda a, b: a + b,
    "subtract": lambda a, b: a - b,
    "multiply": lambda a, b: a * b,
}
STEPS_PER_EVAL = 100  # the study logs metrics every 100 optimizer steps


class ModularArithmeticParams(BaseModel):
    """Defaults are the x+y mod 97 study of issue 11. Bounds as in ModularAdditionParams
    (p <= 1000 so the p^2-row analysis fits in memory; seeds fit torch's generator)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    p: int = Field(97, le=MAX_P, description=f"prime modulus <= {MAX_P}; vocabulary is p+1 with 'op' as token p")
    operation: Literal["add", "subtract", "multiply"] = Field("add", description="x op y mod p")
    seed: int = Field(0, ge=0, lt=MAX_SEED, description="model init seed")
    data_seed: int = Field(0, ge=0, lt=MAX_SEED, description="train/test split seed")
    frac_train: float = Field(0.5, gt=0, lt=1, allow_inf_nan=False, description="fraction of the p^2 pairs that train")
    n_layers: int = Field(2, ge=1, le=12, description="transformer blocks", json_schema_extra={"in_name": "when_set"})
    d_model: int = Field(128, ge=1, le=1024, description="residual width (d_head = d_model / n_heads)", json_schema_extra={"in_name": "when_set"})
    n_heads: int = Field(4, ge=1, le=64, description="attention heads per block", json_schema_extra={"in_name": "when_set"})
    d_mlp: int = Field(512, ge=1, le=8192, description="MLP hidden width", json_schema_extra={"in_name": "when_set"})
    act_fn: Literal["relu", "gelu"] = Field("relu", description="MLP activation (Power et al.: relu)", json_schema_extra={"in_name": "when_set"})
    normalization: Literal["LN"] | None = Field("LN", description="pre-LayerNorm blocks and a final LayerNorm, or none", json_schema_extra={"in_name": "when_set"})

    @model_validator(mode="after")
    def _consistent(self) -> "ModularArithmeticParams":
        if not is_prime(self.p):
            raise ValueError(f"p must be prime, got {self.p}")
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model={self.d_model} is not a multiple of n_heads={self.n_heads}")
        pairs = self.p * self.p
        n_train = int(self.frac_train * pairs)  # as ModularArithmetic.data splits
        if not 2 <= n_train < pairs:  # two rows: the recipe's batch is half the training rows
            raise ValueError(f"frac_train={self.frac_train} gives {n_train} of the {pairs} pairs to training; "
                             "need at least two training and one test pair")
        return self


def n_train(params: ModularArithmeticParams) -> int:
    return int(params.frac_train * params.p * params.p)


@register_family
class ModularArithmetic(Family):
    name = "modular_arithmetic"
    description = "(x op y) mod p from [x, op, y]; 2-layer pre-LN transformer (after Power et al. 2022)"
    Params = ModularArithmeticParams
    # seeds stack on GPT's member axis; each member runs its solo arithmetic (a run alone is a stack of one)
    stackable = True
    tiny = {"params": {"p": 7, "d_model": 32, "d_mlp": 64}, "epochs": 60, "schedule": "0:60:20"}

    def shape(self, params: ModularArithmeticParams) -> GPTShape:
        return GPTShape(n_layers=params.n_layers, n_heads=params.n_heads, d_model=params.d_model,
                        d_head=params.d_model // params.n_heads, d_mlp=params.d_mlp, d_vocab=params.p + 1,
                        d_vocab_out=params.p, n_ctx=3, act_fn=params.act_fn, normalization=params.normalization,
                        answer_only=True)

    def data(self, params: ModularArithmeticParams) -> TaskData:
        p = params.p
        a = torch.arange(p).repeat_interleave(p)
        b = torch.arange(p).repeat(p)
        inputs = torch.stack([a, torch.full_like(a, p), b], dim=1)
        perm = torch.randperm(p * p, generator=torch.Generator().manual_seed(params.data_seed))
        train_mask = torch.zeros(p * p, dtype=torch.bool)
        train_mask[perm[: n_train(params)]] = True
        return TaskData(inputs, OPERATIONS[params.operation](a, b) % p, train_mask)

    def init_state(self, params: ModularArithmeticParams) -> dict[str, torch.Tensor]:
        return init_state(self.shape(params), params.seed)

    def train_module(self, params: ModularArithmeticParams, state) -> GPT:
        return GPT(self.shape(params), state)

    def tl_model(self, params: ModularArithmeticParams, state: dict[str, torch.Tensor], device: str = "cpu"):
        return to_bridge(self.shape(params), state, device)

    def recipe(self, params: ModularArithmeticParams) -> Recipe:
        """The study's recipe: 2,000 warmup + 100,000 cosine steps, metrics every ~100 steps."""
        batch = min(512, n_train(params) // 2)
        per_epoch = steps_per_epoch(Recipe(batch_size=batch), n_train(params))
        return Recipe(steps=102_000, optimizer="adamw", lr=1e-3, weight_decay=0.1, betas=(0.9, 0.98),
                      lr_schedule="warmup_cosine", warmup_steps=2_000, decay_steps=100_000, batch_size=batch,
                      eval_every=max(1, round(STEPS_PER_EVAL / per_epoch)))

    def schedule(self, params: ModularArithmeticParams) -> str:
        """Every 200 steps through warmup and memorization, every 1,000 to step 10,000, then
        every 5,000 as the cosine takes the learning rate away (as epochs: 10 steps each at p=97)."""
        per_epoch = steps_per_epoch(self.recipe(params), n_train(params))
        e = lambda steps: max(1, steps // per_epoch)  # noqa: E731
        return f"0:{e(2_000)}:{e(200)},{e(2_000)}:{e(10_000)}:{e(1_000)},{e(10_000)}:{e(102_000) + 1}:{e(5_000)}"

    def capabilities(self, params: ModularArithmeticParams) -> Capabilities:
        layers = range(params.n_layers)
        resid = ["blocks.0.hook_resid_pre"] + [f"blocks.{i}.hook_resid_{s}" for i in layers for s in ("mid", "post")]
        return Capabilities(
            modular=Modular(p=params.p, operation=params.operation, operands=(0, 2), answer=2),
            transformer=True, n_layers=params.n_layers, n_heads=params.n_heads,
            final_ln=params.normalization == "LN",
            neuron_hooks=[f"blocks.{i}.mlp.hook_post" for i in layers],
            attention_hooks=[f"blocks.{i}.attn.hook_pattern" for i in layers],
            resid_hooks=resid)

    def analysis_context(self, params: ModularArithmeticParams) -> dict:
        """Capabilities, p, and the operation's Fourier basis: additive characters for add and
        subtract, multiplicative characters via discrete log for multiply (workbench.core.modular)."""
        basis = operation_basis(params.p, "multiply" if params.operation == "multiply" else "add")
        return {**self.capabilities(params).as_dict(), "p": params.p, "fourier_basis": basis}

    def extra_metrics(self, module: GPT, logits, data: TaskData) -> list[dict[str, float]]:
        """`wnorm`: per member, the L2 norm of all its parameters together (the weight decay's target)."""
        return [{"wnorm": norm} for norm in weight_norms(module)]
