"""The transformer every transformer family trains, and its TransformerLens twin.

`GPT` is a decoder-only transformer (learned positions, causal attention, optional
pre-LayerNorm with a final LayerNorm, ReLU or GELU MLPs) that holds its weights under
HookedTransformer names (``embed.W_E``, ``blocks.1.attn.W_Q``, ``blocks.0.ln1.w``, ...). It
holds one model, or several stacked on a leading member axis (a list of states: seed
sweeps train as one module). `to_bridge` loads the same weights into a TransformerLens 4
native bridge for analysis, so `run_with_cache` gives the usual hooks
(``blocks.{i}.hook_resid_pre/mid/post``, ``blocks.{i}.attn.hook_pattern``,
``blocks.{i}.mlp.hook_post``, ``ln_final.hook_normalized``, ...);
tests/unit/families/test_gpt.py proves both compute the same function.

The shape picks how the forward computes (families/_gpt_paths.py; each path is the same
function up to float rounding, and each family keeps the path its runs were trained with,
so their arithmetic never changes under them):

- ``answer_only=False``: logits at every position, layer by layer (next-token tasks);
- ``answer_only=True, answer_path="prefix"``: logits at the last position only, each
  position computed once per distinct prefix in the batch (the `[x, op, y]` tasks);
- ``answer_only=True, answer_path="tables"``: one layer without LayerNorm (Nanda et al.'s
  grokking model): attention from per-(position, token) tables, per-row work only the MLP
  and the unembedding; the canonical modular_addition path, always on the member axis.

``train_biases=False`` keeps every bias at its loaded value (a buffer, not a parameter), as
the TransformerLens grokking demo trains weights only.
"""

from __future__ import annotations

import math
from typing import Callable, Literal

import torch
from pydantic import BaseModel, ConfigDict, Field, model_validator
from torch import nn

from families import _gpt_paths as paths
from workbench.core.naming import param_name
from workbench.core.train_module import TrainModuleBase

__all__ = ["GPTShape", "GPT", "init_state", "param_shapes", "to_bridge", "bridge_config", "bridge_from_config",
           "weight_norms", "LN_EPS"]

LN_EPS = paths.LN_EPS  # HookedTransformerConfig's and TransformerBridgeConfig's default eps


class GPTShape(BaseModel):
    """Architecture hyper-parameters (HookedTransformerConfig names) and the forward's path."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    n_layers: int = Field(2, ge=1)
    n_heads: int = Field(4, ge=1)
    d_model: int = Field(128, ge=1)
    d_head: int = Field(32, ge=1)
    d_mlp: int = Field(512, ge=1)
    d_vocab: int = Field(..., ge=1)
    d_vocab_out: int = Field(..., ge=1)
    n_ctx: int = Field(..., ge=1)
    act_fn: Literal["relu", "gelu"] = "relu"  # "gelu" is the exact (erf) GELU, TransformerLens's "gelu"
    normalization: Literal["LN"] | None = "LN"  # pre-LayerNorm in every block plus ln_final, or none
    answer_only: bool = True  # logits at the last position only; else at every position
    answer_path: Literal["prefix", "tables"] = "prefix"  # how answer_only computes (module docstring)
    train_biases: bool = True  # False: biases are frozen buffers (the grokking demo's weights-only training)

    @model_validator(mode="after")
    def _path_fits(self) -> "GPTShape":
        if self.answer_path == "tables" and not (self.answer_only and self.n_layers == 1 and self.normalization is None):
            raise ValueError("answer_path='tables' computes one layer without LayerNorm, answer position only")
        return self

    @property
    def init_std(self) -> float:
        # HookedTransformer's gpt2 init: N(0, 0.8/sqrt(d_model)) for every W_ matrix
        return 0.8 / math.sqrt(self.d_model)


def param_shapes(s: GPTShape) -> dict[str, tuple[int, ...]]:
    """Every HookedTransformer parameter of the model, by name, in init order."""
    h, d, dh, m = s.n_heads, s.d_model, s.d_head, s.d_mlp
    ln = s.normalization == "LN"
    shapes: dict[str, tuple[int, ...]] = {"embed.W_E": (s.d_vocab, d), "pos_embed.W_pos": (s.n_ctx, d)}
    for i in range(s.n_layers):
        b = f"blocks.{i}"
        shapes |= {f"{b}.ln1.w": (d,), f"{b}.ln1.b": (d,)} if ln else {}
        shapes |= {
            f"{b}.attn.W_Q": (h, d, dh), f"{b}.attn.W_K": (h, d, dh), f"{b}.attn.W_V": (h, d, dh),
            f"{b}.attn.W_O": (h, dh, d),
            f"{b}.attn.b_Q": (h, dh), f"{b}.attn.b_K": (h, dh), f"{b}.attn.b_V": (h, dh),
            f"{b}.attn.b_O": (d,),
        }
        shapes |= {f"{b}.ln2.w": (d,), f"{b}.ln2.b": (d,)} if ln else {}
        shapes |= {f"{b}.mlp.W_in": (d, m), f"{b}.mlp.b_in": (m,), f"{b}.mlp.W_out": (m, d), f"{b}.mlp.b_out": (d,)}
    shapes |= {"ln_final.w": (d,), "ln_final.b": (d,)} if ln else {}
    shapes |= {"unembed.W_U": (d, s.d_vocab_out), "unembed.b_U": (s.d_vocab_out,)}
    return shapes


def init_state(shape: GPTShape, seed: int) -> dict[str, torch.Tensor]:
    """HookedTransformer-scale init from one scoped generator, in `param_shapes` order.

    Every ``W_`` matrix (embeddings and unembedding included) is N(0, 0.8/sqrt(d_model)),
    biases are zero, LayerNorm scales one (HookedTransformer's `init_weights_gpt2`; TL 4's
    native init would also shrink W_O/W_out by 1/sqrt(2 n_layers), which we do not).
    """
    gen = torch.Generator().manual_seed(seed)
    state = {}
    for name, dims in param_shapes(shape).items():
        leaf = name.rsplit(".", 1)[1]
        if leaf.startswith("W_"):
            state[name] = torch.randn(dims, generator=gen) * shape.init_std
        else:
            state[name] = torch.ones(dims) if leaf == "w" else torch.zeros(dims)
    return state


def _trains(shape: GPTShape, name: str) -> bool:
    return shape.train_biases or name.rsplit(".", 1)[1].startswith("W_")


class GPT(TrainModuleBase):
    """Decoder-only causal transformer: one model, or a stack on a leading member axis.

    Each tensor is registered as `param_name` of its HookedTransformer name: a parameter,
    or a buffer for a frozen bias (``train_biases=False``). Given a list of E states it
    stacks them ([member, ...]); inputs are then [member, rows, ...] and logits [member,
    rows, ...]. On the "prefix" and every-position paths each member runs the one-model
    arithmetic on its own slice, so a member computes exactly what its solo run computes;
    the "tables" path runs the member axis in one batched computation (E = 1 for one model).

    `site_fn`, when set, is called as ``fn(name, x)`` at every intervention site of the
    every-position path, `name` the bridge's hook there (``blocks.{i}.hook_attn_out``,
    ``blocks.{i}.hook_mlp_out``, ``blocks.{i}.hook_resid_post``, ``ln_final.hook_normalized``;
    x [batch, pos, d_model], per member), and its result continues the forward pass
    (gradients flow through it): the seam for training-time interventions such as clamps.
    It needs logits at every position (``answer_only=False``).
    """

    def __init__(self, shape: GPTShape, state: dict[str, torch.Tensor] | list[dict[str, torch.Tensor]]):
        super().__init__()
        self.shape = shape
        self.stacked = isinstance(state, list)
        self.site_fn: Callable[[str, torch.Tensor], torch.Tensor] | None = None
        for name in param_shapes(shape):
            tensor = torch.stack([s[name].detach() for s in state]) if self.stacked else state[name].detach().clone()
            if _trains(shape, name):
                self.register_parameter(param_name(name), nn.Parameter(tensor))
            else:
                self.register_buffer(param_name(name), tensor)
        self.register_buffer("causal_mask", torch.ones(shape.n_ctx, shape.n_ctx, dtype=torch.bool).triu(1),
                             persistent=False)

    @property
    def n_members(self) -> int | None:
        return self.embed__W_E.shape[0] if self.stacked else None

    def _tensors(self) -> dict[str, torch.Tensor]:
        """Every weight by HookedTransformer name, as registered (member axis first when stacked)."""
        held = self._parameters | self._buffers
        return {name: held[param_name(name)] for name in param_shapes(self.shape)}

    def hooked_state(self, member: int | None = None) -> dict[str, torch.Tensor]:
        """Weights, biases and LayerNorm parameters under HookedTransformer names (detached).

        Args:
            member: which member of a stack (required there); a one-model module takes None.
        """
        if self.stacked and member is None:
            raise ValueError("hooked_state(member=k) for a stacked module")
        return {name: (t[member] if self.stacked else t).detach().contiguous() for name, t in self._tensors().items()}

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """tokens [batch, pos<=n_ctx] -> logits [batch, d_vocab_out] (answer_only) or [batch, pos, d_vocab_out];
        stacked: tokens [member, batch, pos] -> logits [member, batch, ...]."""
        if self.site_fn is not None and self.shape.answer_only:
            raise ValueError("site_fn needs every position's residual: set answer_only=False")
        w = self._tensors()
        if self.shape.answer_path == "tables":
            if self.stacked:
                return paths.tables(self.shape, w, tokens)
            return paths.tables(self.shape, {k: t[None] for k, t in w.items()}, tokens[None])[0]
        if not self.stacked:
            return self._one(w, tokens)
        if len(tokens) == 1:  # a run alone: squeeze, whose backward is a view (select's would zero-fill a copy)
            return self._one({k: t.squeeze(0) for k, t in w.items()}, tokens[0]).unsqueeze(0)
        members = {k: t.unbind(0) for k, t in w.items()}  # one backward stack per weight, not one copy per member
        return torch.stack([self._one({k: t[m] for k, t in members.items()}, tokens[m]) for m in range(len(tokens))])

    def _one(self, w: dict[str, torch.Tensor], tokens: torch.Tensor) -> torch.Tensor:
        """One model's forward from its weights `w`."""
        if self.shape.answer_only:
            return paths.prefix(self.shape, w, tokens)
        return paths.every_position(self.shape, w, tokens, self.causal_mask, self.site_fn)


def weight_norms(module: GPT) -> list[float]:
    """Per member (one for a one-model module), the L2 norm of all its trained parameters together."""
    with torch.no_grad():
        params = list(module.parameters())
        if not module.stacked:
            return [float(torch.stack([q.double().pow(2).sum() for q in params]).sum().sqrt())]
        return [float(torch.stack([q[k].double().pow(2).sum() for q in params]).sum().sqrt())
                for k in range(module.n_members)]


def bridge_config(shape: GPTShape):
    """The TransformerBridgeConfig for this shape: causal attention, learned positions."""
    from transformer_lens.config import TransformerBridgeConfig

    return TransformerBridgeConfig(
        n_layers=shape.n_layers, n_heads=shape.n_heads, d_model=shape.d_model, d_head=shape.d_head,
        d_mlp=shape.d_mlp, d_vocab=shape.d_vocab, d_vocab_out=shape.d_vocab_out, n_ctx=shape.n_ctx,
        act_fn=shape.act_fn, normalization_type=shape.normalization, eps=LN_EPS,
        positional_embedding_type="standard", attention_dir="causal", init_weights=False,
    )


def to_bridge(shape: GPTShape, state: dict[str, torch.Tensor], device: str = "cpu"):
    """A TransformerLens 4 native bridge carrying exactly `state` (HookedTransformer names).

    The bridge returns logits at every position whatever `shape.answer_only` says.
    """
    return bridge_from_config(bridge_config(shape), state, device)


def bridge_from_config(cfg, state: dict[str, torch.Tensor], device: str = "cpu"):
    """Boot a native bridge for `cfg` and load `state` (HookedTransformer names) into it, strictly."""
    from transformer_lens.model_bridge.sources.native import boot
    from transformer_lens.utilities.tl_checkpoint_conversion import convert_tl_checkpoint

    bridge = boot(cfg, device=device)
    converted = convert_tl_checkpoint({k: v.to(device) for k, v in state.items()}, cfg)
    bridge.load_state_dict(converted, strict=True)
    return bridge.eval()
