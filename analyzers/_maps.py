"""Shared helpers for analyzers that read the probe as a p x p grid of (a, b) maps.

`fourier_fractions` is the 2-D Fourier "fraction of variance explained by frequency k"
of Nanda et al. 2023 (§4.3 and the TransformerLens grokking demo), vectorized over maps.

Where the operands and the answer sit, and which hooks hold neurons and attention, come
from the family's capabilities (`ctx.family`, see workbench.core.family): `operand_pos`,
`answer_pos`, `neuron_hooks`, `last_neuron_hook` and `attention_hooks` read them, so no analyzer
assumes positions (0, 1, last) or a layer 0. Which neuron layer the neuron analyzers read is
decided once per run from the final checkpoint (analyzers._keyfreq.neuron_layer). The Fourier basis is the family's too
(`ctx.family["fourier_basis"]`: additive characters for addition, multiplicative ones
through the discrete log for multiplication), in the layout [const, cos 1, sin 1, ...].
"""

from __future__ import annotations

import numpy as np

__all__ = ["to_grid", "grid", "fourier_energy", "fourier_fractions", "dominant", "freq_of_basis_row",
           "neuron_spectrum", "fractions_from_energy", "unit_variance", "operand_pos", "answer_pos",
           "last_neuron_hook", "neuron_hooks", "attention_hooks", "DEAD"]

DEAD = -1  # the dominant frequency of a map with no variance (a dead neuron): it has none
_LAST: dict[str, tuple] = {}  # hook name -> (source array, value), latest checkpoint only


def operand_pos(family) -> tuple[int, int]:
    """The token positions (i, j) of the operands a and b (capabilities["modular"]["operands"])."""
    i, j = family["modular"]["operands"]
    return int(i), int(j)


def answer_pos(family) -> int:
    """The position whose logits (and activations) answer (capabilities["modular"]["answer"])."""
    return int(family["modular"]["answer"])


def last_neuron_hook(caps) -> tuple[str]:
    """The last layer's neuron hook: the MLP whose output the unembedding reads most directly."""
    return tuple(caps["neuron_hooks"][-1:])


def neuron_hooks(caps) -> tuple[str, ...]:
    """Every MLP layer's neuron hook, in layer order."""
    return tuple(caps["neuron_hooks"])


def attention_hooks(caps) -> tuple[str, ...]:
    """Every layer's attention-pattern hook, in layer order."""
    return tuple(caps["attention_hooks"])


def to_grid(values: np.ndarray, probe: np.ndarray, p: int, operands: tuple[int, int] = (0, 1)) -> np.ndarray:
    """Arrange per-probe-row values on the (a, b) grid.

    Args:
        values: [batch, ...] one entry per probe row.
        probe: [batch, n_ctx] input tokens.
        p: the modulus; the probe must cover every (a, b) pair exactly once.
        operands: the probe columns holding a and b.

    Returns:
        [..., p, p] with out[..., a, b] = values[row of (a, b)].
    """
    i, j = operands
    rows = probe[:, i].astype(np.int64) * p + probe[:, j].astype(np.int64)
    if len(rows) != p * p or not np.array_equal(np.sort(rows), np.arange(p * p)):
        raise ValueError(f"probe must cover all {p}x{p} (a, b) pairs exactly once; got {len(rows)} rows")
    if not np.array_equal(rows, np.arange(p * p)):  # the family's default order is a*p+b already
        values = values[np.argsort(rows)]
    grid = values.reshape(p, p, *values.shape[1:])  # [a, b, ...]
    return np.moveaxis(grid, (0, 1), (-2, -1))


def grid(ctx, values: np.ndarray) -> np.ndarray:
    """`to_grid` over the context's probe, at the family's operand positions."""
    return to_grid(values, ctx.probe, ctx.p, operand_pos(ctx.family))


def freq_of_basis_row(p: int) -> np.ndarray:
    """[p] frequency of each Fourier basis row (const, cos1, sin1, cos2, ...) -> 0, 1, 1, 2, ..."""
    return (np.arange(p) + 1) // 2


def fourier_energy(maps: np.ndarray, basis: np.ndarray) -> np.ndarray:
    """Squared 2-D Fourier coefficients of each map.

    Args:
        maps: [n, p, p] maps over (a, b).
        basis: [p, p] orthonormal Fourier basis rows (workbench.core.fourier.fourier_basis).

    Returns:
        [n, p, p] float32 (basis @ M @ basis.T) ** 2, index [n, a-row, b-row]; row/column 0
        is the constant. float32 GEMMs: fractions need ~1e-6, not float64's precision.
    """
    n, p, _ = maps.shape
    bt = np.ascontiguousarray(basis.T, dtype=np.float32)
    m = np.ascontiguousarray(maps, dtype=np.float32)
    # two large GEMMs rather than 2n small ones: transform b, then a (via a transposed copy)
    half = (m.reshape(n * p, p) @ bt).reshape(n, p, p).transpose(0, 2, 1)  # [n, j, a]
    coef = (np.ascontiguousarray(half).reshape(n * p, p) @ bt).reshape(n, p, p)  # [n, j, i]
    return (coef * coef).transpose(0, 2, 1)  # [n, i, j]


def fourier_fractions(maps: np.ndarray, basis: np.ndarray) -> np.ndarray:
    """Fraction of each map's non-constant variance explained by each frequency.

    A map M[a, b] is written in the 2-D basis (basis ⊗ basis): C = basis @ M @ basis.T.
    Frequency k owns the coefficients whose row and column index both lie in
    {const, cos k, sin k} except (const, const): the pure-a terms, the pure-b terms and
    the k-k products (cos ka cos kb, ..., which carry cos/sin k(a+b)). Its fraction is
    their squared sum over the total squared sum without (const, const). Cross terms
    between different frequencies belong to no k, so fractions may sum to < 1.

    Args:
        maps: [n, p, p] maps over (a, b).
        basis: [p, p] orthonormal Fourier basis rows (workbench.core.fourier.fourier_basis).

    Returns:
        [n, F] fractions in [0, 1] (float64); a whole row of NaN for a constant map (a dead
        neuron): it has no variance, so no frequency explains any of it.
    """
    return fractions_from_energy(fourier_energy(maps, basis))


def fractions_from_energy(energy: np.ndarray) -> np.ndarray:
    """fourier_fractions from precomputed fourier_energy [n, p, p] -> [n, F]."""
    n, p, _ = energy.shape
    f = (p - 1) // 2
    pairs = energy[:, 1:, 1:].reshape(n, f, 2, f, 2)  # [n, a freq, cos/sin, b freq, cos/sin]
    owned = (np.einsum("nkakb->nk", pairs, dtype=np.float64)
             + energy[:, 1:, 0].reshape(n, f, 2).sum(-1, dtype=np.float64)
             + energy[:, 0, 1:].reshape(n, f, 2).sum(-1, dtype=np.float64))  # [n, F]
    const = energy[:, 0, 0].astype(np.float64)
    total = energy.sum(axis=(1, 2), dtype=np.float64) - const
    varies = total > 1e-10 * np.maximum(const, 1.0)
    return np.where(varies[:, None], owned / np.where(varies, total, 1.0)[:, None], np.nan)


def unit_variance(energy: np.ndarray) -> np.ndarray:
    """[n] each map's non-constant variance (its energy without the (const, const) term), float64."""
    return energy.sum(axis=(1, 2), dtype=np.float64) - energy[:, 0, 0].astype(np.float64)


def dominant(frac: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """[n, F] fractions -> (dominant 1-based frequency [n] int64, its fraction [n]).

    A map with no variance (its row of `frac` all NaN: a dead neuron, a constant head) has
    no dominant frequency: it gets DEAD (-1) and a NaN fraction, so that counts over
    frequencies 1..F leave it out instead of filing it under k = 1.
    """
    live = ~np.all(np.isnan(frac), axis=1)
    idx = np.argmax(np.where(np.isnan(frac), -np.inf, frac), axis=1)
    share = np.where(live, frac[np.arange(len(frac)), idx], np.nan)
    return np.where(live, idx + 1, DEAD).astype(np.int64), share


def neuron_spectrum(ctx, hook: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(maps [neuron, a, b] float32, fourier_energy(maps) [neuron, i, j]) of one MLP layer's
    activations at the answer position (default: the last layer).

    Memoized per hook on the identity of the cached activation array (latest checkpoint only):
    all analyzers of one checkpoint share one context, so key_frequencies, neuron_freq_clusters
    and coarseness pay for the p=113 transform of 512 maps once. Callers must not modify the
    returned arrays.
    """
    hook = hook or last_neuron_hook(ctx.family)[0]
    post = ctx.cache[hook]  # [batch, pos, d_mlp]
    hit = _LAST.get(hook)
    if hit is not None and hit[0] is post:
        return hit[1]
    maps = np.ascontiguousarray(grid(ctx, post[:, answer_pos(ctx.family), :]), dtype=np.float32)
    value = (maps, fourier_energy(maps, np.asarray(ctx.family["fourier_basis"])))
    _LAST[hook] = (post, value)
    return value
