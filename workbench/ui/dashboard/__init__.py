"""Interactive dashboard: browse, scrub, drill down and compare the runs of a store.

`workbench dashboard --store DIR` calls `serve`; tests and notebooks use `create_app`.
"""

from workbench.ui.dashboard.app import create_app, serve

__all__ = ["create_app", "serve"]
