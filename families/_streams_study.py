"""The study's model (`arch=study`): LostInSubSpace's exp_a_foundation.py `SimpleTransformer`,
written from its description (study notes for issue 29, section 2.1), under our weight names.

Per block, post-LayerNorm: ``u = LN1(x + attn(x))``, ``x = LN2(u + FF(u))``; then
``z = LN_final(x)`` and ``logits = z W_U + b_U``. FF is Linear(d, d_mlp) -> ReLU -> dropout ->
Linear(d_mlp, d) -> dropout with d_mlp = d_model (the study's "crippled" FF). Attention has
no mask by default (the study calls nn.MultiheadAttention without one, so position i sees
its own target at i + 1: the leak `attn_mask=causal` removes), dropout on its probabilities.
Dropout (p = STUDY_DROPOUT) acts only in a training forward that `before_step` handed a
generator, so a resumed run drops the same units and evaluation never drops.

Init follows PyTorch's defaults for those layers (the study sets none): embeddings N(0, 1),
Q/K/V Xavier-uniform over the fused [3d, d] in_proj, attention biases 0, every other Linear
weight and bias U(+-1/sqrt(fan_in)), LayerNorm 1 and 0; drawn from one seeded generator.

`site_fn(name, x)` is called at the hooks ``blocks.{i}.attn.hook_pattern`` [batch, head, q, k],
``blocks.{i}.hook_attn_out``, ``blocks.{i}.hook_resid_mid`` (LN1 out),
``blocks.{i}.hook_mlp_out`` (after its dropout), ``blocks.{i}.hook_resid_post`` (LN2 out) and
``ln_final.hook_normalized``; its result continues the forward. `StudyAnalysis` turns those
into TransformerLens hook points for analysis (`run_with_cache`).
"""

from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn
from transformer_lens import HookedRootModule
from transformer_lens.hook_points import HookPoint

from families._gpt import LN_EPS, param_shapes
from workbench.core.train_module import dropout

__all__ = ["study_init", "study_forward", "StudyAnalysis", "STUDY_DROPOUT", "BLOCK_HOOKS"]

STUDY_DROPOUT = 0.1
BLOCK_HOOKS = ("hook_resid_pre", "hook_attn_out", "hook_resid_mid", "hook_mlp_out", "hook_resid_post")
Site = Callable[[str, torch.Tensor], torch.Tensor]


def study_init(shape, seed: int) -> dict[str, torch.Tensor]:
    """PyTorch-default-like init of the study's layers (module docstring), from one generator."""
    gen = torch.Generator().manual_seed(seed)
    d = shape.d_model

    def uniform(dims, bound):
        return (torch.rand(dims, generator=gen) * 2 - 1) * bound

    fan_in = {"W_O": d, "W_in": d, "b_in": d, "W_out": shape.d_mlp, "b_out": shape.d_mlp, "W_U": d, "b_U": d}
    state = {}
    for name, dims in param_shapes(shape).items():
        leaf = name.rsplit(".", 1)[1]
        if leaf in ("W_E", "W_pos"):
            state[name] = torch.randn(dims, generator=gen)
        elif leaf in ("W_Q", "W_K", "W_V"):
            state[name] = uniform(dims, math.sqrt(6 / (d + 3 * d)))
        elif leaf in fan_in:
            state[name] = uniform(dims, 1 / math.sqrt(fan_in[leaf]))
        else:  # attention biases 0, LayerNorm w 1 and b 0
            state[name] = torch.ones(dims) if leaf == "w" else torch.zeros(dims)
    return state


def _ln(w: dict[str, torch.Tensor], x: torch.Tensor, name: str) -> torch.Tensor:
    x = x - x.mean(-1, keepdim=True)
    return x / (x.pow(2).mean(-1, keepdim=True) + LN_EPS).sqrt() * w[f"{name}.w"] + w[f"{name}.b"]


def _attention(w, x, b: str, mask: torch.Tensor | None, site: Site, gen, p: float) -> torch.Tensor:
    q, k, v = (torch.einsum("bpd,hde->bhpe", x, w[f"{b}.attn.W_{c}"]) + w[f"{b}.attn.b_{c}"][:, None]
               for c in "QKV")
    scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])  # [batch, head, q, k]
    if mask is not None:
        scores = scores.masked_fill(mask[: x.shape[1], : x.shape[1]], float("-inf"))
    pattern = dropout(site(f"{b}.attn.hook_pattern", scores.softmax(-1)), p, gen)
    z = pattern @ v  # [batch, head, pos, d_head]
    return torch.einsum("bhpe,hed->bpd", z, w[f"{b}.attn.W_O"]) + w[f"{b}.attn.b_O"]


def study_forward(shape, w: dict[str, torch.Tensor], tokens: torch.Tensor, mask: torch.Tensor | None,
                  site: Site, gen: torch.Generator | None, p: float = STUDY_DROPOUT) -> torch.Tensor:
    """tokens [batch, pos] -> logits [batch, pos, vocab]; `mask` [n_ctx, n_ctx] bool (True = hidden) or None."""
    x = w["embed.W_E"][tokens] + w["pos_embed.W_pos"][: tokens.shape[1]]
    for i in range(shape.n_layers):
        b = f"blocks.{i}"
        x = site(f"{b}.hook_resid_pre", x)
        attn_out = site(f"{b}.hook_attn_out", _attention(w, x, b, mask, site, gen, p))
        u = site(f"{b}.hook_resid_mid", _ln(w, x + attn_out, f"{b}.ln1"))
        hidden = dropout(F.relu(u @ w[f"{b}.mlp.W_in"] + w[f"{b}.mlp.b_in"]), p, gen)
        ff = dropout(hidden @ w[f"{b}.mlp.W_out"] + w[f"{b}.mlp.b_out"], p, gen)
        x = site(f"{b}.hook_resid_post", _ln(w, u + site(f"{b}.hook_mlp_out", ff), f"{b}.ln2"))
    z = site("ln_final.hook_normalized", _ln(w, x, "ln_final"))
    return z @ w["unembed.W_U"] + w["unembed.b_U"]


class _Hooks(nn.Module):
    def __init__(self, names: tuple[str, ...]):
        super().__init__()
        for name in names:
            setattr(self, name, HookPoint())


class StudyAnalysis(HookedRootModule):
    """The analysis model of an arch=study run: the training module (eval: no dropout, the
    clamp as in training) with a TransformerLens hook point at every site."""

    def __init__(self, module: nn.Module, n_layers: int):
        super().__init__()
        self.model = module
        blocks = []
        for _ in range(n_layers):
            block = _Hooks(BLOCK_HOOKS)
            block.attn = _Hooks(("hook_pattern",))
            blocks.append(block)
        self.blocks = nn.ModuleList(blocks)
        self.ln_final = _Hooks(("hook_normalized",))
        self.setup()

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        inner = self.model.site_fn
        self.model.site_fn = lambda name, x: self.hook_dict[name](inner(name, x))
        try:
            return self.model(tokens)
        finally:
            self.model.site_fn = inner
