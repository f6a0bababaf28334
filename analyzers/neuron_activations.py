"""MLP neuron activations over the full (a, b) input grid at the answer position.

In a model with several MLP layers these are the LAST layer's neurons (the family's last
`neuron_hooks` entry), as for every neuron analyzer: one [neuron, a, b] artifact per
checkpoint keeps the views' shapes whatever the depth.
"""

from __future__ import annotations

import numpy as np

from analyzers._maps import answer_pos, grid, last_neuron_hook
from workbench.core.analyzer import register_analyzer


@register_analyzer("neuron_activations", kind="activations", hooks=last_neuron_hook, needs=("modular", "neuron_hooks"),
          outputs={"acts": ("neuron", "a", "b")}, kinds={'acts': 'half'})
def neuron_activations(ctx) -> dict[str, np.ndarray]:
    """Each MLP neuron's activation map over all (a, b) at the answer position (float16)."""
    (hook,) = last_neuron_hook(ctx.family)
    post = ctx.cache[hook][:, answer_pos(ctx.family), :]  # [batch, d_mlp]
    return {"acts": grid(ctx, post).astype(np.float16)}  # [neuron, a, b]
