"""How coarse (blob-like) or fine (stripe-like) each neuron's activation map is.

Three measures of each neuron's map M[a, b] (answer position, post-activation; in a deeper
model the layer every neuron analyzer reads, analyzers._keyfreq.neuron_layer), all NaN for a constant (dead) neuron. Coarser
maps score HIGHER on fft_low_ratio and downsample_preserved and LOWER on grad_magnitude.

- fft_low_ratio: share of the map's spectral energy, DC term removed, at low spatial
  frequency |(k_a, k_b)| <= F/4 (F = (p-1)//2, radius at least 1). The energy is taken
  from the real 2-D Fourier basis, which by Parseval equals |FFT2(M)|^2 pooled over
  (±k_a, ±k_b). White noise scores about pi/64 (the low disc's share of the plane).
- grad_magnitude: root-mean-square over the grid of |∇Z|, Z = (M - mean) / std (so it is
  scale-free), with periodic forward differences (np.roll) along a and b, as the grid is
  a torus (residues mod p). By Parseval it is exact on a pure wave of frequency
  (k_a, k_b): 2 sqrt(sin²(πk_a/p) + sin²(πk_b/p)), rising monotonically with each |k| up
  to (p-1)/2 whatever the wave's direction or phase. Version 1 took the mean of |∇Z| with
  central differences, which scale as sin(2πk/p) and fall back toward 0 as k nears p/2,
  ranking the finest patterns as coarse (and the mean, unlike the RMS, still dips on
  diagonal a-b waves near p/2, where the two partial differences move in and out of phase).
- downsample_preserved: 1 - |M0 - up(down(M0))|^2 / |M0|^2 for M0 = M - mean: the share
  of variance that survives a DOWNSAMPLE-times coarser grid of s = ceil(p / DOWNSAMPLE)
  points per axis at positions j*p/s (periodic). down is anti-aliased: the ideal periodic
  low-pass to the band the coarse grid can hold, |k| <= K = (s-1)//2 on each axis (a
  Dirichlet kernel), sampled at the coarse points; up is periodic linear interpolation
  between them. A frequency above K is removed before sampling, so it cannot alias
  back as a spurious coarse pattern: on pure-frequency maps the score is 0 above K and
  falls monotonically from 1 below it (the loss of linear interpolation). Version 1
  zoomed bilinearly without a filter, which aliased: negative and non-monotone scores
  above about k = p/8.
"""

from __future__ import annotations

import functools

import numpy as np

from analyzers._keyfreq import neuron_layer
from analyzers._maps import freq_of_basis_row, neuron_hooks, neuron_spectrum
from workbench.core.analyzer import register_analyzer

DOWNSAMPLE = 4  # keep 1 grid point in 4 along each axis


def fft_low_ratio(maps: np.ndarray, energy: np.ndarray) -> np.ndarray:
    """[n, p, p] maps and their fourier_energy -> [n] low-frequency share of non-DC energy (NaN if constant)."""
    p = maps.shape[-1]
    f = freq_of_basis_row(p)
    radius = max(1.0, ((p - 1) // 2) / 4)
    low = (f[:, None] ** 2 + f[None, :] ** 2) <= radius**2
    low[0, 0] = False
    total = energy.sum(axis=(1, 2), dtype=np.float64) - energy[:, 0, 0]
    return _ratio((energy * low).sum(axis=(1, 2), dtype=np.float64), total, maps)


def grad_magnitude(maps: np.ndarray) -> np.ndarray:
    """[n, p, p] -> [n] RMS periodic gradient magnitude of each standardized map (NaN if constant)."""
    m = np.asarray(maps, dtype=np.float32)
    std = m.std(axis=(1, 2), dtype=np.float64)
    ga = np.roll(m, -1, axis=1) - m  # forward difference along a, wrapping p-1 -> 0
    gb = np.roll(m, -1, axis=2) - m  # the mean shift does not change the differences
    rms = np.sqrt((ga * ga + gb * gb).mean(axis=(1, 2), dtype=np.float64))
    return np.where(std > 0, rms / np.where(std > 0, std, 1.0), np.nan)


@functools.lru_cache(maxsize=8)
def _resample_matrices(p: int, factor: int) -> tuple[np.ndarray, np.ndarray]:
    """([s, p] down, [p, s] up) along one axis of a periodic p-point grid, s = ceil(p/factor).

    down[j, n]: the ideal low-pass to |k| <= (s-1)//2 evaluated at coarse point x_j = j*p/s,
    i.e. (1 + 2 Σ_k cos(2πk(x_j - n)/p)) / p; up[n, j]: the periodic hat function of
    width p/s around x_j (linear interpolation; the hats sum to 1 at every n).
    """
    s = -(-p // factor)
    x = np.arange(s) * p / s  # coarse points
    diff = x[:, None] - np.arange(p)[None, :]  # [s, p]
    ks = np.arange(1, (s - 1) // 2 + 1)
    down = (1 + 2 * np.cos(2 * np.pi * ks[:, None, None] * diff[None] / p).sum(axis=0)) / p
    dist = (diff.T + p / 2) % p - p / 2  # [p, s] signed periodic distance n - x_j
    up = np.clip(1 - np.abs(dist) * s / p, 0, None)
    return down.astype(np.float32), up.astype(np.float32)


def _apply_both_axes(maps: np.ndarray, mat: np.ndarray) -> np.ndarray:
    """[n, x, x] -> [n, y, y]: mat [y, x] applied along both map axes."""
    n, x, _ = maps.shape
    y = mat.shape[0]
    half = (maps.reshape(n * x, x) @ mat.T).reshape(n, x, y).transpose(0, 2, 1)  # [n, y (b), x (a)]
    return (np.ascontiguousarray(half).reshape(n * y, x) @ mat.T).reshape(n, y, y).transpose(0, 2, 1)


def downsample_preserved(maps: np.ndarray, factor: int = DOWNSAMPLE) -> np.ndarray:
    """[n, p, p] -> [n] variance fraction kept by anti-aliased down- then up-sampling (NaN if constant)."""
    m0 = np.asarray(maps, dtype=np.float32)
    m0 = m0 - m0.mean(axis=(1, 2), keepdims=True)
    down, up = _resample_matrices(maps.shape[-1], factor)
    back = _apply_both_axes(np.ascontiguousarray(_apply_both_axes(m0, down)), up)  # [n, p, p]
    total = np.einsum("nab,nab->n", m0, m0, dtype=np.float64)
    resid = m0 - back
    return _ratio(total - np.einsum("nab,nab->n", resid, resid, dtype=np.float64), total, maps)


def _ratio(num: np.ndarray, total: np.ndarray, maps: np.ndarray) -> np.ndarray:
    """num / total, NaN where the map is constant."""
    varies = np.ptp(maps.reshape(len(maps), -1), axis=1) > 0
    return np.where(varies, num / np.where(total > 0, total, 1.0), np.nan)


@register_analyzer("coarseness", kind="activations", hooks=neuron_hooks, needs=("modular", "neuron_hooks"), version=3,
          reference=("key_frequencies",),
          outputs={"fft_low_ratio": ("neuron",), "grad_magnitude": ("neuron",), "downsample_preserved": ("neuron",)})
def coarseness(ctx) -> dict[str, np.ndarray]:
    """Per-neuron coarseness of the activation map: low-frequency energy, gradient, downsampling
    (of the neuron layer the other neuron analyzers read, analyzers._keyfreq.neuron_layer; v3)."""
    maps, energy = neuron_spectrum(ctx, neuron_layer(ctx))  # [neuron, a, b], [neuron, i, j]
    return {"fft_low_ratio": fft_low_ratio(maps, energy).astype(np.float32),
            "grad_magnitude": grad_magnitude(maps).astype(np.float32),
            "downsample_preserved": downsample_preserved(maps).astype(np.float32)}
