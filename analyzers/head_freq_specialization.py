"""Per-head frequency specialization of the attention paid to the first operand.

Each head's map (a, b) -> attention from the answer position to the position of a is
written in the family's 2-D Fourier basis exactly as neuron maps are
(analyzers._maps.fourier_fractions); purity is the fraction of non-constant variance its
dominant frequency explains. A head whose map is constant has no dominant frequency:
dominant_freq -1, purity and fractions NaN. Heads of every layer sit on one axis,
layer-major, with `layer` naming each one's layer (as in attention_patterns).
"""

from __future__ import annotations

import numpy as np

from analyzers._maps import answer_pos, attention_hooks, dominant, fourier_fractions, grid, operand_pos
from analyzers.attention_patterns import stack_heads
from workbench.core.analyzer import register_analyzer


@register_analyzer("head_freq_specialization", kind="attention", hooks=attention_hooks, needs=("modular", "attention_hooks"),
          version=3, outputs={"frac_explained": ("head", "freq"), "dominant_freq": ("head",), "purity": ("head",),
                              "layer": ("head",)}, kinds={'dominant_freq': 'freq', 'layer': 'int'})
def head_freq_specialization(ctx) -> dict[str, np.ndarray]:
    """Fraction of each head's attention-to-a map explained by each frequency; dominant freq, purity."""
    q, a = answer_pos(ctx.family), operand_pos(ctx.family)[0]
    to_a, layer = stack_heads(ctx, lambda pat: pat[:, :, q, a])  # [batch, head]: answer attending to a
    maps = grid(ctx, to_a)  # [head, a, b]
    frac = fourier_fractions(maps, np.asarray(ctx.family["fourier_basis"], dtype=np.float64))  # [head, freq]
    freq, purity = dominant(frac)
    return {"frac_explained": frac.astype(np.float32), "dominant_freq": freq, "purity": purity.astype(np.float32),
            "layer": layer}
