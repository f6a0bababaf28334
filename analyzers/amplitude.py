"""Amplitude A and variance sigma^2 of each block's output residual (issue 14's study).

A is the mean over the probe's tokens of the per-token L2 norm of ``hook_resid_post``,
read before any LayerNorm (after one the norm is pinned near sqrt(d_model), hiding the
effect); sigma^2 is the mean square of that residual minus its per-dimension mean over
the probe's tokens: the quantities `families.interleaved_streams` clamps. For a clamped
run the hook holds the clamped residual, as the next layer reads it.

This sigma^2 is this family's centered variance, not the study's: LostInSubSpace's
lib/metrics.py squares the mean per-token std across features (`sigma2_token` in
families/_streams_sites.py; the per-evaluation metrics s2tok_* report it). Under arch=study
every hook_resid_post is a LayerNorm output, so A there sits near sqrt(d_model) x the gain.
"""

from __future__ import annotations

import numpy as np

from workbench.core.analyzer import register_analyzer

__all__ = ["amplitude", "centered_variance", "resid_post_hooks"]


def resid_post_hooks(caps) -> tuple[str, ...]:
    return tuple(h for h in caps.get("resid_hooks", ()) if h.endswith("hook_resid_post"))


def amplitude(resid: np.ndarray) -> float:
    """Mean per-token L2 norm of resid [..., d_model]."""
    return float(np.linalg.norm(resid.astype(np.float64), axis=-1).mean())


def centered_variance(resid: np.ndarray) -> float:
    """Mean square of resid [..., d_model] minus its per-dimension mean over tokens."""
    flat = resid.reshape(-1, resid.shape[-1]).astype(np.float64)
    return float(((flat - flat.mean(0)) ** 2).mean())


@register_analyzer("amplitude", kind="activations", hooks=resid_post_hooks, needs=("sequence", "resid_hooks"),
          outputs={"amplitude": ("layer",), "sigma2": ("layer",)}, rows=True)  # over the probe's tokens
def amplitude_analyzer(ctx) -> dict[str, np.ndarray]:
    """A (mean per-token L2 norm) and sigma^2 (centered variance) of each block's hook_resid_post."""
    resids = [ctx.cache[h] for h in resid_post_hooks(ctx.family)]  # each [batch, pos, d_model]
    return {"amplitude": np.array([amplitude(r) for r in resids]),
            "sigma2": np.array([centered_variance(r) for r in resids])}
