"""A multi-layer causal transformer for training speed, and its TransformerLens twin.

`GPT` is a plain decoder-only transformer (learned positions, causal attention, optional
pre-LayerNorm with a final LayerNorm, ReLU or GELU MLPs) that holds its weights under
HookedTransformer names (``embed.W_E``, ``blocks.1.attn.W_Q``, ``blocks.0.ln1.w``, ...).
Every weight, bias and LayerNorm parameter trains. `to_bridge` loads the same weights into
a TransformerLens 4 native bridge for analysis, so `run_with_cache` gives the usual hooks
(``blocks.{i}.hook_resid_pre/mid/post``, ``blocks.{i}.attn.hook_pattern``,
``blocks.{i}.mlp.hook_post``, ``ln_final.hook_normalized``, ...);
tests/unit/families/test_gpt.py proves both compute the same function.

With ``answer_only`` the module returns the logits of the last position only (the
`[x, op, y]` tasks read nothing else) and skips the last block's work at the other
positions; otherwise it returns logits at every position (next-token tasks).
"""

from __future__ import annotations

import math
from typing import Callable, Literal

import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from families._transformer import bridge_from_config
from workbench.core.naming import param_name

__all__ = ["GPTShape", "GPT", "init_state", "param_shapes", "to_bridge", "bridge_config", "LN_EPS"]

LN_EPS = 1e-5  # HookedTransformerConfig's and TransformerBridgeConfig's default eps
MIN_ROWS = 12  # fewest rows the answer path hands a matmul (see GPT._answer)
_ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {"relu": F.relu, "gelu": F.gelu}


class GPTShape(BaseModel):
    """Architecture hyper-parameters (HookedTransformerConfig names)."""

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


class GPT(nn.Module):
    """Decoder-only causal transformer; every parameter (biases, LayerNorm too) trains.

    Parameters are registered as ``name.replace('.', '__')`` of their HookedTransformer
    name. One model only (no member axis): families built on it are not stackable.

    With ``answer_only`` the forward runs position by position and computes each position
    once per distinct prefix in the batch: causal attention makes position i a function of
    tokens[:i+1] alone, so for `[x, op, y]` rows positions 0 and 1 are computed for the p
    values of x rather than for every row (about 1.7x fewer FLOPs at p=97, batch 512), and
    the last block computes only keys and values before the last position. The arithmetic
    is the same function; tests/unit/families/test_gpt.py checks it against the bridge.

    `resid_post_fn`, when set, is called as ``fn(layer, resid)`` on every block's output
    residual [batch, pos, d_model] and its result continues the forward pass (gradients
    flow through it): the seam for training-time interventions on ``hook_resid_post``. It
    needs logits at every position (``answer_only=False``).
    """

    def __init__(self, shape: GPTShape, state: dict[str, torch.Tensor]):
        super().__init__()
        self.shape = shape
        self.resid_post_fn: Callable[[int, torch.Tensor], torch.Tensor] | None = None
        for name in param_shapes(shape):
            self.register_parameter(param_name(name), nn.Parameter(state[name].detach().clone()))
        self.register_buffer("causal_mask", torch.ones(shape.n_ctx, shape.n_ctx, dtype=torch.bool).triu(1),
                             persistent=False)

    def hooked_state(self) -> dict[str, torch.Tensor]:
        """Weights, biases and LayerNorm parameters under HookedTransformer names (detached)."""
        params = dict(self.named_parameters())
        return {name: params[param_name(name)].detach().contiguous() for name in param_shapes(self.shape)}

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """tokens [batch, pos<=n_ctx] -> logits [batch, d_vocab_out] (answer_only) or [batch, pos, d_vocab_out]."""
        if not self.shape.answer_only:
            return self._every_position(tokens)
        if self.resid_post_fn is not None:
            raise ValueError("resid_post_fn needs every position's residual: set answer_only=False")
        return self._answer(tokens)

    # ---------------------------------------------------------------- components
    def _p(self, name: str) -> torch.Tensor:
        return self._parameters[param_name(name)]

    def _norm(self, x: torch.Tensor, name: str) -> torch.Tensor:
        if self.shape.normalization is None:
            return x
        # written out as HookedTransformer's LayerNorm is: F.layer_norm's backward sums the
        # scale and bias gradients in an order that depends on the thread count
        x = x - x.mean(-1, keepdim=True)
        return x / (x.pow(2).mean(-1, keepdim=True) + LN_EPS).sqrt() * self._p(f"{name}.w") + self._p(f"{name}.b")

    def _qkv(self, x: torch.Tensor, b: str) -> torch.Tensor:
        """x [..., d_model] -> [..., 3, head, d_head] in one matmul (per-head einsums run as slow bmm's on CPU)."""
        W = torch.stack([self._p(f"{b}.attn.W_{c}") for c in "QKV"])  # [3, head, d_model, d_head]
        bias = torch.stack([self._p(f"{b}.attn.b_{c}") for c in "QKV"])  # [3, head, d_head]
        d = x.shape[-1]
        qkv = torch.addmm(bias.reshape(-1), x.reshape(-1, d), W.permute(2, 0, 1, 3).reshape(d, -1))
        return qkv.view(*x.shape[:-1], *bias.shape)

    def _attn_out(self, z: torch.Tensor, b: str) -> torch.Tensor:
        """z [..., head, d_head] -> [..., d_model]."""
        W_O = self._p(f"{b}.attn.W_O")  # [head, d_head, d_model]
        return z.flatten(-2) @ W_O.reshape(-1, W_O.shape[-1]) + self._p(f"{b}.attn.b_O")

    def _mlp(self, x: torch.Tensor, b: str) -> torch.Tensor:
        pre = x @ self._p(f"{b}.mlp.W_in") + self._p(f"{b}.mlp.b_in")
        return _ACTIVATIONS[self.shape.act_fn](pre) @ self._p(f"{b}.mlp.W_out") + self._p(f"{b}.mlp.b_out")

    def _unembed(self, resid: torch.Tensor) -> torch.Tensor:
        return self._norm(resid, "ln_final") @ self._p("unembed.W_U") + self._p("unembed.b_U")

    # ---------------------------------------------------------------- every position (layer by layer)
    def _every_position(self, tokens: torch.Tensor) -> torch.Tensor:
        n, scale = tokens.shape[1], math.sqrt(self.shape.d_head)
        resid = F.embedding(tokens, self._p("embed.W_E")) + self._p("pos_embed.W_pos")[:n]  # [batch, pos, d_model]
        for i in range(self.shape.n_layers):
            b = f"blocks.{i}"
            q, k, v = self._qkv(self._norm(resid, f"{b}.ln1"), b).permute(2, 0, 3, 1, 4)  # [batch, head, pos, d_head]
            scores = (q @ k.transpose(-1, -2) / scale).masked_fill(self.causal_mask[:n, :n], float("-inf"))
            z = (scores.softmax(dim=-1) @ v).transpose(1, 2)  # [batch, pos, head, d_head]
            resid = resid + self._attn_out(z, b)
            resid = resid + self._mlp(self._norm(resid, f"{b}.ln2"), b)
            if self.resid_post_fn is not None:
                resid = self.resid_post_fn(i, resid)
        return self._unembed(resid)

    # ---------------------------------------------------------------- last position (prefix by prefix)
    def _answer(self, tokens: torch.Tensor) -> torch.Tensor:
        n, last, scale = tokens.shape[1], self.shape.n_layers - 1, math.sqrt(self.shape.d_head)
        keys: list[list[torch.Tensor]] = [[] for _ in range(self.shape.n_layers)]  # [layer][pos]: [prefix, 2, h, d_h]
        inv, earlier = None, []  # batch row -> its prefix; this position's prefix -> its row in position j's tables
        for i in range(n):
            # a prefix is (its parent prefix, this token): the code stays below batch * d_vocab
            code = tokens[:, i] if inv is None else inv * self.shape.d_vocab + tokens[:, i]
            prefixes, inv = torch.unique(code, return_inverse=True)  # [prefix], [batch]
            # pad to MIN_ROWS with copies no batch row reads: CPU matmuls of 5-7 or 9-11 rows sum in
            # an order that depends on the thread count, and runs must not (resume in another process)
            prefixes = torch.cat([prefixes, prefixes[:1].expand(max(0, MIN_ROWS - len(prefixes)))])
            if i:
                parent = prefixes // self.shape.d_vocab
                earlier = [rows[parent] for rows in earlier] + [parent]
            resid = F.embedding(prefixes % self.shape.d_vocab, self._p("embed.W_E")) + self._p("pos_embed.W_pos")[i]
            for layer in range(self.shape.n_layers):
                b = f"blocks.{layer}"
                q, kv = self._qkv(self._norm(resid, f"{b}.ln1"), b).split([1, 2], dim=1)  # [prefix, 1|2, head, d_head]
                keys[layer].append(kv)
                if layer == last and i < n - 1:
                    break  # later positions need only this block's keys and values here
                past = [F.embedding(rows, keys[layer][j].flatten(1)).view(kv.shape)
                        for j, rows in enumerate(earlier)] + [kv]
                k, v = torch.stack(past, dim=3).unbind(1)  # each [prefix, head, key_pos, d_head]
                pattern = (torch.einsum("phe,phke->phk", q[:, 0], k) / scale).softmax(dim=-1)
                resid = resid + self._attn_out(torch.einsum("phk,phke->phe", pattern, v), b)
                resid = resid + self._mlp(self._norm(resid, f"{b}.ln2"), b)
        return F.embedding(inv, self._unembed(resid))


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
