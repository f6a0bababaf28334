"""The current-epoch marker: a dotted vertical line on every trajectory plot whose x is epoch.

The server draws it when a trajectory figure is rendered; afterwards a clientside callback
moves it on each epoch change with `Plotly.relayout`, so scrubbing costs the server nothing
for these plots and the browser only redraws the line.
Both sides replace only the shape named MARKER, leaving others (the turn line) alone.
"""

from __future__ import annotations

import re

import numpy as np
from dash import Input, Output, State

from workbench.ui.dashboard.groups import GROUPS, panel_id

__all__ = ["MARKER", "EPOCH_X_VIEWS", "with_epoch_marker", "register"]

MARKER = "current-epoch"
EPOCH_X_VIEWS = tuple(p.view for g in GROUPS for p in g.panels if p.epoch_x)  # as each view declares
_STYLE = {"color": "#7e57c2", "width": 1.5, "dash": "dot"}
_X_AXIS = re.compile(r"^xaxis\d*$")


def _y_domain(layout: dict, x_axis: str) -> list:
    """The paper-y extent of the subplot whose x axis is `x_axis` (its anchor y axis's domain)."""
    anchor = (layout.get(x_axis) or {}).get("anchor") or "y"
    domain = (layout.get("yaxis" + anchor[1:]) or {}).get("domain") or [0, 1]
    return list(domain) if len(domain) == 2 else [0, 1]


def _x_at(epoch: float, meta: dict) -> float:
    """The x of `epoch` on a figure's axis: through its clock (wall time, interpolated) or times its scale."""
    clock = meta.get("x_clock")
    if isinstance(clock, dict) and isinstance(clock.get("epoch"), list) and isinstance(clock.get("x"), list) \
            and len(clock["epoch"]) == len(clock["x"]) > 0:
        return float(np.interp(epoch, clock["epoch"], clock["x"]))
    scale = meta.get("x_per_epoch", 1)
    return epoch * (scale if isinstance(scale, (int, float)) and not isinstance(scale, bool) else 1)


def with_epoch_marker(fig: object, epoch: object) -> object:
    """A copy of a figure dict with the marker at `epoch` on each x axis (others unchanged).

    The line spans its subplot in paper coordinates (yref "paper", not "y domain"), so that
    moving it never makes plotly recompute an autoranged y axis. A figure whose x is the
    optimizer step says how many steps an epoch is in `layout.meta.x_per_epoch`, one whose x is
    the wall time gives its readings in `layout.meta.x_clock` (renderers._axis).
    """
    if not isinstance(fig, dict) or isinstance(epoch, bool) or not isinstance(epoch, (int, float)):
        return fig
    layout = dict(fig.get("layout") or {})
    meta = layout.get("meta") if isinstance(layout.get("meta"), dict) else {}
    epoch = _x_at(epoch, meta)
    shapes = [s for s in layout.get("shapes", ()) if not (isinstance(s, dict) and s.get("name") == MARKER)]
    for axis in sorted(k for k in layout if _X_AXIS.match(k)) or ["xaxis"]:
        y0, y1 = _y_domain(layout, axis)
        shapes.append({"type": "line", "name": MARKER, "xref": f"x{axis[len('xaxis'):]}", "yref": "paper",
                       "x0": epoch, "x1": epoch, "y0": y0, "y1": y1, "line": _STYLE, "layer": "above"})
    return {**fig, "layout": {**layout, "shapes": shapes}}


_MOVE_JS = """
function(index, groups, info) {
    // Move the drawn line itself. Plotly.relayout would be simpler, but dcc.Graph answers its
    // relayout event by replacing the figure prop, and that redraws every trace (100-200 ms a
    // plot). So: set x0/x1 where a later redraw (a resize) reads them, and move the SVG path to
    // the axis's pixel for the epoch; relayout only when the path is not where we expect it.
    // Deferred a frame, so that a group just opened is visible.
    const epoch = info && Array.isArray(info.epochs) ? info.epochs[index] : undefined;
    if (typeof epoch !== "number" || !window.Plotly) { return window.dash_clientside.no_update; }
    const LINE = /^M([-\\d.e]+),([-\\d.e]+)L([-\\d.e]+),([-\\d.e]+)$/;
    const xAt = (meta, e) => {  // as marker._x_at: wall time through the clock, else optimizer steps
        const c = meta.x_clock;
        if (c && Array.isArray(c.epoch) && Array.isArray(c.x) && c.epoch.length && c.epoch.length === c.x.length) {
            const n = c.epoch.length;
            if (e <= c.epoch[0]) { return c.x[0]; }
            if (e >= c.epoch[n - 1]) { return c.x[n - 1]; }
            let i = 1;
            while (c.epoch[i] < e) { i += 1; }
            return c.x[i - 1] + (c.x[i] - c.x[i - 1]) * (e - c.epoch[i - 1]) / (c.epoch[i] - c.epoch[i - 1]);
        }
        return e * (meta.x_per_epoch || 1);
    };
    const move = gd => {
        const full = gd._fullLayout;
        const x = xAt(gd.layout.meta || {}, epoch);
        (gd.layout.shapes || []).forEach((s, i) => {
            if (!s || s.name !== "%(name)s" || s.x0 === x) { return; }
            s.x0 = s.x1 = x;
            const fs = full && full.shapes && full.shapes[i];
            if (fs) { fs.x0 = fs.x1 = x; }
            const xa = full && full["xaxis" + String(s.xref || "x").slice(1)];
            const path = gd.querySelector('.shapelayer path[data-index="' + i + '"]');
            const m = path && LINE.exec(path.getAttribute("d") || "");
            if (xa && m && typeof xa.c2p === "function") {
                const px = xa._offset + xa.c2p(x);  // c2p: data to pixel, also on a log axis
                path.setAttribute("d", "M" + px + "," + m[2] + "L" + px + "," + m[4]);
            } else {
                window.Plotly.relayout(gd, {["shapes[" + i + "].x0"]: x, ["shapes[" + i + "].x1"]: x});
            }
        });
    };
    requestAnimationFrame(() => %(ids)s.forEach(id => {
        const gd = document.querySelector("#" + id + " .js-plotly-plot");
        if (gd && gd.layout && gd.offsetParent !== null) { move(gd); }
    }));
    return epoch;
}
"""


def register(app) -> None:
    """Move the marker in the browser whenever the epoch control (a position in `epochs`) or the open groups change."""
    import json

    js = _MOVE_JS % {"name": MARKER, "ids": json.dumps([panel_id(v) for v in EPOCH_X_VIEWS])}
    app.clientside_callback(js, Output("marker-epoch", "data"), Input("epoch", "value"), Input("groups", "data"),
                            State("epochs", "data"), prevent_initial_call=True)
