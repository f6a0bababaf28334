"""A leaf module of named parameters and TransformerLens hook points, for hand-built models.

Hand-built families (least_action's MLP and routed network, universal_modular's
transformer) assemble their models from these leaves so that parameter names match the
HookedTransformer-style state dict (`blocks.0.mlp.W_in`) and `HookedRootModule.setup()`
finds every hook point.
"""

from __future__ import annotations

import torch
from torch import nn
from transformer_lens.hook_points import HookPoint

__all__ = ["Leaf"]


class Leaf(nn.Module):
    """Named parameters (zeros until a state is loaded) and hook points of one component."""

    def __init__(self, params: dict[str, tuple[int, ...]], hooks: tuple[str, ...] = ()):
        super().__init__()
        for name, dims in params.items():
            self.register_parameter(name, nn.Parameter(torch.zeros(dims)))
        for name in hooks:
            setattr(self, name, HookPoint())
