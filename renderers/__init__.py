"""Renderers: pure functions from artifact arrays to Plotly figures, registered as views.

Each theme is one module with a plain name; importing this package registers every view
(listed explicitly, never crawled). The workbench loads it through its `workbench.views`
entry point (pyproject.toml); each module registers with `workbench.core.view.register_view`.
"""

from renderers import _groups  # noqa: E402,F401  (the groups the views below sit in)
# per-epoch views
from renderers import fourier, weights, neurons, attention, output  # noqa: E402,F401
from renderers import streams  # noqa: E402,F401  (sequence tasks: per-epoch and whole-run)
from renderers import universal, universal_study  # noqa: E402,F401  (multi-prime: per-epoch and whole-run)
from renderers import least_action  # noqa: E402,F401  (least-action study: per-epoch and whole-run)
# whole-run (trajectory) views
from renderers import trajectories, dynamics  # noqa: E402,F401
from renderers import trace  # noqa: E402,F401  (per-input trace across training, issue 31)
from renderers import interventions  # noqa: E402,F401  (hook-level edits over training)
