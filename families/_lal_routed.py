"""The least-action study's own routed network (`model=routed_study`, issue 27).

Written from a reading of KarlTaht/research projects/least_action_learning (src/routing.py
and src/models.py, identical at 4299312 and 1b98a52; src/losses.py) with the search tools;
the study's code is not copied. d = `hidden_dim` (the residual width), H = `n_heads`,
L = `n_layers`, e = 4:

    h_0 = x W_E + b_E                     (x = one-hot a ++ one-hot b, [batch, 2p])
    s_0 = h_0 W_s + b_s                   (the routing state, per example)
    block l = 1..L:
        g_l = softmax(GELU(s_{l-1} W_state + b_state + h_{l-1} W_resid + b_resid) W_gate + b_gate)
        h_l = LayerNorm(h_{l-1} + sum_i g_l[i] FFN_i(h_{l-1}))      FFN_i: d -> e d -> d, GELU
        s_l = [s_{l-1}, h_l] W_su + b_su                            (state rows first)
    logits = h_L W_U + b_U

s_L is computed and unused, so the last block's state update gets no gradient and AdamW
skips it (it stays at init, as in the study). Init: every matrix and bias U(+-1/sqrt(fan_in))
(torch nn.Linear's default), W_gate xavier-uniform with gain 0.1 and b_gate 0, LayerNorm 1/0;
drawn from one scoped generator, so the distributions are the study's but not its RNG stream.
Weight decay as the study's last trainer (1b98): the routing gate and biases exempt,
everything else (embedding, LayerNorm weight included) decayed (`param_groups`).

Routing penalties are the study's forms, averaged over blocks, on the training forward only
(`lambda_routing` x penalty; `routing=consistency` is O(batch^2)):
- entropy: mean -sum g log g (nats, g clamped to [1e-8, 1 - 1e-8]): log H uniform, 0 one-hot;
- sparsity: mean 1 - max g: 1 - 1/H uniform, 0 one-hot;
- gini: mean 1 - G, G = 2 sum_i i g_(i) / (H sum g + 1e-8) - (H + 1) / H (g sorted ascending):
  1 uniform, 1/H one-hot;
- consistency: KL(E_b || g_b) averaged over the batch, E = softmax_rows(x^ x^T / T) g with x^
  the L2-normalised one-hot inputs and T = 1. The study defines it but its loss refuses the
  name (ValueError), so it never ran there: results with it are new, not a reproduction.
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

__all__ = ["StudyShape", "StudyRoutedNet", "study_param_shapes", "study_init_state", "study_penalty", "EXPANSION"]

EXPANSION = 4  # the study's head width factor (RoutedLayer's default)


class StudyShape(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    p: int
    n_layers: int
    d: int
    n_heads: int
    routing: str = "none"
    lambda_routing: float = 0.0


def study_param_shapes(s: StudyShape) -> dict[str, tuple[int, ...]]:
    """Every parameter by name ([in, out] matrices), in the study's construction order."""
    d, h, e = s.d, s.n_heads, EXPANSION * s.d
    shapes = {"embed.W_E": (2 * s.p, d), "embed.b_E": (d,), "state_init.W": (d, d), "state_init.b": (d,)}
    for i in range(s.n_layers):
        b = f"blocks.{i}"
        shapes |= {f"{b}.heads.W_in": (h, d, e), f"{b}.heads.b_in": (h, e), f"{b}.heads.W_out": (h, e, d),
                   f"{b}.heads.b_out": (h, d), f"{b}.gate.W_state": (d, d), f"{b}.gate.b_state": (d,),
                   f"{b}.gate.W_resid": (d, d), f"{b}.gate.b_resid": (d,), f"{b}.gate.W_gate": (d, h),
                   f"{b}.gate.b_gate": (h,), f"{b}.state_update.W": (2 * d, d), f"{b}.state_update.b": (d,),
                   f"{b}.ln.w": (d,), f"{b}.ln.b": (d,)}
    return shapes | {"unembed.W_U": (d, s.p), "unembed.b_U": (s.p,)}


def _fan_in(name: str, shapes: dict[str, tuple[int, ...]]) -> int:
    """The input width of the matrix a parameter belongs to (a bias takes its matrix's)."""
    if name.rsplit(".", 1)[1].startswith("W"):
        return shapes[name][-2]
    prefix, leaf = name.rsplit(".", 1)
    return shapes[f"{prefix}.W{leaf[1:]}"][-2]


def study_init_state(s: StudyShape, seed: int) -> dict[str, torch.Tensor]:
    """U(+-1/sqrt(fan_in)) for every matrix and bias, W_gate xavier-uniform gain 0.1, b_gate 0, LN 1/0."""
    gen, shapes, state = torch.Generator().manual_seed(seed), study_param_shapes(s), {}
    for name, dims in shapes.items():
        leaf = name.rsplit(".", 1)[1]
        if ".ln." in name:
            state[name] = torch.ones(dims) if leaf == "w" else torch.zeros(dims)
        elif leaf == "W_gate":
            bound = 0.1 * math.sqrt(6 / (s.d + s.n_heads))
            state[name] = (torch.rand(dims, generator=gen) * 2 - 1) * bound
        elif leaf == "b_gate":
            state[name] = torch.zeros(dims)
        else:
            state[name] = (torch.rand(dims, generator=gen) * 2 - 1) / math.sqrt(_fan_in(name, shapes))
    return state


def study_penalty(gates: list[torch.Tensor], kind: str, inputs: torch.Tensor | None = None,
                  temperature: float = 1.0) -> torch.Tensor:
    """The study's routing penalty of gates [batch, H] per block, averaged over blocks (module doc)."""
    per_block = []
    if kind == "consistency":
        x = F.normalize(inputs, dim=-1)
        similar = torch.softmax(x @ x.T / temperature, dim=-1)  # [batch, batch]
    for g in gates:
        if kind == "entropy":
            w = g.clamp(1e-8, 1 - 1e-8)
            per_block.append(-(w * w.log()).sum(-1).mean())
        elif kind == "sparsity":
            per_block.append((1 - g.max(-1).values).mean())
        elif kind == "gini":
            n = g.shape[-1]
            ranks = torch.arange(1, n + 1, dtype=g.dtype, device=g.device)
            gini = 2 * (ranks * g.sort(-1).values).sum(-1) / (n * g.sum(-1) + 1e-8) - (n + 1) / n
            per_block.append((1 - gini).mean())
        elif kind == "consistency":
            expected = similar @ g
            per_block.append(F.kl_div(g.log().clamp(min=-100), expected, reduction="batchmean"))
        else:
            raise ValueError(f"no study routing penalty {kind!r}")
    return torch.stack(per_block).mean()


class StudyRoutedNet(HookedRootModule, TrainModuleBase):
    """Forward: tokens [batch, 2] (a, b) -> logits [batch, p] (`answer_only`) or [batch, 1, p]."""

    def __init__(self, shape: StudyShape, state: dict[str, torch.Tensor], answer_only: bool = True):
        super().__init__()
        self.cfg, self.answer_only = shape, answer_only
        self.aux_loss: torch.Tensor | None = None  # lambda x study penalty of the last training forward
        shapes = study_param_shapes(shape)
        leaf = lambda prefix, hooks=(): Leaf({n[len(prefix) + 1:]: d for n, d in shapes.items()  # noqa: E731
                                             if n.rsplit(".", 1)[0] == prefix}, hooks)
        self.embed, self.state_init, self.unembed = leaf("embed"), leaf("state_init"), leaf("unembed")
        self.hook_embed, self.hook_state_init = HookPoint(), HookPoint()
        blocks = []
        for i in range(shape.n_layers):
            block, b = nn.Module(), f"blocks.{i}"
            block.gate = leaf(f"{b}.gate", ("hook_pre",))
            block.heads = leaf(f"{b}.heads", ("hook_post", "hook_out"))
            block.state_update, block.ln = leaf(f"{b}.state_update"), leaf(f"{b}.ln")
            block.mlp = Leaf({}, ("hook_post",))  # the block's output (after LN): the neuron analyzers' hook
            block.hook_gate, block.hook_mix, block.hook_state = HookPoint(), HookPoint(), HookPoint()
            blocks.append(block)
        self.blocks = nn.ModuleList(blocks)
        self.load_state_dict(state, strict=True)
        self.setup()

    def hooked_state(self, member: int | None = None) -> dict[str, torch.Tensor]:
        return {n: q.detach().contiguous() for n, q in self.named_parameters()}

    def param_groups(self) -> dict[str, str]:
        """1b98's decay rule: the gate and every bias exempt, all other weights (embed and LN weight too) decayed."""
        return {n: "gate" if ".gate." in n else "bias" if n.rsplit(".", 1)[1].startswith("b") else "weight"
                for n, _ in self.named_parameters()}

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        p, dtype = self.cfg.p, self.unembed.W_U.dtype
        x = torch.cat([F.one_hot(tokens[:, 0], p), F.one_hot(tokens[:, 1], p)], -1)[:, None].to(dtype)
        h = self.hook_embed(x @ self.embed.W_E + self.embed.b_E)  # [batch, 1, d]
        s = self.hook_state_init(h @ self.state_init.W + self.state_init.b)
        gates = []
        for blk in self.blocks:
            g_, hd = blk.gate, blk.heads
            pre = g_.hook_pre(s @ g_.W_state + g_.b_state + h @ g_.W_resid + g_.b_resid)
            gate = blk.hook_gate(torch.softmax(F.gelu(pre) @ g_.W_gate + g_.b_gate, -1))  # [batch, 1, H]
            hidden = hd.hook_post(F.gelu(torch.einsum("bpd,hde->bphe", h, hd.W_in) + hd.b_in))
            out = hd.hook_out(torch.einsum("bphe,hed->bphd", hidden, hd.W_out) + hd.b_out)  # [batch, 1, H, d]
            mix = blk.hook_mix(torch.einsum("bph,bphd->bpd", gate, out))
            h = blk.mlp.hook_post(F.layer_norm(h + mix, (self.cfg.d,), blk.ln.w, blk.ln.b, eps=1e-5))
            s = blk.hook_state(torch.cat([s, h], -1) @ blk.state_update.W + blk.state_update.b)
            gates.append(gate[:, 0])
        self.aux_loss = None
        if self.cfg.lambda_routing and self.cfg.routing != "none" and torch.is_grad_enabled():
            self.aux_loss = self.cfg.lambda_routing * study_penalty(gates, self.cfg.routing, x[:, 0])
        logits = h @ self.unembed.W_U + self.unembed.b_U  # [batch, 1, p]
        return logits[:, 0] if self.answer_only else logits
