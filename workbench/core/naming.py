"""The parameter-naming rule: a module's parameter `blocks__0__attn__W_Q` is the hooked
(HookedTransformer-style) weight `blocks.0.attn.W_Q`.

torch forbids "." in a parameter's name, so training modules register each weight under
its hooked name with "." spelled "__"; checkpoints, optimizer state and recipe groups use
the hooked name. Both directions live here and nowhere else.
"""

from __future__ import annotations

__all__ = ["param_name", "hooked_name"]


def param_name(hooked: str) -> str:
    """'blocks.0.attn.W_Q' -> 'blocks__0__attn__W_Q' (a name torch accepts for a parameter)."""
    return hooked.replace(".", "__")


def hooked_name(param: str) -> str:
    """'blocks__0__attn__W_Q' -> 'blocks.0.attn.W_Q' (the name in checkpoints and optimizer state)."""
    return param.replace("__", ".")
