"""The built-in experiment families, one plugin file each, registered on import (listed, never crawled).

The workbench loads this package through its `workbench.families` entry point
(pyproject.toml); each module registers its family with `workbench.core.family.register_family`.
"""

from families import modular_addition  # noqa: F401  (registers)
from families import modular_arithmetic  # noqa: F401  (registers)
from families import least_action  # noqa: F401  (registers)
from families import interleaved_streams  # noqa: F401  (registers)
from families import universal_modular  # noqa: F401  (registers)
