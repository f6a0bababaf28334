"""The explore page: one run's views in groups of panels, scrubbed epoch by epoch.

Its parts: `layout` (components and URL state), `callbacks` (the server's), `clientside`
(the browser's), `marker` (the current-epoch line) and `export` (the HTML routes).
"""

from __future__ import annotations

from workbench.ui.dashboard import callbacks, clientside, curves, export, live, marker, playback
from workbench.ui.dashboard.layout import STATE, explore_page, sidebar
from workbench.ui.dashboard.pages import Page, Site, register_page

__all__ = ["PAGE"]


def _callbacks(app, site: Site) -> None:
    callbacks.register(app, site.store)
    clientside.register(app)
    marker.register(app)
    playback.register(app)
    curves.register(app, site.store)
    live.register(app, site.store, callbacks.slider_marks)
    export.register(app.server, site.store)


PAGE = register_page(Page("explore", "/", "Explore", layout=explore_page, callbacks=_callbacks, sidebar=sidebar,
                          state=STATE, order=10))
