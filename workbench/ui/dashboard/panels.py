"""What each explore panel shows: one server round trip renders every open panel on screen that changed.

The browser keeps `drawn` (a dcc.Store): for each panel, a key saying what it shows
(variant, epoch, the values of the options its view takes). `update_panels` compares that
with what the controls ask for and renders only the panels of open groups whose key
differs, so an epoch step re-renders the open per-epoch panels, leaves trajectories alone
(their epoch marker moves in the browser) and costs nothing for collapsed groups.

A panel whose data is missing shows an HTML message instead of its figure: the reason,
and the command that makes the data, wrapped and selectable.
"""

from __future__ import annotations

import json
import logging

from dash import html, no_update

from workbench.core.view import get_view
from workbench.store import RunKey, Store
from workbench.ui.dashboard import curves, data, fast, marker, options
from workbench.ui.dashboard.groups import GROUPS, PANELS
from workbench.ui.dashboard.labels import export_name
from workbench.ui.dashboard.layout import lone_views, panel_class
from workbench.ui.dashboard.values import select_epoch

__all__ = ["Request", "make_request", "panel_key", "render_options", "render_panel", "update_panels",
           "shown_per_epoch", "message_children", "VIEWS"]

log = logging.getLogger(__name__)
VIEWS = tuple(PANELS)  # every panel, in page order: the order of the callback's outputs
_PLACEHOLDER = "workbench-placeholder"  # layout.meta.kind of workbench.query.views.placeholder_figure


class Request(dict):
    """What the controls ask for: key, vid, at (checkpoint epoch or None), options ({control key:
    value}, clamped to the run's ranges), pinned ({view: options its `pin` fixes for the run}) and
    curves (the chart controls of every curve over training, `curves.request`)."""


def make_request(store: Store, vid: object, epoch: object, values: object, chart: dict | None = None) -> Request:
    """Validate what the browser asks for; the epoch is snapped to a checkpoint, option values clamped.

    Args:
        store: the served store; vid, epoch: the variant id and epoch (untrusted);
        values: {control key: value} of the option controls (untrusted; anything else: defaults);
        chart: the chart controls' values, {"smooth", "scale", "x"} (untrusted; None: defaults).
    Raises:
        UserError: for a variant id that is not a run of the store.
    """
    key = data.resolve_variant(store, vid)
    return Request(key=key, vid=data.variant_id(key), at=select_epoch(data.epochs(store, key), epoch),
                   options=options.request_values(options.ranges(store, key), values),
                   pinned=fast.pinned_options(store, key, VIEWS),
                   curves=curves.request(store, key, chart))


def panel_key(view: str, req: Request) -> str:
    """What a panel shows for this request; equal keys mean no re-render."""
    panel = PANELS[view][1]
    parts = {"vid": req["vid"], **{k: req["options"][k] for k in panel.options}}
    if panel.per_epoch:
        parts["epoch"] = req["at"]
    if view in req["pinned"]:  # options its `pin` fixes for the run
        parts["pinned"] = req["pinned"][view]
    parts.update(curves.key_parts(view, req.get("curves")))
    return json.dumps(parts, sort_keys=True)


def render_options(view: str, req: Request) -> dict:
    """The renderer keywords a panel's view takes from the request's controls, and what its `pin` fixes."""
    chosen = options.render_values(view, req["options"])
    chosen.update(curves.render_values(view, req.get("curves")))
    return {**chosen, **req["pinned"].get(view, {})}


def message_children(view: str, at: int | None, message: str) -> list:
    """A missing-data message as HTML: what the panel is, why it is empty, the command to run."""
    reason, _, command = message.partition("run: ")
    title = (f"epoch {at} · " if at is not None else "") + view
    out = [html.Div(title, className="msg-title"), html.Div(reason.strip().rstrip(";"))]
    return out + ([html.Code(command.strip())] if command else [])


def _titled(fig: dict, at: int | None) -> dict:
    """A copy of the figure whose title also names the epoch it shows."""
    if at is None:
        return fig
    layout = dict(fig.get("layout") or {})
    title = dict(layout.get("title") or {})
    title["text"] = fast.title_with(str(title.get("text") or ""), at)
    return {**fig, "layout": {**layout, "title": title}}


def _figure(store: Store, key: RunKey, view: str, at: int | None, options: dict) -> dict | str:
    """The figure dict, or the message to show instead of it."""
    if at is None and PANELS[view][1].per_epoch:
        return f"no checkpoints yet; run: workbench train {key.family}:{key.variant}"
    try:
        fig = data.view_figure_cached(store, key, view, at, **options)
    except Exception as err:  # a renderer bug or a bad option must not take the page down
        log.exception("view %s failed", view)
        return f"{view}: {type(err).__name__}: {err}"
    meta = (fig.get("layout") or {}).get("meta")
    if isinstance(meta, dict) and meta.get("kind") == _PLACEHOLDER:
        return str(meta.get("message", "no data"))
    return fig


def render_panel(store: Store, view: str, req: Request, base: object = None) -> tuple:
    """One panel: (figure | Patch | no_update, message children, class name, drawn entry).

    Args:
        store: the served store; view: the panel's view; req: the validated request;
        base: the drawn entry's `base` (what the browser's figure is), untrusted.
    """
    at = req["at"] if PANELS[view][1].per_epoch else None
    chosen = render_options(view, req)
    entry = {"key": panel_key(view, req), "name": export_name(req["key"], view, at), "base": None}
    shown = data.shown_views(store, req["key"])
    if view not in shown:  # not for the run's family, or another panel draws it
        return no_update, [], panel_class(view) + " not-applicable", entry
    lone = view in lone_views(shown)
    if fast.repaints(view) and at is not None:
        patch = fast.fast_patch(store, req["key"], req["vid"], view, at, chosen, base)
        if patch is not None:
            return patch, [], panel_class(view, lone=lone), {**entry, "base": {**base, "options": chosen}}
    fig = _figure(store, req["key"], view, at, chosen)
    if isinstance(fig, str):
        return no_update, message_children(view, at, fig), panel_class(view, empty=True, lone=lone), entry
    entry["base"] = fast.make_base(req["vid"], view, chosen, fig)
    fig = marker.with_epoch_marker(fig, req["at"]) if view in marker.EPOCH_X_VIEWS else _titled(fig, at)
    return fig, [], panel_class(view, lone=lone), entry


def update_panels(store: Store, req: Request, open_groups: set[str], drawn: object,
                  visible: set[str] | None = None) -> tuple[list, dict]:
    """Every panel's outputs for one request: changed panels of open groups on screen, `no_update` elsewhere.

    Args:
        store: the store; req: the validated request; open_groups: ids of expanded groups;
        drawn: the browser's record of what each panel shows (untrusted);
        visible: the panels on screen or near it (None: all). A panel off screen keeps what it
            shows, its title naming its epoch, until it scrolls into view and the browser asks again.
    Returns:
        ([figure, message, class name] for each of VIEWS, flattened; the new drawn record).
    """
    drawn = drawn if isinstance(drawn, dict) else {}
    outputs, new_drawn = [], {}
    for group in GROUPS:
        for panel in group.panels:
            old = drawn.get(panel.view) if isinstance(drawn.get(panel.view), dict) else {}
            hidden = group.gid not in open_groups or (visible is not None and panel.view not in visible)
            if hidden or old.get("key") == panel_key(panel.view, req):
                outputs += [no_update] * 3
                if old:
                    new_drawn[panel.view] = old
                continue
            fig, msg, cls, entry = render_panel(store, panel.view, req, old.get("base"))
            outputs += [fig, msg, cls]
            new_drawn[panel.view] = entry
    return outputs, new_drawn


def shown_per_epoch(store: Store, req: Request, open_groups: set[str], visible: set[str] | None = None) -> list[str]:
    """The per-epoch views the page shows for this request: open, on screen, applicable to the run."""
    applies = set(data.shown_views(store, req["key"]))
    return [p.view for g in GROUPS if g.gid in open_groups for p in g.panels
            if p.per_epoch and p.view in applies and (visible is None or p.view in visible)]
