"""Modular-arithmetic helpers: discrete logarithms, the Fourier basis that fits each
operation, and spectral smoothness of an output function over the (a, b) grid.

Addition mod p is diagonalized by the additive characters x -> exp(2 pi i k x / p)
(`workbench.core.fourier.fourier_basis`). Multiplication on the nonzero residues is addition
of discrete logarithms: with g a primitive root (a generator of the cyclic group
(Z/p)^*), x = g^log(x), and a * b = g^(log a + log b mod p-1). Its characters are the
multiplicative characters x -> exp(2 pi i k log(x) / (p-1)), the Fourier basis of
Z_{p-1} read through the discrete log. 0 has no logarithm and is set apart.

    >>> g = primitive_root(17); g
    3
    >>> log = discrete_log_table(17); int(log[3]), int(log[9]), int(log[1])
    (1, 2, 0)
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from workbench.core.fourier import fourier_basis

__all__ = ["primitive_root", "discrete_log_table", "power_table", "operation_basis", "multiplicative_basis",
           "phasor_grid", "smoothness", "low_frequency_mask", "smooth_cutoff", "NO_LOG", "GridLayout",
           "grid_layout", "differentiable_smoothness"]

NO_LOG = -1  # discrete_log_table's entry for 0, which has no logarithm


def _prime_factors(n: int) -> list[int]:
    out, d = [], 2
    while d * d <= n:
        if n % d == 0:
            out.append(d)
            while n % d == 0:
                n //= d
        d += 1
    return out + ([n] if n > 1 else [])


def primitive_root(p: int) -> int:
    """The smallest generator g of (Z/p)^* for prime p: g^((p-1)/q) != 1 for every prime q | p-1."""
    if p == 2:
        return 1
    factors = _prime_factors(p - 1)
    for g in range(2, p):
        if all(pow(g, (p - 1) // q, p) != 1 for q in factors):
            return g
    raise ValueError(f"{p} has no primitive root (is it prime?)")


def power_table(p: int) -> np.ndarray:
    """[p-1] int64: g^e mod p for e = 0..p-2 (g = primitive_root(p)), the inverse of the discrete log."""
    g, out, x = primitive_root(p), np.empty(p - 1, dtype=np.int64), 1
    for e in range(p - 1):
        out[e] = x
        x = x * g % p
    return out


def discrete_log_table(p: int) -> np.ndarray:
    """[p] int64: log[x] = e with g^e = x mod p for x = 1..p-1; log[0] = NO_LOG."""
    log = np.full(p, NO_LOG, dtype=np.int64)
    log[power_table(p)] = np.arange(p - 1)
    return log


def multiplicative_basis(p: int) -> np.ndarray:
    """Orthonormal [p, p] rows over the residues x = 0..p-1 in the additive basis's layout.

    With f = (p-1)/2 and F = fourier_basis-style rows of Z_{p-1} (unnormalized
    cos/sin(2 pi k e / (p-1))), row by row:

    - row 0: the constant over all p residues (as in the additive basis);
    - rows 2k-1, 2k (k = 1..f-1): cos, sin(2 pi k log(x) / (p-1)) on x != 0, and 0 at x = 0
      (the real and imaginary parts of the multiplicative character of order (p-1)/k);
    - row 2f-1 ("cos f"): (-1)^log(x) on x != 0, 0 at 0 (the Legendre symbol, the quadratic
      character; its sine is identically zero on Z_{p-1});
    - row 2f ("sin f"): the zero indicator centred, (p-1) at x = 0 and -1 elsewhere; it
      completes the basis and is where 0, which has no logarithm, is set apart.

    So `basis @ M @ basis.T` of a map M[a, b] indexed by raw residues, and
    analyzers._maps.fourier_fractions over it, give the spectrum in multiplicative
    characters: a function of a*b (a, b != 0) lies in the diagonal k-k blocks. Only the
    "frequency f" pair mixes two kinds (quadratic character and zero indicator).
    """
    if p < 5:
        raise ValueError(f"the multiplicative basis needs a prime p >= 5, got {p}")
    log, f = discrete_log_table(p), (p - 1) // 2
    e = log[1:].astype(np.float64)  # logs of the nonzero residues 1..p-1
    rows = [np.ones(p)]
    for k in range(1, f):
        for trig in (np.cos, np.sin):
            rows.append(np.concatenate([[0.0], trig(2 * np.pi * k * e / (p - 1))]))
    rows.append(np.concatenate([[0.0], (-1.0) ** e]))
    rows.append(np.concatenate([[p - 1.0], -np.ones(p - 1)]))
    basis = np.stack(rows)
    return basis / np.linalg.norm(basis, axis=1, keepdims=True)


def operation_basis(p: int, operation: str) -> np.ndarray:
    """The [p, p] Fourier basis whose characters diagonalize `operation` ("add" or "multiply")."""
    if operation == "add":
        return fourier_basis(p)
    if operation == "multiply":
        return multiplicative_basis(p)
    raise ValueError(f"no Fourier basis for operation {operation!r}; choose add or multiply")


# ----------------------------------------------------------------------------- smoothness
def phasor_grid(probs: np.ndarray, a: np.ndarray, b: np.ndarray, p: int, operation: str) -> np.ndarray:
    """The model's output function as a complex grid: each answer c is the point on the
    unit circle that its group structure gives it, weighted by the predicted probability.

    Args:
        probs: [rows, p] predicted answer probabilities (softmax of the logits).
        a, b: [rows] operands; together they must cover the whole p x p grid.
        p: the modulus; operation: "add" or "multiply".
    Returns:
        add (and subtract): [p, p] z[a, b] = sum_c probs[c] exp(2 pi i c / p);
        multiply: [p-1, p-1] z[log a, log b] = sum_{c != 0} probs[c] exp(2 pi i log(c) / (p-1))
        over the nonzero operands only (rows with a = 0 or b = 0 are set apart, and the
        answer 0 contributes no phasor).
    """
    if operation in ("add", "subtract"):  # a - b is as smooth as a + b: a (1, -1) wave
        phase = np.exp(2j * np.pi * np.arange(p) / p)
        grid = np.zeros((p, p), dtype=np.complex128)
        grid[a, b] = probs @ phase
        return grid
    if operation != "multiply":
        raise ValueError(f"no smoothness indexing for operation {operation!r}; choose add, subtract or multiply")
    log = discrete_log_table(p)
    phase = np.concatenate([[0.0], np.exp(2j * np.pi * log[1:] / (p - 1))])
    keep = (a != 0) & (b != 0)
    grid = np.zeros((p - 1, p - 1), dtype=np.complex128)
    grid[log[a[keep]], log[b[keep]]] = probs[keep] @ phase
    return grid


def smooth_cutoff(n: int) -> int:
    """Highest |frequency| counted as low on an n-point axis: max(1, n // 8)."""
    return max(1, n // 8)


def low_frequency_mask(n: int) -> np.ndarray:
    """[n, n] bool: the FFT bins (k_a, k_b), signed frequencies, with 1 <= max(|k_a|, |k_b|) <= smooth_cutoff(n)."""
    k = np.abs(np.fft.fftfreq(n, d=1.0 / n)).round().astype(int)
    top = np.maximum(k[:, None], k[None, :])
    return (top >= 1) & (top <= smooth_cutoff(n))


def smoothness(grid: np.ndarray) -> tuple[float, np.ndarray]:
    """Spectral smoothness of a complex output grid and its 2-D power spectrum.

    smoothness = sum of |FFT2(z)|^2 over the low bins (low_frequency_mask) / sum over all
    bins but the constant (0, 0). The constant is left out of both, so a model that
    answers the same for every input has no defined smoothness (NaN) rather than a
    perfect score. The exact target is a pure (1, 1) wave, so it scores 1.0 for add and,
    indexed by discrete log, for multiply; random labels spread their power evenly and
    score about (number of low bins) / (n^2 - 1).

    Returns:
        (score in [0, 1] or NaN, power [n, n] float64 with the constant bin included).
    """
    power = np.abs(np.fft.fft2(grid)) ** 2
    total = power.sum() - power[0, 0]
    if not total > 1e-12 * max(power[0, 0], 1.0):
        return float("nan"), power
    return float(power[low_frequency_mask(len(grid))].sum() / total), power


# ----------------------------------------------------------------------------- smoothness with gradients
class GridLayout(NamedTuple):
    """Where phasor_grid puts each probe row, and each answer's phasor."""

    cell: torch.Tensor  # [rows] long: flat cell (row-major over [n, n]) of each row, -1 for a row set apart
    phase: torch.Tensor  # [p] complex128: the phasor of each answer c (0 for multiply's c = 0)
    n: int  # the grid's side: p for add, p - 1 for multiply


def grid_layout(a: np.ndarray, b: np.ndarray, p: int, operation: str) -> GridLayout:
    """Where `phasor_grid` puts each row (a, b) and which phasor each answer c gets, for
    `differentiable_smoothness`; rows with a = 0 or b = 0 are set apart (-1) for multiply."""
    a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
    if operation in ("add", "subtract"):
        return GridLayout(torch.as_tensor(a * p + b), torch.exp(2j * np.pi * torch.arange(p, dtype=torch.float64) / p), p)
    if operation != "multiply":
        raise ValueError(f"no smoothness indexing for operation {operation!r}; choose add, subtract or multiply")
    log = discrete_log_table(p)
    cell = np.where((a != 0) & (b != 0), log[a] * (p - 1) + log[b], -1)
    phase = np.concatenate([[0.0], np.exp(2j * np.pi * log[1:] / (p - 1))])
    return GridLayout(torch.as_tensor(cell), torch.as_tensor(phase), p - 1)


def differentiable_smoothness(probs: torch.Tensor, layout: GridLayout) -> torch.Tensor:
    """`smoothness` of the phasor grid of probs [rows, p] (covering the whole grid), in torch
    float64 so gradients flow to the model: the same number, except that a grid with no power
    outside the constant bin scores 0 (not NaN), so a penalty 1 - score stays finite."""
    cell, phase, n = layout
    keep = cell >= 0
    z = probs[keep].to(torch.float64).to(torch.complex128) @ phase.to(probs.device)  # [kept rows]
    grid = torch.zeros(n * n, dtype=torch.complex128, device=probs.device).index_put((cell[keep].to(probs.device),), z)
    power = torch.fft.fft2(grid.view(n, n)).abs() ** 2
    low = power[torch.as_tensor(low_frequency_mask(n), device=probs.device)].sum()
    return low / (power.sum() - power[0, 0]).clamp_min(1e-30)
