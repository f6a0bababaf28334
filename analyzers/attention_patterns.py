"""Attention patterns of the answer query over all (a, b) inputs, for every layer's heads.

Heads of all layers sit on one `head` axis, layer-major (head h of layer l is row
l * n_heads + h), with `layer` naming each row's layer, so a one-layer model's artifact
has the shape it always had. `key_names` labels the key positions from the family's
capabilities: "a" and "b" at the operands, "=" at the answer when it is neither, and
"pos i" elsewhere.
"""

from __future__ import annotations

import numpy as np

from analyzers._maps import answer_pos, attention_hooks, grid, operand_pos
from workbench.core.analyzer import register_analyzer

__all__ = ["attention_patterns", "key_names", "stack_heads"]


def key_names(family, n_key: int) -> np.ndarray:
    """[key_pos] labels of the key positions (see the module docstring)."""
    a, b = operand_pos(family)
    names = {answer_pos(family): "=", a: "a", b: "b"}
    return np.array([names.get(k, f"pos {k}") for k in range(n_key)], dtype=np.str_)


def stack_heads(ctx, select) -> tuple[np.ndarray, np.ndarray]:
    """(select(pattern) of every layer concatenated on the head axis, layer of each head).

    Args:
        ctx: an EpochContext holding the family's attention_hooks.
        select: [batch, head, q, k] pattern -> [batch, head, ...] the part to keep.

    Returns:
        ([batch, layer * head, ...], [layer * head] int64 layer index).
    """
    parts = [select(ctx.cache[h]) for h in attention_hooks(ctx.family)]
    layer = np.concatenate([np.full(part.shape[1], i, dtype=np.int64) for i, part in enumerate(parts)])
    return np.concatenate(parts, axis=1), layer


@register_analyzer("attention_patterns", kind="attention", hooks=attention_hooks, needs=("modular", "attention_hooks"),
          version=2, outputs={"pattern": ("head", "key_pos", "a", "b"), "layer": ("head",), "key_names": ("key_pos",)}, kinds={'layer': 'int'})
def attention_patterns(ctx) -> dict[str, np.ndarray]:
    """Each head's attention from the answer position to every key position, over all (a, b)."""
    q = answer_pos(ctx.family)
    pattern, layer = stack_heads(ctx, lambda pat: pat[:, :, q, :])  # [batch, head, key_pos]
    return {"pattern": grid(ctx, pattern).astype(np.float32),  # [head, key_pos, a, b]
            "layer": layer, "key_names": key_names(ctx.family, pattern.shape[-1])}
