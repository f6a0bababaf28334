"""Shared helpers for output analyzers: high-precision cross-entropy and logit-lens stages.

`stage_logits` is the one place the residual stream is unembedded after each component;
logit_lens and input_trace both read it. The stages are the family's `resid_hooks`
(workbench.core.family): the residual after the embeddings and after each attention layer and
MLP, in order, so a deeper model simply has more stages.
"""

from __future__ import annotations

import re

import numpy as np

from analyzers._maps import answer_pos

__all__ = ["nll", "correct_logit", "masked_mean", "stage_logits", "stage_names", "resid_hooks", "final_ln"]

LN_EPS = 1e-5  # LayerNorm eps when the model does not say (HookedTransformerConfig's default)
_STAGE = {"pre": "embed", "mid": "+attn", "post": "+mlp"}  # hook_resid_<x> -> what the residual has added


def resid_hooks(caps) -> tuple[str, ...]:
    """The residual-stream hooks the logit lens unembeds, in order."""
    return tuple(caps["resid_hooks"])


def stage_names(hooks) -> np.ndarray:
    """[stage] labels of residual hooks: "embed", "+attn", "+mlp"; "L1 +attn" etc. in a deeper model.

    `blocks.0.hook_resid_pre` is "embed" (the embeddings alone); `blocks.i.hook_resid_mid`
    adds layer i's attention and `blocks.i.hook_resid_post` its MLP. Other names stand as they are.
    """
    parsed = [re.fullmatch(r"blocks\.(\d+)\.hook_resid_(pre|mid|post)", h) for h in hooks]
    deep = any(m and int(m.group(1)) > 0 for m in parsed)
    names = []
    for hook, m in zip(hooks, parsed):
        if m is None:
            names.append(hook)
        elif m.group(2) == "pre" and int(m.group(1)) == 0:
            names.append("embed")
        else:
            names.append(f"L{m.group(1)} {_STAGE[m.group(2)]}" if deep else _STAGE[m.group(2)])
    return np.array(names, dtype=np.str_)


def nll(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """[..., batch, classes], [batch] -> [..., batch] negative log-likelihood of the labels (float64).

    logsumexp - correct logit, i.e. -log_softmax[label] without materializing it. float64
    throughout: grokked losses reach 1e-7, which float32 cannot resolve next to 1.
    """
    x = np.array(logits, dtype=np.float64)  # a private copy, so the in-place ops below are safe
    top = x.max(axis=-1, keepdims=True)
    correct = correct_logit(x, labels)
    np.subtract(x, top, out=x)
    np.exp(x, out=x)
    return np.log(x.sum(axis=-1)) + top[..., 0] - correct


def correct_logit(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """[..., batch, classes], [batch] -> [..., batch] the logit of each row's label."""
    return np.take_along_axis(logits, np.broadcast_to(labels[:, None], logits.shape[:-1] + (1,)), axis=-1)[..., 0]


def masked_mean(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean over the rows in `mask` (last axis) as float64; NaN when the mask is empty."""
    if not mask.any():
        return np.full(values.shape[:-1], np.nan)
    return np.asarray(values[..., mask].astype(np.float64).mean(axis=-1))


def final_ln(ctx, resid: np.ndarray) -> np.ndarray:
    """The model's final LayerNorm (`ln_final.w`, `ln_final.b`) on [..., d_model] residuals.

    Each residual is normalized by its own mean and variance, as the model normalizes its
    last one (the logit lens of nostalgebraist 2020, "interpreting GPT: the logit lens").
    The eps is the model config's (`ctx.model.cfg.eps`), else LN_EPS.
    """
    eps = float(getattr(getattr(ctx.model, "cfg", None), "eps", LN_EPS))
    centred = resid - resid.mean(axis=-1, keepdims=True)
    scale = np.sqrt((centred * centred).mean(axis=-1, keepdims=True) + np.float32(eps))
    w = np.asarray(ctx.weights["ln_final.w"], dtype=np.float32)
    b = np.asarray(ctx.weights["ln_final.b"], dtype=np.float32)
    return (centred / scale * w + b).astype(np.float32)


def stage_logits(ctx, rows: np.ndarray | None = None) -> np.ndarray:
    """Unembed the answer-position residual after each stage (direct logit lens).

    Where the family has a final LayerNorm (capabilities `final_ln`), it is applied to each
    stage before W_U (see `final_ln`), so the last stage still equals the model's logits.

    Args:
        ctx: an EpochContext whose cache holds the family's `resid_hooks`.
        rows: probe rows to keep (default: all).

    Returns:
        [stage, row, d_vocab_out] float32 logits, stages in `resid_hooks` order.
    """
    w_u = np.asarray(ctx.weights["unembed.W_U"], dtype=np.float32)  # [d_model, d_vocab_out]
    b_u = np.asarray(ctx.weights["unembed.b_U"], dtype=np.float32)
    sel = slice(None) if rows is None else rows
    q = answer_pos(ctx.family)
    resid = np.stack([ctx.cache[h][sel, q, :] for h in resid_hooks(ctx.family)]).astype(np.float32)
    if ctx.family.get("final_ln"):
        resid = final_ln(ctx, resid)  # [stage, row, d_model]
    # float32 like the model itself, so the last stage reproduces its logits; nll upcasts
    return resid @ w_u + b_u
