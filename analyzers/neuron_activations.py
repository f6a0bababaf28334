"""MLP neuron activations over the full (a, b) input grid at the answer position.

In a model with several MLP layers these are one layer's neurons, the same for every neuron
analyzer: the layer whose neurons' dominant frequencies explain the most of their variance at
the run's final checkpoint (analyzers._keyfreq.neuron_layer), named in `layer`. One
[neuron, a, b] artifact per checkpoint keeps the views' shapes whatever the depth. Version 2:
version 1 always read the last layer.
"""

from __future__ import annotations

import numpy as np

from analyzers._keyfreq import neuron_layer
from analyzers._maps import answer_pos, grid, neuron_hooks
from workbench.core.analyzer import register_analyzer


@register_analyzer("neuron_activations", kind="activations", hooks=neuron_hooks, needs=("modular", "neuron_hooks"),
          version=2, reference=("key_frequencies",),
          outputs={"acts": ("neuron", "a", "b"), "layer": ()}, kinds={"acts": "half", "layer": "label"})
def neuron_activations(ctx) -> dict[str, np.ndarray]:
    """Each MLP neuron's activation map over all (a, b) at the answer position (float16)."""
    layer = neuron_layer(ctx)
    post = ctx.cache[layer][:, answer_pos(ctx.family), :]  # [batch, d_mlp]
    return {"acts": grid(ctx, post).astype(np.float16), "layer": np.array(layer)}  # [neuron, a, b]
