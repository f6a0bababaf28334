"""The universal modular-addition transformer: one model for every modulus p <= max_p.

Input rows are ``[p, a, b, =]`` (long). Position 0 carries no token embedding: it holds
the sinusoidal modulus encoding (SinPE) of the scalar p through a learned projection,

    sinpe(p)[2i] = sin(p w_i),  sinpe(p)[2i+1] = cos(p w_i),  w_i = base^(-2i / d_sin),

(the transformer positional encoding of Vaswani et al. 2017, applied to the value p
instead of a position), then ``hook_sinpe = sinpe(p) @ sinpe.W_sin + sinpe.b_sin``.
Positions 1-3 embed a, b and ``=`` (token max_p) through ``embed.W_E``; learned positions
are added to all four. Then `n_layers` blocks of attention + ReLU MLP without LayerNorm
(Nanda et al.'s block), and the unembedding to max_p classes. Logits of classes c >= p
are set to MASKED in the forward itself, so argmax, softmax and sampling all see only the
p valid residues of each row.

The last block computes only the answer (last) position: its query, MLP and the logits.
Its hooks therefore have one position: ``blocks.{L-1}.mlp.hook_post`` is
[batch, 1, d_mlp], ``blocks.{L-1}.attn.hook_pattern`` [batch, head, 1, 4]. Earlier blocks
run every position under a causal mask. One class serves training (logits [batch, classes])
and analysis (`answer_only=False`: [batch, 1, classes], TransformerLens's [batch, pos, vocab]),
a `HookedRootModule` whose `run_with_cache` gives the hooks by their TransformerLens names.

Besides weights the module holds two state buffers, saved with every checkpoint and
restored on resume: ``reinforce.baseline`` (the moving-average reward, raw EMA) and
``reinforce.step`` (optimizer steps taken, which decides when REINFORCE starts and
debiases the EMA). Neither is a ``W_`` weight, so weight analyzers leave them out.
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
from workbench.core.train_module import TrainModuleBase

__all__ = ["UniversalShape", "UniversalNet", "sinpe", "param_shapes", "init_state", "STATE_BUFFERS", "MASKED",
           "N_CTX"]

MASKED = -1e9  # logit of an invalid class (>= p): finite, so no inf - inf, and exp() is exactly 0
N_CTX = 4  # [p, a, b, =]
STATE_BUFFERS = ("reinforce.baseline", "reinforce.step")


class UniversalShape(BaseModel):
    """Architecture hyper-parameters."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    max_p: int  # residue classes (outputs); '=' is token max_p
    d_model: int = 128
    n_heads: int = 4
    d_mlp: int = 512
    n_layers: int = 1
    d_sin: int = 32  # SinPE width (even)
    sin_base: float = 10_000.0

    @property
    def d_head(self) -> int:
        return self.d_model // self.n_heads

    @property
    def init_std(self) -> float:
        return 0.8 / math.sqrt(self.d_model)  # HookedTransformer's gpt2 init scale, as families/_gpt.py


def sinpe(p: torch.Tensor, d_sin: int, base: float) -> torch.Tensor:
    """The sinusoidal encoding of moduli p [...] -> [..., d_sin] float32 (module docstring)."""
    i = torch.arange(d_sin // 2, dtype=torch.float64, device=p.device)
    angle = p.to(torch.float64)[..., None] * base ** (-2 * i / d_sin)  # [..., d_sin/2]
    return torch.stack([angle.sin(), angle.cos()], dim=-1).flatten(-2).float()


def param_shapes(s: UniversalShape) -> dict[str, tuple[int, ...]]:
    """Every trained parameter by name, in init order."""
    h, d, dh, m = s.n_heads, s.d_model, s.d_head, s.d_mlp
    shapes = {"embed.W_E": (s.max_p + 1, d), "sinpe.W_sin": (s.d_sin, d), "sinpe.b_sin": (d,), "pos_embed.W_pos": (N_CTX, d)}
    for i in range(s.n_layers):
        b = f"blocks.{i}"
        shapes |= {f"{b}.attn.W_Q": (h, d, dh), f"{b}.attn.W_K": (h, d, dh), f"{b}.attn.W_V": (h, d, dh),
                   f"{b}.attn.W_O": (h, dh, d), f"{b}.attn.b_Q": (h, dh), f"{b}.attn.b_K": (h, dh),
                   f"{b}.attn.b_V": (h, dh), f"{b}.attn.b_O": (d,),
                   f"{b}.mlp.W_in": (d, m), f"{b}.mlp.b_in": (m,), f"{b}.mlp.W_out": (m, d), f"{b}.mlp.b_out": (d,)}
    return shapes | {"unembed.W_U": (d, s.max_p), "unembed.b_U": (s.max_p,)}


def init_state(shape: UniversalShape, seed: int) -> dict[str, torch.Tensor]:
    """Weights N(0, 0.8/sqrt(d_model)), biases zero, from one scoped generator; state buffers zero."""
    gen = torch.Generator().manual_seed(seed)
    state = {}
    for name, dims in param_shapes(shape).items():
        weight = name.rsplit(".", 1)[1].startswith("W_")
        state[name] = torch.randn(dims, generator=gen) * shape.init_std if weight else torch.zeros(dims)
    return state | reinforce_state()


def reinforce_state() -> dict[str, torch.Tensor]:
    """The fresh STATE_BUFFERS of a new model: baseline 0, no steps taken."""
    return {"reinforce.baseline": torch.zeros(()), "reinforce.step": torch.zeros((), dtype=torch.int64)}


def _component(shape: UniversalShape, prefix: str, hooks: tuple[str, ...] = ()) -> Leaf:
    params = {n.rsplit(".", 1)[1]: d for n, d in param_shapes(shape).items() if n.rsplit(".", 1)[0] == prefix}
    return Leaf(params, hooks)


class ReinforceState(TrainModuleBase):
    """STATE_BUFFERS as buffers of a `reinforce` submodule, saved and resumed with the weights,
    and the step count the trainer advances; shared by every universal_modular architecture."""

    def add_reinforce_buffers(self) -> None:
        self.reinforce = nn.Module()
        self.reinforce.register_buffer("baseline", torch.zeros(()))
        self.reinforce.register_buffer("step", torch.zeros((), dtype=torch.int64))

    def hooked_state(self, member: int | None = None) -> dict[str, torch.Tensor]:
        """Weights and the state buffers under their names (detached, contiguous)."""
        return {n: t.detach().contiguous() for n, t in self.state_dict().items()}

    def after_step(self) -> None:
        """Count optimizer steps (the REINFORCE switch and baseline read it)."""
        self.reinforce.step += 1


class UniversalNet(HookedRootModule, ReinforceState):
    """The model (module docstring). forward: tokens [batch, 4] -> masked logits."""

    def __init__(self, shape: UniversalShape, state: dict[str, torch.Tensor], answer_only: bool = True):
        super().__init__()
        self.cfg, self.answer_only = shape, answer_only
        self.embed, self.pos_embed = _component(shape, "embed"), _component(shape, "pos_embed")
        self.sinpe = _component(shape, "sinpe")
        self.hook_sinpe, self.hook_embed = HookPoint(), HookPoint()
        blocks = []
        for i in range(shape.n_layers):
            block = nn.Module()
            block.attn = _component(shape, f"blocks.{i}.attn", ("hook_pattern",))
            block.mlp = _component(shape, f"blocks.{i}.mlp", ("hook_pre", "hook_post"))
            for hook in ("hook_resid_pre", "hook_attn_out", "hook_resid_mid", "hook_mlp_out", "hook_resid_post"):
                setattr(block, hook, HookPoint())
            blocks.append(block)
        self.blocks = nn.ModuleList(blocks)
        self.unembed = _component(shape, "unembed")
        self.add_reinforce_buffers()
        self.load_state_dict({k: v.detach().clone() for k, v in state.items()}, strict=True)
        self.register_buffer("causal", torch.ones(N_CTX, N_CTX, dtype=torch.bool).triu(1), persistent=False)
        self.setup()

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """tokens [batch, 4] = [p, a, b, =] -> logits [batch, max_p] (answer_only) or [batch, 1, max_p]."""
        s = self.cfg
        modulus = self.hook_sinpe(sinpe(tokens[:, 0], s.d_sin, s.sin_base) @ self.sinpe.W_sin + self.sinpe.b_sin)
        embedded = torch.cat([modulus[:, None], F.embedding(tokens[:, 1:], self.embed.W_E)], dim=1)
        resid = self.hook_embed(embedded) + self.pos_embed.W_pos  # [batch, pos, d_model]
        for i, block in enumerate(self.blocks):
            resid = self._block(block, block.hook_resid_pre(resid), last=i == s.n_layers - 1)
        logits = resid @ self.unembed.W_U + self.unembed.b_U  # [batch, 1, max_p]
        invalid = torch.arange(s.max_p, device=tokens.device) >= tokens[:, :1]  # [batch, max_p]
        logits = logits.masked_fill(invalid[:, None], MASKED)
        return logits[:, 0] if self.answer_only else logits

    def _block(self, block: nn.Module, resid: torch.Tensor, last: bool) -> torch.Tensor:
        """One attention + MLP block; the last computes only the final position."""
        a = block.attn
        q_in = resid[:, -1:] if last else resid
        q = torch.einsum("bpd,hde->bhpe", q_in, a.W_Q) + a.b_Q[:, None]  # [batch, head, q, d_head]
        k = torch.einsum("bpd,hde->bhpe", resid, a.W_K) + a.b_K[:, None]
        v = torch.einsum("bpd,hde->bhpe", resid, a.W_V) + a.b_V[:, None]
        scores = q @ k.transpose(-1, -2) / math.sqrt(self.cfg.d_head)  # [batch, head, q, k]
        if not last:
            scores = scores.masked_fill(self.causal, float("-inf"))
        z = a.hook_pattern(scores.softmax(-1)) @ v  # [batch, head, q, d_head]
        attn_out = block.hook_attn_out(torch.einsum("bhpe,hed->bpd", z, a.W_O) + a.b_O)
        mid = block.hook_resid_mid(q_in + attn_out)
        m = block.mlp
        post = m.hook_post(F.relu(m.hook_pre(mid @ m.W_in + m.b_in)))
        return block.hook_resid_post(mid + block.hook_mlp_out(post @ m.W_out + m.b_out))
