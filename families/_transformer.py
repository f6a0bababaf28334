"""The Nanda et al. one-layer transformer, written for training speed, and its TransformerLens twin.

`AnswerTransformer` holds its weights under HookedTransformer names (``embed.W_E``,
``blocks.0.attn.W_Q``, ...) and computes only the logits at the answer position, the
only position a one-layer model's loss reads. `to_bridge` loads the same weights into a
TransformerLens 4 native bridge (through `convert_tl_checkpoint`) for analysis;
tests/unit/families/test_transformer.py proves both compute the same function.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict
from torch import nn

from workbench.core.naming import param_name

__all__ = ["TransformerShape", "AnswerTransformer", "init_state", "to_bridge", "bridge_config", "bridge_from_config"]


class TransformerShape(BaseModel):
    """Architecture hyper-parameters (HookedTransformerConfig names)."""

    model_config = ConfigDict(frozen=True)
    n_layers: int = 1
    n_heads: int = 4
    d_model: int = 128
    d_head: int = 32
    d_mlp: int = 512
    d_vocab: int
    d_vocab_out: int
    n_ctx: int = 3

    @property
    def init_std(self) -> float:
        # HookedTransformer's gpt2 init: N(0, 0.8/sqrt(d_model)) for every weight matrix.
        return 0.8 / math.sqrt(self.d_model)


def _param_shapes(s: TransformerShape) -> dict[str, tuple[int, ...]]:
    """Every HookedTransformer parameter of a no-LayerNorm, one-layer model, by name."""
    h, d, dh, m = s.n_heads, s.d_model, s.d_head, s.d_mlp
    shapes = {"embed.W_E": (s.d_vocab, d), "pos_embed.W_pos": (s.n_ctx, d)}
    for i in range(s.n_layers):
        b = f"blocks.{i}"
        shapes |= {
            f"{b}.attn.W_Q": (h, d, dh), f"{b}.attn.W_K": (h, d, dh), f"{b}.attn.W_V": (h, d, dh),
            f"{b}.attn.W_O": (h, dh, d),
            f"{b}.attn.b_Q": (h, dh), f"{b}.attn.b_K": (h, dh), f"{b}.attn.b_V": (h, dh),
            f"{b}.attn.b_O": (d,),
            f"{b}.mlp.W_in": (d, m), f"{b}.mlp.b_in": (m,),
            f"{b}.mlp.W_out": (m, d), f"{b}.mlp.b_out": (d,),
        }
    shapes |= {"unembed.W_U": (d, s.d_vocab_out), "unembed.b_U": (s.d_vocab_out,)}
    return shapes


def init_state(shape: TransformerShape, seed: int) -> dict[str, torch.Tensor]:
    """HookedTransformer-scale init: weights N(0, 0.8/sqrt(d_model)), biases zero.

    TL 4's native init additionally shrinks W_O/W_out by 1/sqrt(2 n_layers); the grokking
    demo was tuned on HookedTransformer, so we reproduce that scale exactly, in a fixed
    order from one scoped generator.
    """
    gen = torch.Generator().manual_seed(seed)
    state = {}
    for name, dims in _param_shapes(shape).items():
        is_weight = name.rsplit(".", 1)[1].startswith("W_")
        state[name] = (torch.randn(dims, generator=gen) * shape.init_std) if is_weight else torch.zeros(dims)
    return state


class AnswerTransformer(nn.Module):
    """One-layer attention+MLP transformer that returns logits at the last position only.

    Holds one model, or an ensemble of E models stacked on a leading member axis (pass a
    list of states). Solo training is the E=1 case of the same code, so an ensemble member
    runs exactly the arithmetic of its solo run. Biases are frozen at zero, as in the
    TransformerLens grokking demo, so they are buffers rather than parameters.
    """

    def __init__(self, shape: TransformerShape, state: dict[str, torch.Tensor] | list[dict[str, torch.Tensor]]):
        super().__init__()
        if shape.n_layers != 1:
            raise ValueError(f"AnswerTransformer computes one layer; got n_layers={shape.n_layers}")
        self.shape = shape
        self.ensemble = isinstance(state, list)
        states = state if self.ensemble else [state]
        for name in _param_shapes(shape):
            tensor = torch.stack([s[name].detach() for s in states])  # [member, ...]
            key = param_name(name)
            if name.rsplit(".", 1)[1].startswith("W_"):
                self.register_parameter(key, nn.Parameter(tensor))
            else:
                self.register_buffer(key, tensor)

    @property
    def n_members(self) -> int:
        return self.embed__W_E.shape[0]

    def hooked_state(self, member: int | None = None) -> dict[str, torch.Tensor]:
        """Weights and biases under HookedTransformer names (detached, contiguous).

        Args:
            member: which ensemble member; required for an ensemble, ignored for one model.
        """
        if self.ensemble and member is None:
            raise ValueError("hooked_state(member=k) for an ensemble")
        k = member if self.ensemble else 0
        tensors = dict(self.named_parameters()) | dict(self.named_buffers())
        return {name: tensors[param_name(name)][k].detach().contiguous() for name in _param_shapes(self.shape)}

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """tokens [batch, n_ctx] -> logits [batch, d_vocab_out] at the final position;
        for an ensemble, tokens [member, batch, n_ctx] -> logits [member, batch, d_vocab_out].

        Every attention quantity is a function of (position, token) pairs, so it is computed
        once per table entry and gathered per row: scores from a [pos, vocab_q, vocab_k, head]
        table, and the attention output as a pattern-weighted `embedding_bag` over an OV table
        [pos, vocab, head, d_model]. Per-row work is then just the MLP and unembedding.
        """
        tokens = tokens if self.ensemble else tokens[None]
        g = self.__dict__["_parameters"] | self.__dict__["_buffers"]
        W_E, W_pos = g["embed__W_E"], g["pos_embed__W_pos"]
        W_Q, W_K, W_V, W_O = (g[f"blocks__0__attn__W_{x}"] for x in "QKVO")
        b_Q, b_K, b_V, b_O = (g[f"blocks__0__attn__b_{x}"] for x in "QKVO")
        members, batch, n_ctx = tokens.shape
        last, vocab, heads = n_ctx - 1, W_E.shape[1], W_Q.shape[1]
        resid_table = W_E[:, None] + W_pos[:, :n_ctx, None]  # [m, pos, vocab, d_model]
        k_table = torch.einsum("mpvd,mhde->mphve", resid_table, W_K) + b_K[:, None, :, None]  # [m, pos, head, vocab, d_head]
        q_table = torch.einsum("mvd,mhde->mhve", resid_table[:, last], W_Q) + b_Q[:, :, None]  # [m, head, vocab, d_head]
        scores = torch.einsum("mhue,mphve->mpuvh", q_table, k_table) / math.sqrt(self.shape.d_head)  # [m, pos, vq, vk, head]
        v_table = torch.einsum("mpvd,mhde->mpvhe", resid_table, W_V) + b_V[:, None, None]  # [m, pos, vocab, head, d_head]
        ov_table = torch.einsum("mpvhe,mhef->mpvhf", v_table, W_O)  # [m, pos, vocab, head, d_model]
        m = torch.arange(members, device=tokens.device)[:, None, None]
        pos = torch.arange(n_ctx, device=tokens.device)
        # the causal mask is a no-op for the last query, which sees every position
        # Gathers go through F.embedding: advanced-index backward (index_put_ with accumulate)
        # sums in a thread-dependent order on CPU, which broke run-to-run reproducibility.
        score_rows = ((m * n_ctx + pos) * vocab + tokens[..., last:]) * vocab + tokens  # [m, batch, pos]
        pattern = F.embedding(score_rows, scores.reshape(-1, heads)).softmax(dim=2)  # [m, batch, pos, head]
        rows = ((m * n_ctx + pos) * vocab + tokens)[..., None] * heads + torch.arange(heads, device=tokens.device)
        attn_out = F.embedding_bag(rows.reshape(members * batch, -1), ov_table.reshape(-1, ov_table.shape[-1]),
                                   per_sample_weights=pattern.reshape(members * batch, -1), mode="sum")
        last_rows = resid_table[:, last].reshape(members * vocab, -1)  # [m * vocab, d_model]
        resid = F.embedding(m[..., 0] * vocab + tokens[..., last], last_rows) + attn_out.view(members, batch, -1) + b_O[:, None]
        post = F.relu(resid @ g["blocks__0__mlp__W_in"] + g["blocks__0__mlp__b_in"][:, None])  # [m, batch, d_mlp]
        resid = resid + post @ g["blocks__0__mlp__W_out"] + g["blocks__0__mlp__b_out"][:, None]
        logits = resid @ g["unembed__W_U"] + g["unembed__b_U"][:, None]
        return logits if self.ensemble else logits[0]


def bridge_config(shape: TransformerShape):
    """The TransformerBridgeConfig for this shape: no LayerNorm, ReLU, standard positions."""
    from transformer_lens.config import TransformerBridgeConfig

    return TransformerBridgeConfig(
        n_layers=shape.n_layers, n_heads=shape.n_heads, d_model=shape.d_model, d_head=shape.d_head,
        d_mlp=shape.d_mlp, d_vocab=shape.d_vocab, d_vocab_out=shape.d_vocab_out, n_ctx=shape.n_ctx,
        act_fn="relu", normalization_type=None, init_weights=False,
    )


def to_bridge(shape: TransformerShape, state: dict[str, torch.Tensor], device: str = "cpu"):
    """A TransformerLens 4 native bridge carrying exactly `state` (HookedTransformer names)."""
    return bridge_from_config(bridge_config(shape), state, device)


def bridge_from_config(cfg, state: dict[str, torch.Tensor], device: str = "cpu"):
    """Boot a native bridge for `cfg` and load `state` (HookedTransformer names) into it, strictly."""
    from transformer_lens.model_bridge.sources.native import boot
    from transformer_lens.utilities.tl_checkpoint_conversion import convert_tl_checkpoint

    bridge = boot(cfg, device=device)
    converted = convert_tl_checkpoint({k: v.to(device) for k, v in state.items()}, cfg)
    bridge.load_state_dict(converted, strict=True)
    return bridge.eval()
