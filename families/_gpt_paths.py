"""The forward paths of `families._gpt.GPT`, as functions of its shape and weights.

`w` maps HookedTransformer names to tensors: one model's (no member axis) for
`every_position` and `prefix`, a stack's ([member, ...]) for `tables`. Each path computes
the same function (tests/unit/families/test_gpt.py checks them against the bridge and each
other) with different float rounding, so a family keeps the path its runs trained with.
"""

from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F

__all__ = ["every_position", "prefix", "tables", "LN_EPS", "MIN_ROWS"]

LN_EPS = 1e-5  # HookedTransformerConfig's and TransformerBridgeConfig's default eps
MIN_ROWS = 12  # fewest rows the prefix path hands a matmul (see `prefix`)
_ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {"relu": F.relu, "gelu": F.gelu}
Weights = dict[str, torch.Tensor]


# ---------------------------------------------------------------------------- components
def _norm(s, w: Weights, x: torch.Tensor, name: str) -> torch.Tensor:
    if s.normalization is None:
        return x
    # written out as HookedTransformer's LayerNorm is: F.layer_norm's backward sums the
    # scale and bias gradients in an order that depends on the thread count
    x = x - x.mean(-1, keepdim=True)
    return x / (x.pow(2).mean(-1, keepdim=True) + LN_EPS).sqrt() * w[f"{name}.w"] + w[f"{name}.b"]


def _qkv(w: Weights, x: torch.Tensor, b: str) -> torch.Tensor:
    """x [..., d_model] -> [..., 3, head, d_head] in one matmul (per-head einsums run as slow bmm's on CPU)."""
    W = torch.stack([w[f"{b}.attn.W_{c}"] for c in "QKV"])  # [3, head, d_model, d_head]
    bias = torch.stack([w[f"{b}.attn.b_{c}"] for c in "QKV"])  # [3, head, d_head]
    d = x.shape[-1]
    qkv = torch.addmm(bias.reshape(-1), x.reshape(-1, d), W.permute(2, 0, 1, 3).reshape(d, -1))
    return qkv.view(*x.shape[:-1], *bias.shape)


def _attn_out(w: Weights, z: torch.Tensor, b: str) -> torch.Tensor:
    """z [..., head, d_head] -> [..., d_model]."""
    W_O = w[f"{b}.attn.W_O"]  # [head, d_head, d_model]
    return z.flatten(-2) @ W_O.reshape(-1, W_O.shape[-1]) + w[f"{b}.attn.b_O"]


def _mlp(s, w: Weights, x: torch.Tensor, b: str) -> torch.Tensor:
    pre = x @ w[f"{b}.mlp.W_in"] + w[f"{b}.mlp.b_in"]
    return _ACTIVATIONS[s.act_fn](pre) @ w[f"{b}.mlp.W_out"] + w[f"{b}.mlp.b_out"]


def _unembed(s, w: Weights, resid: torch.Tensor) -> torch.Tensor:
    return _norm(s, w, resid, "ln_final") @ w["unembed.W_U"] + w["unembed.b_U"]


# ---------------------------------------------------------------------------- every position (layer by layer)
def every_position(s, w: Weights, tokens: torch.Tensor, causal_mask: torch.Tensor,
                   site_fn: Callable[[str, torch.Tensor], torch.Tensor] | None = None) -> torch.Tensor:
    """tokens [batch, pos] -> logits [batch, pos, d_vocab_out].

    `site_fn(name, x)`, when given, replaces the tensor at each intervention site, named as
    the bridge's hook: ``blocks.{i}.hook_attn_out``, ``blocks.{i}.hook_mlp_out``,
    ``blocks.{i}.hook_resid_post`` [batch, pos, d_model] and (with LayerNorm)
    ``ln_final.hook_normalized``.
    """
    n, scale = tokens.shape[1], math.sqrt(s.d_head)
    resid = F.embedding(tokens, w["embed.W_E"]) + w["pos_embed.W_pos"][:n]  # [batch, pos, d_model]
    for i in range(s.n_layers):
        b = f"blocks.{i}"
        q, k, v = _qkv(w, _norm(s, w, resid, f"{b}.ln1"), b).permute(2, 0, 3, 1, 4)  # [batch, head, pos, d_head]
        scores = (q @ k.transpose(-1, -2) / scale).masked_fill(causal_mask[:n, :n], float("-inf"))
        z = (scores.softmax(dim=-1) @ v).transpose(1, 2)  # [batch, pos, head, d_head]
        attn_out = _attn_out(w, z, b)
        resid = resid + (attn_out if site_fn is None else site_fn(f"{b}.hook_attn_out", attn_out))
        mlp_out = _mlp(s, w, _norm(s, w, resid, f"{b}.ln2"), b)
        resid = resid + (mlp_out if site_fn is None else site_fn(f"{b}.hook_mlp_out", mlp_out))
        if site_fn is not None:
            resid = site_fn(f"{b}.hook_resid_post", resid)
    normalized = _norm(s, w, resid, "ln_final")
    if site_fn is not None and s.normalization is not None:
        normalized = site_fn("ln_final.hook_normalized", normalized)
    return normalized @ w["unembed.W_U"] + w["unembed.b_U"]


# ---------------------------------------------------------------------------- last position, prefix by prefix
def prefix(s, w: Weights, tokens: torch.Tensor) -> torch.Tensor:
    """tokens [batch, pos] -> logits [batch, d_vocab_out] at the last position.

    Causal attention makes position i a function of tokens[:i+1] alone, so each position is
    computed once per distinct prefix in the batch: for `[x, op, y]` rows positions 0 and 1
    are computed for the p values of x rather than for every row (about 1.7x fewer FLOPs at
    p=97, batch 512), and the last block computes only keys and values before the last
    position.
    """
    n, last, scale = tokens.shape[1], s.n_layers - 1, math.sqrt(s.d_head)
    keys: list[list[torch.Tensor]] = [[] for _ in range(s.n_layers)]  # [layer][pos]: [prefix, 2, h, d_h]
    inv, earlier = None, []  # batch row -> its prefix; this position's prefix -> its row in position j's tables
    for i in range(n):
        # a prefix is (its parent prefix, this token): the code stays below batch * d_vocab
        code = tokens[:, i] if inv is None else inv * s.d_vocab + tokens[:, i]
        prefixes, inv = torch.unique(code, return_inverse=True)  # [prefix], [batch]
        # pad to MIN_ROWS with copies no batch row reads: CPU matmuls of 5-7 or 9-11 rows sum in
        # an order that depends on the thread count, and runs must not (resume in another process)
        prefixes = torch.cat([prefixes, prefixes[:1].expand(max(0, MIN_ROWS - len(prefixes)))])
        if i:
            parent = prefixes // s.d_vocab
            earlier = [rows[parent] for rows in earlier] + [parent]
        resid = F.embedding(prefixes % s.d_vocab, w["embed.W_E"]) + w["pos_embed.W_pos"][i]
        for layer in range(s.n_layers):
            b = f"blocks.{layer}"
            q, kv = _qkv(w, _norm(s, w, resid, f"{b}.ln1"), b).split([1, 2], dim=1)  # [prefix, 1|2, head, d_head]
            keys[layer].append(kv)
            if layer == last and i < n - 1:
                break  # later positions need only this block's keys and values here
            past = [F.embedding(rows, keys[layer][j].flatten(1)).view(kv.shape)
                    for j, rows in enumerate(earlier)] + [kv]
            k, v = torch.stack(past, dim=3).unbind(1)  # each [prefix, head, key_pos, d_head]
            pattern = (torch.einsum("phe,phke->phk", q[:, 0], k) / scale).softmax(dim=-1)
            resid = resid + _attn_out(w, torch.einsum("phk,phke->phe", pattern, v), b)
            resid = resid + _mlp(s, w, _norm(s, w, resid, f"{b}.ln2"), b)
    return F.embedding(inv, _unembed(s, w, resid))


# ---------------------------------------------------------------------------- one layer from tables, on the member axis
def tables(s, w: Weights, tokens: torch.Tensor) -> torch.Tensor:
    """tokens [member, batch, n_ctx] -> logits [member, batch, d_vocab_out] at the last position
    (one layer, no LayerNorm; every weight carries the member axis).

    Every attention quantity is a function of (position, token) pairs, so it is computed
    once per table entry and gathered per row: scores from a [pos, vocab_q, vocab_k, head]
    table, and the attention output as a pattern-weighted `embedding_bag` over an OV table
    [pos, vocab, head, d_model]. Per-row work is then just the MLP and unembedding.
    """
    W_E, W_pos = w["embed.W_E"], w["pos_embed.W_pos"]
    W_Q, W_K, W_V, W_O = (w[f"blocks.0.attn.W_{x}"] for x in "QKVO")
    b_Q, b_K, b_V, b_O = (w[f"blocks.0.attn.b_{x}"] for x in "QKVO")
    members, batch, n_ctx = tokens.shape
    last, vocab, heads = n_ctx - 1, W_E.shape[1], W_Q.shape[1]
    resid_table = W_E[:, None] + W_pos[:, :n_ctx, None]  # [m, pos, vocab, d_model]
    k_table = torch.einsum("mpvd,mhde->mphve", resid_table, W_K) + b_K[:, None, :, None]  # [m, pos, head, vocab, d_head]
    q_table = torch.einsum("mvd,mhde->mhve", resid_table[:, last], W_Q) + b_Q[:, :, None]  # [m, head, vocab, d_head]
    scores = torch.einsum("mhue,mphve->mpuvh", q_table, k_table) / math.sqrt(s.d_head)  # [m, pos, vq, vk, head]
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
    post = _ACTIVATIONS[s.act_fn](resid @ w["blocks.0.mlp.W_in"] + w["blocks.0.mlp.b_in"][:, None])  # [m, batch, d_mlp]
    resid = resid + post @ w["blocks.0.mlp.W_out"] + w["blocks.0.mlp.b_out"][:, None]
    return resid @ w["unembed.W_U"] + w["unembed.b_U"][:, None]
