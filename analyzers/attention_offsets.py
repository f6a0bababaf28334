"""Per-head attention offset profile: how much attention each head puts on the token 1,
2, ..., 16 positions back (issue 14: does a head learn to filter one stream from the
other?). The mass at offset k is averaged over the probe's rows and the queries q >= k,
so every query counted has a key at that offset.

Reading it for interleaved streams: the query at position q predicts token q + 1, which
belongs to the *other* stream than token q. That stream's tokens sit at odd offsets
(-1, -3, ...), and a stream with pattern length L repeats the target at offset -(2L - 1):
-3 to -15 for L = 2..8, hence 16 offsets. Even offsets hold the query's own stream.

The leak (issue 29): a model without a causal mask (arch=study, as the study's code runs it)
can attend to key q + 1, which holds the query's own target. `next_mass` is each head's mean
mass on that key over queries 0..T-2; a causal model's is exactly 0. Its mean over layers and
heads is the headline `attn_next`.
"""

from __future__ import annotations

import numpy as np

from workbench.core.analyzer import register_analyzer

__all__ = ["offset_profile", "next_mass", "MAX_OFFSET"]

MAX_OFFSET = 16  # covers -(2L - 1) for the longest pattern, L = 8


def _hooks(caps) -> tuple[str, ...]:
    return tuple(caps.get("attention_hooks", ()))


def offset_profile(pattern: np.ndarray, max_offset: int = MAX_OFFSET) -> np.ndarray:
    """pattern [batch, head, q, k] -> [head, max_offset]: mean mass on key q - k, k = 1..max_offset."""
    out = np.zeros((pattern.shape[1], max_offset))
    for k in range(1, min(max_offset, pattern.shape[2] - 1) + 1):
        diag = np.diagonal(pattern, offset=-k, axis1=2, axis2=3)  # [batch, head, q - k] entries (q, q - k)
        out[:, k - 1] = diag.mean(axis=(0, 2))
    return out


def next_mass(pattern: np.ndarray) -> np.ndarray:
    """pattern [batch, head, q, k] -> [head]: mean mass on key q + 1 over queries 0..T-2 (0 if T < 2)."""
    diag = np.diagonal(pattern, offset=1, axis1=2, axis2=3)  # [batch, head, T - 1] entries (q, q + 1)
    return diag.mean(axis=(0, 2)) if diag.shape[-1] else np.zeros(pattern.shape[1])


@register_analyzer("attention_offsets", kind="attention", hooks=_hooks, needs=("sequence", "attention_hooks"), version=3,
          headlines={"next_mass_mean": "attn_next"},
          outputs={"profile": ("layer", "head", "offset"), "offsets": ("offset",), "next_mass": ("layer", "head"),
                   "next_mass_mean": ()}, rows=True)  # averaged over the probe's rows
def attention_offsets(ctx) -> dict[str, np.ndarray]:
    """Each head's mean attention on the key 1..16 positions before the query, and on key q + 1 (the leak)."""
    patterns = [ctx.cache[h] for h in _hooks(ctx.family)]
    profile = np.stack([offset_profile(p) for p in patterns]).astype(np.float32)
    nxt = np.stack([next_mass(p) for p in patterns]).astype(np.float32)
    return {"profile": profile, "offsets": -np.arange(1, MAX_OFFSET + 1), "next_mass": nxt,
            "next_mass_mean": np.asarray(nxt.mean(), dtype=np.float32)}
