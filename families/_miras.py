"""The MIRAS study's model (issue 28): universal_modular with ``arch=miras``.

The Phase-2 ``UniversalFourierTransformer`` of unixsysdev/grokking-fourier
(miras_experiment/model_miras.py, commit 1d37561), written from its description (notes in
the issue), not copied. Input rows are ``[p, a, b, =]`` (long), '=' being token n_classes.

1. Position 0, the modulus: the sinusoidal encoding of the raw value p at full width d,
   ``pe[2i] = sin(p w_i)``, ``pe[2i+1] = cos(p w_i)``, ``w_i = 10000^(-2i/d)``, plus a learned
   affine term in p itself, ``p * sinpe.w_lin + sinpe.b_lin`` (the study's Linear(1, d)):
   ``hook_sinpe = x_p``. Then the study's "TitansMemory", a stateless feed-forward map of x_p
   (nothing is updated at test time and nothing carries across rows or steps):
   ``z = SiLU(x_p W_mem + b_mem)``, ``surprise = x_p - (z W_sur + b_sur)``,
   ``out = z + SiLU(surprise W_mem)`` (the same W_mem, no bias), and the vector that
   replaces position 0 is ``hook_modulus = out W_out + b_out`` (the study's mem_to_hidden).
2. Positions 1-3: ``W_E[a] + W_pos[1]``, ``W_E[b] + W_pos[2]``, ``W_E[=] + W_pos[3]``.
   ``W_pos[0]`` exists (the study's table has four rows) but never reaches the output.
3. ``n_layers`` pre-LN blocks (the study: 2): ``x += Attn(LN1(x))``, ``x += MLP(LN2(x))``;
   LayerNorm with gain and bias (eps 1e-5); attention without biases or mask (every
   position sees all four); MLP Linear + bias, ReLU, Linear + bias.
4. Unembedding ``Linear(d, n_classes)`` of the answer position, no final LayerNorm and no
   mask: all n_classes compete, so answering a class >= p is possible and counts as wrong.

As in the compact model the last block computes only the answer position (its query, MLP
and logits; the outputs at positions 0-2 of the last block are never read), so
``blocks.{L-1}.mlp.hook_post`` is [batch, 1, d_mlp]: the study's "layer-2 MLP at '='".

Init follows the study's distributions from one scoped generator: W_E, W_pos ~ N(0, 1)
(nn.Embedding); the attention weights and W_mem ~ N(0, 1/d) (std 1/sqrt(d)); b_mem 0;
LayerNorm gain 1, bias 0; every nn.Linear's weight and bias U(+-1/sqrt(fan_in)) (w_lin and
b_lin: fan_in 1, so U(-1, 1)). The study's unused token row 150 is dropped.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict
from torch import nn
from transformer_lens import HookedRootModule
from transformer_lens.hook_points import HookPoint

from families._leaf import Leaf
from families._universal import ReinforceState, reinforce_state

__all__ = ["MirasShape", "MirasNet", "param_shapes", "init_state", "modulus_encoding", "LN_EPS", "SIN_BASE"]

N_CTX = 4  # [p, a, b, =]
LN_EPS = 1e-5
SIN_BASE = 10_000.0


class MirasShape(BaseModel):
    """Architecture hyper-parameters (the study: d 128, 4 heads, d_mlp 512, d_mem 128, 2 layers, 150 classes)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    n_classes: int  # unembedding width; '=' is token n_classes
    d_model: int = 128
    n_heads: int = 4
    d_mlp: int = 512
    d_mem: int = 128
    n_layers: int = 2

    @property
    def d_head(self) -> int:
        return self.d_model // self.n_heads


def modulus_encoding(p: torch.Tensor, d: int, dtype: torch.dtype) -> torch.Tensor:
    """sin/cos(p w_i) interleaved at width d (module docstring, step 1), computed in float64."""
    i = torch.arange(d // 2, dtype=torch.float64, device=p.device)
    angle = p.to(torch.float64)[:, None] * torch.exp(-(2 * i) * math.log(SIN_BASE) / d)
    return torch.stack([angle.sin(), angle.cos()], dim=-1).flatten(-2).to(dtype)


def param_shapes(s: MirasShape) -> dict[str, tuple[int, ...]]:
    """Every trained parameter by name, in init order."""
    h, d, dh, m, k = s.n_heads, s.d_model, s.d_head, s.d_mlp, s.d_mem
    shapes = {"embed.W_E": (s.n_classes + 1, d), "pos_embed.W_pos": (N_CTX, d), "sinpe.w_lin": (d,),
              "sinpe.b_lin": (d,), "memory.W_mem": (d, k), "memory.b_mem": (k,), "memory.W_sur": (k, d),
              "memory.b_sur": (d,), "memory.W_out": (k, d), "memory.b_out": (d,)}
    for i in range(s.n_layers):
        b = f"blocks.{i}"
        shapes |= {f"{b}.ln1.w": (d,), f"{b}.ln1.b": (d,), f"{b}.attn.W_Q": (h, d, dh), f"{b}.attn.W_K": (h, d, dh),
                   f"{b}.attn.W_V": (h, d, dh), f"{b}.attn.W_O": (h, dh, d), f"{b}.ln2.w": (d,), f"{b}.ln2.b": (d,),
                   f"{b}.mlp.W_in": (d, m), f"{b}.mlp.b_in": (m,), f"{b}.mlp.W_out": (m, d), f"{b}.mlp.b_out": (d,)}
    return shapes | {"unembed.W_U": (d, s.n_classes), "unembed.b_U": (s.n_classes,)}


def _fan_in(name: str, s: MirasShape) -> int | None:
    """fan_in of an nn.Linear parameter in the study (U(+-1/sqrt(fan_in)) init), None for the others."""
    last = name.rsplit(".", 1)[1]
    if name.startswith("sinpe."):
        return 1
    if last in ("W_sur", "b_sur", "W_out", "b_out") and name.startswith("memory."):
        return s.d_mem
    if ".mlp." in name:
        return s.d_model if last in ("W_in", "b_in") else s.d_mlp
    return s.d_model if name.startswith("unembed.") else None


def init_state(shape: MirasShape, seed: int) -> dict[str, torch.Tensor]:
    """The study's init distributions (module docstring) from one scoped generator; state buffers zero."""
    gen = torch.Generator().manual_seed(seed)
    state = {}
    for name, dims in param_shapes(shape).items():
        fan_in, last = _fan_in(name, shape), name.rsplit(".", 1)[1]
        if fan_in is not None:
            state[name] = (torch.rand(dims, generator=gen) * 2 - 1) / math.sqrt(fan_in)
        elif name.startswith(("embed.", "pos_embed.")):
            state[name] = torch.randn(dims, generator=gen)
        elif last in ("W_Q", "W_K", "W_V", "W_O", "W_mem"):
            state[name] = torch.randn(dims, generator=gen) / math.sqrt(shape.d_model)
        else:  # LayerNorm gain 1; LayerNorm bias and b_mem 0
            state[name] = torch.ones(dims) if last == "w" else torch.zeros(dims)
    return state | reinforce_state()


def _component(shape: MirasShape, prefix: str, hooks: tuple[str, ...] = ()) -> Leaf:
    params = {n.rsplit(".", 1)[1]: d for n, d in param_shapes(shape).items() if n.rsplit(".", 1)[0] == prefix}
    return Leaf(params, hooks)


def _block(shape: MirasShape, i: int) -> nn.Module:
    block = nn.Module()
    block.ln1 = _component(shape, f"blocks.{i}.ln1", ("hook_normalized",))
    block.attn = _component(shape, f"blocks.{i}.attn", ("hook_pattern",))
    block.ln2 = _component(shape, f"blocks.{i}.ln2", ("hook_normalized",))
    block.mlp = _component(shape, f"blocks.{i}.mlp", ("hook_pre", "hook_post"))
    for hook in ("hook_resid_pre", "hook_attn_out", "hook_resid_mid", "hook_mlp_out", "hook_resid_post"):
        setattr(block, hook, HookPoint())
    return block


class MirasNet(HookedRootModule, ReinforceState):
    """The study's model (module docstring). forward: tokens [batch, 4] -> logits [batch, n_classes]."""

    def __init__(self, shape: MirasShape, state: dict[str, torch.Tensor], answer_only: bool = True):
        super().__init__()
        self.cfg, self.answer_only = shape, answer_only
        self.embed, self.pos_embed = _component(shape, "embed"), _component(shape, "pos_embed")
        self.sinpe = _component(shape, "sinpe")
        self.memory = _component(shape, "memory", ("hook_z", "hook_surprise", "hook_out"))
        self.hook_sinpe, self.hook_modulus, self.hook_embed = HookPoint(), HookPoint(), HookPoint()
        self.blocks = nn.ModuleList([_block(shape, i) for i in range(shape.n_layers)])
        self.unembed = _component(shape, "unembed")
        self.add_reinforce_buffers()
        self.load_state_dict({k: v.detach().clone() for k, v in state.items()}, strict=True)
        self.setup()

    def modulus(self, p: torch.Tensor) -> torch.Tensor:
        """[batch] moduli -> [batch, d]: the vector at position 0 (SinPE + affine in p, then the memory map)."""
        s, e, m = self.cfg, self.sinpe, self.memory
        w = e.w_lin
        x_p = self.hook_sinpe(modulus_encoding(p, s.d_model, w.dtype) + p.to(w.dtype)[:, None] * w + e.b_lin)
        z = m.hook_z(F.silu(x_p @ m.W_mem + m.b_mem))
        surprise = m.hook_surprise(x_p - (z @ m.W_sur + m.b_sur))
        out = m.hook_out(z + F.silu(surprise @ m.W_mem))
        return self.hook_modulus(out @ m.W_out + m.b_out)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """tokens [batch, 4] = [p, a, b, =] -> logits [batch, n_classes] (answer_only) or [batch, 1, n_classes]."""
        rest = F.embedding(tokens[:, 1:], self.embed.W_E) + self.pos_embed.W_pos[1:]
        resid = self.hook_embed(torch.cat([self.modulus(tokens[:, 0])[:, None], rest], dim=1))  # [batch, 4, d]
        for i, block in enumerate(self.blocks):
            resid = self._block(block, block.hook_resid_pre(resid), last=i == self.cfg.n_layers - 1)
        logits = resid @ self.unembed.W_U + self.unembed.b_U  # [batch, 1, n_classes]
        return logits[:, 0] if self.answer_only else logits

    def _block(self, block: nn.Module, resid: torch.Tensor, last: bool) -> torch.Tensor:
        """One pre-LN block, full attention; the last computes only the answer position."""
        d, a = self.cfg.d_model, block.attn
        normed = block.ln1.hook_normalized(F.layer_norm(resid, (d,), block.ln1.w, block.ln1.b, LN_EPS))
        q_in = normed[:, -1:] if last else normed
        q = torch.einsum("bpd,hde->bhpe", q_in, a.W_Q)
        k = torch.einsum("bpd,hde->bhpe", normed, a.W_K)
        v = torch.einsum("bpd,hde->bhpe", normed, a.W_V)
        pattern = a.hook_pattern((q @ k.transpose(-1, -2) / math.sqrt(self.cfg.d_head)).softmax(-1))
        attn_out = block.hook_attn_out(torch.einsum("bhpe,hed->bpd", pattern @ v, a.W_O))
        mid = block.hook_resid_mid((resid[:, -1:] if last else resid) + attn_out)
        m = block.mlp
        normed = block.ln2.hook_normalized(F.layer_norm(mid, (d,), block.ln2.w, block.ln2.b, LN_EPS))
        post = m.hook_post(F.relu(m.hook_pre(normed @ m.W_in + m.b_in)))
        return block.hook_resid_post(mid + block.hook_mlp_out(post @ m.W_out + m.b_out))
