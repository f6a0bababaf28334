"""Test support that ships with the workbench, for its own tests and for plugin packages.

- `synthetic`: stores written in seconds without training (`listed_run`, `synthetic_run`).
"""

from workbench.testing.synthetic import listed_run, synthetic_run

__all__ = ["listed_run", "synthetic_run"]
