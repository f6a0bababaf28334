"""Experiment families. Each plugin module registers itself on import."""

from families._registry import get_family, list_families, register
from families import modular_addition  # noqa: F401  (registers)
from families import modular_arithmetic  # noqa: F401  (registers)
from families import least_action  # noqa: F401  (registers)
from families import interleaved_streams  # noqa: F401  (registers)
from families import universal_modular  # noqa: F401  (registers)

__all__ = ["get_family", "list_families", "register"]
