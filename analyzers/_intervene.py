"""Hook-level edits of a model over the probe, and their effect on loss and accuracy.

An `Edit` is a name, a scope (what it touches: "head", "neurons", "W_E", "logits", "patch")
and a list of TransformerLens forward hooks (hook name -> fn(activation, hook) -> activation),
plus an optional edit of the answer logits after the forward. `effect` runs the model once
per edit over the probe (`ctx.model.run_with_hooks`) and scores the answer-position logits
on the train and test rows, as loss_accuracy does on the unedited model.

Frequency edits work on the full p x p grid of (a, b) pairs in the family's Fourier basis
(`ctx.family["fourier_basis"]`, rows [const, cos 1, sin 1, ...]):

- W_E: each embedding dimension is a function of the token value; keep-only(K) keeps the
  constant and the rows of frequency in K, remove(K) zeroes the rows of frequency in K.
- neurons and logits: each unit is a map over (a, b); its 2-D coefficient (i, j) belongs to
  K when every non-constant frequency among freq(i), freq(j) is in K. keep-only(K) keeps
  the constant and what belongs to K; remove(K) removes what belongs to K except the
  constant. So keep(K) + remove(K) = the map + its constant, as restricted and excluded
  loss split the logits (analyzers.restricted_loss), and removing every frequency leaves
  each unit's mean over the grid: the same value for every input.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch

from analyzers._maps import answer_pos, freq_of_basis_row, operand_pos
from analyzers._output import masked_mean, nll

__all__ = ["Edit", "effect", "grid_rows", "keep_mask_1d", "keep_mask_2d", "filter_grid", "filter_rows",
           "ablate_hook", "replace_at_answer", "METRICS"]

METRICS = ("train_loss", "test_loss", "train_acc", "test_acc")
Hook = Callable[[torch.Tensor, object], torch.Tensor]


@dataclass(frozen=True)
class Edit:
    """One intervention: forward hooks, and/or an edit of the answer logits [batch, class] after them."""

    name: str
    scope: str
    hooks: list[tuple[str, Hook]] = field(default_factory=list)
    logits: Callable[[np.ndarray], np.ndarray] | None = None


def effect(ctx, edit: Edit) -> dict[str, float]:
    """Loss and accuracy (train/test rows) of the answer logits with `edit` applied."""
    if edit.hooks:
        with torch.inference_mode():
            out = ctx.model.run_with_hooks(torch.as_tensor(ctx.probe), fwd_hooks=edit.hooks)
        logits = out[:, answer_pos(ctx.family), :].float().cpu().numpy()
    else:
        logits = ctx.logits[:, answer_pos(ctx.family), :]
    if edit.logits is not None:
        logits = edit.logits(logits)
    loss = nll(logits, ctx.labels)
    right = (np.argmax(logits, axis=-1) == ctx.labels).astype(np.float64)
    return {"train_loss": float(masked_mean(loss, ctx.train_mask)), "test_loss": float(masked_mean(loss, ctx.test_mask)),
            "train_acc": float(masked_mean(right, ctx.train_mask)), "test_acc": float(masked_mean(right, ctx.test_mask))}


def grid_rows(ctx) -> np.ndarray:
    """[batch] each probe row's place a * p + b on the grid; ValueError unless the probe is the full grid."""
    p = ctx.p
    i, j = operand_pos(ctx.family)
    rows = ctx.probe[:, i].astype(np.int64) * p + ctx.probe[:, j].astype(np.int64)
    if len(rows) != p * p or not np.array_equal(np.sort(rows), np.arange(p * p)):
        raise ValueError(f"frequency edits need the full {p}x{p} grid as probe; got {len(rows)} rows")
    return rows


def keep_mask_1d(p: int, keys) -> np.ndarray:
    """[p] bool: basis rows that are the constant or of a frequency in `keys`."""
    freq = freq_of_basis_row(p)
    return (freq == 0) | np.isin(freq, np.asarray(keys, dtype=np.int64))


def keep_mask_2d(p: int, keys) -> np.ndarray:
    """[p, p] bool: 2-D coefficients whose non-constant frequencies all lie in `keys` (the constant included)."""
    one = keep_mask_1d(p, keys)
    return one[:, None] & one[None, :]


def filter_rows(matrix: np.ndarray, basis: np.ndarray, keys, keep: bool) -> np.ndarray:
    """[p, d] rows indexed by a token value, with frequencies in `keys` kept only (keep) or removed."""
    p = basis.shape[0]
    coef = basis @ matrix.astype(np.float64)  # [basis row, d]
    mask = keep_mask_1d(p, keys) if keep else ~keep_mask_1d(p, keys) | (freq_of_basis_row(p) == 0)
    return (basis.T @ (coef * mask[:, None])).astype(matrix.dtype)


def filter_grid(values: np.ndarray, rows: np.ndarray, basis: np.ndarray, keys, keep: bool) -> np.ndarray:
    """[batch, units] per-probe-row values filtered over the (a, b) grid (module docstring).

    Args:
        values: [batch, units] one row per probe row; rows: [batch] their grid places a * p + b.
        basis: [p, p] orthonormal Fourier basis; keys: 1-based frequencies; keep: keep-only or remove.
    """
    p = basis.shape[0]
    g = np.empty((p * p, values.shape[1]))
    g[rows] = values
    g = g.reshape(p, p, -1)  # [a, b, unit]
    coef = np.einsum("ia,jb,abu->iju", basis, basis, g, optimize=True)
    mask = keep_mask_2d(p, keys)
    if not keep:
        mask = ~mask
        mask[0, 0] = True  # the constant stays
    out = np.einsum("ia,jb,iju->abu", basis, basis, coef * mask[:, :, None], optimize=True).reshape(p * p, -1)
    return out[rows].astype(values.dtype)


def ablate_hook(units, mode: str, dim: int) -> Hook:
    """A hook setting units (indices on axis `dim`: -1 for neurons [batch, pos, d_mlp], -2 for the heads
    of hook_z [batch, pos, head, d_head]) to zero or to their mean over the probe, at every position."""
    units = list(units)

    def fn(act: torch.Tensor, hook=None) -> torch.Tensor:
        act = act.clone()
        index = [slice(None)] * act.dim()
        index[act.dim() + dim] = units
        index = tuple(index)
        act[index] = act[index].mean(dim=0, keepdim=True) if mode == "mean" else 0.0
        return act

    return fn


def replace_at_answer(ctx, values: np.ndarray) -> Hook:
    """A hook replacing the answer position's activation with `values` [batch, ...]."""
    q = answer_pos(ctx.family)
    new = torch.as_tensor(values)

    def fn(act: torch.Tensor, hook=None) -> torch.Tensor:
        act = act.clone()
        act[:, q] = new.to(act.dtype)
        return act

    return fn
