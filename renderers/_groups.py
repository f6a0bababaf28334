"""The groups the built-in views sit in (workbench.core.view.register_group): title, place, first state.

A group a view names that is not declared here follows these, titled from its id
("multi-prime" -> "Multi-prime").
"""

from __future__ import annotations

from workbench.core.view import register_group

__all__: list[str] = []

register_group("training", "Training", order=10, open=True)
register_group("optimizer", "Optimizer: lr, weight-decay budget, weight norm", order=15)
register_group("neurons", "Neurons", order=20, open=True)
# 16 heatmaps and a 512-row table: the costliest panels to draw in the browser (~0.3 s a step
# at p=113), so they wait until asked for
register_group("neuron_detail", "Neuron grid and coarseness", order=30)
register_group("embeddings", "Embeddings", order=40)
register_group("attention", "Attention", order=50)
register_group("geometry", "Geometry", order=60)
register_group("output", "Output", order=70)
register_group("streams", "Sequence streams", order=80)
