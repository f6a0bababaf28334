"""Export routes: the figure a panel shows, or every open panel, as an offline HTML file; a
per-epoch panel animated over the run's checkpoints as a GIF.

    GET /export/figure?variant=ID&view=VIEW&epoch=E&<option key>=VALUE...
    GET /export/panels?variant=ID&views=V1,V2,...&epoch=E&<option key>=VALUE...
    GET /export/animation?variant=ID&view=VIEW&epochs=A:B&<option key>=VALUE...

The GIF is `workbench render --epochs A:B --out f.gif`'s (workbench.ui.animation.animate, one
frame per analyzed checkpoint), written to a temporary folder and sent; it needs the `export`
extra (imageio), and says so when it is missing.

The query is validated exactly like the panels callback's input (`panels.make_request`),
so a link shows what the panel showed: same epoch, option values (one entry per option
control, by its key) and title. The files
embed plotly.js, so they open without a network. PNG and SVG are made in the browser
(Plotly.downloadImage, see `clientside.py`).
"""

from __future__ import annotations

import html
import logging
import tempfile
from pathlib import Path

import plotly.io as pio
from flask import Flask, Response, request

from workbench.api import load_variant
from workbench.core.errors import UserError
from workbench.store import Store
from workbench.ui.animation import animate, parse_range
from workbench.ui.dashboard import curves, options, panels
from workbench.ui.dashboard.groups import PANELS
from workbench.ui.dashboard.labels import export_name

__all__ = ["figure_html", "panels_html", "animation_gif", "register"]

log = logging.getLogger(__name__)


def _request(store: Store, args) -> panels.Request:
    values = {o.key: args.get(o.key) for o in options.CONTROLS}
    return panels.make_request(store, args.get("variant"), args.get("epoch"), values, curves.from_query(args))


def _figure(store: Store, req: panels.Request, view: str) -> dict | str:
    """The panel's figure as drawn (title with epoch, epoch marker), or its message."""
    if view not in PANELS:
        raise UserError(f"unknown view {view!r}")
    fig, msg, _, _ = panels.render_panel(store, view, req)
    if not isinstance(fig, dict):
        text = " ".join(str(getattr(c, "children", c)) for c in msg)
        return text or "no data"
    return fig


def _section(fig: dict | str, view: str, first: bool) -> str:
    if isinstance(fig, str):
        return f"<p><b>{html.escape(view)}</b>: {html.escape(fig)}</p>"
    return pio.to_html(fig, include_plotlyjs=first, full_html=False, validate=False)


def figure_html(store: Store, args) -> tuple[str, str]:
    """(file name, offline HTML) of one panel; `args` is the query (untrusted)."""
    req, view = _request(store, args), str(args.get("view", ""))
    fig = _figure(store, req, view)
    at = req["at"] if PANELS[view][1].per_epoch else None
    name = export_name(req["key"], view, at) + ".html"
    return name, _page(name, [_section(fig, view, True)])


def panels_html(store: Store, args) -> tuple[str, str]:
    """(file name, offline HTML) of several panels on one page, plotly.js embedded once."""
    req = _request(store, args)
    views = [v for v in str(args.get("views", "")).split(",") if v]
    if not views:
        raise UserError("no views to export")
    sections = [_section(_figure(store, req, v), v, i == 0) for i, v in enumerate(views)]
    name = export_name(req["key"], "panels", req["at"]) + ".html"
    return name, _page(name, sections)


def animation_gif(store: Store, args) -> tuple[str, bytes]:
    """(file name, GIF bytes) of one per-epoch panel over the checkpoints in `epochs` (A:B; default all)."""
    req, view = _request(store, args), str(args.get("view", ""))
    if view not in PANELS or not PANELS[view][1].per_epoch:
        raise UserError(f"{view!r} is not a per-epoch view: nothing to animate")
    span = parse_range(str(args.get("epochs") or ":"))
    handle = load_variant(f"{req['key'].family}:{req['key'].variant}", store=store)
    with tempfile.TemporaryDirectory(prefix="workbench-gif-") as tmp:
        path, _ = animate(handle, view, Path(tmp) / "animation.gif", span, options=panels.render_options(view, req))
        body = Path(path).read_bytes()
    return export_name(req["key"], view, None) + "_animated.gif", body


def _page(title: str, sections: list[str]) -> str:
    body = "\n".join(f'<div style="max-width:1100px;margin:12px auto">{s}</div>' for s in sections)
    return (f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title></head>'
            f'<body style="font-family:system-ui,sans-serif">{body}</body></html>')


def register(server: Flask, store: Store) -> None:
    """Add the /export routes to the app's Flask server."""

    def answer(make, mimetype: str = "text/html") -> Response:
        try:
            name, page = make(store, request.args)
        except UserError as err:
            return Response(f"cannot export: {err}\n", status=404, mimetype="text/plain")
        except Exception as err:  # never a 500 page: say what failed
            log.exception("export failed")
            return Response(f"cannot export: {type(err).__name__}: {err}\n", status=400, mimetype="text/plain")
        return Response(page, mimetype=mimetype,
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})

    server.add_url_rule("/export/figure", "export_figure", lambda: answer(figure_html))
    server.add_url_rule("/export/panels", "export_panels", lambda: answer(panels_html))
    server.add_url_rule("/export/animation", "export_animation", lambda: answer(animation_gif, "image/gif"))
