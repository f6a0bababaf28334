"""The chart controls of every curve over training (issue 30): smoothing, log axes, the x axis.

One set of controls in the sidebar acts on every view that takes the training-axis options
(renderers._axis.TRAINING_AXIS: the trajectories drawn against the epoch), never on a
per-epoch view, so an epoch step costs what it did. Their values are in the URL and come
back on load (`STATE`, `restore`):

- smoothing: an EMA weight, 0 (off) to 0.99, in hundredths on the slider and in the URL
  (`smooth=90` is a weight of 0.9); the raw line stays faint behind (renderers._smooth);
- scale (`axes=log_x&axes=log_y`): log x and/or log y;
- x (`xunit=`): "auto" (the recipe's own unit: optimizer steps for a budget in steps, else epochs),
  "epoch", "step" (optimizer steps, from the run's recipe) or "time" (wall time: the seconds of
  training at each evaluation, from the run's clock, renderers._axis `x_time`). "time" is offered
  for a run that recorded its clock and disabled, with the reason, for one that did not (trained
  before clocks were recorded); such a run asked for it (a link) is drawn as "auto".

Per-chart hide/show of traces is Plotly's legend click (a smoothed line and its raw line
share one legend group).
"""

from __future__ import annotations

from typing import Any

from dash import Input, Output, dcc, html

from workbench.core.errors import UserError
from workbench.core.view import get_view
from workbench.query.views import run_steps_per_epoch, wall_time_missing
from workbench.store import RunKey, Store
from workbench.ui.dashboard.data import resolve_variant
from workbench.ui.dashboard.pages import StateField
from workbench.ui.dashboard.state import parse_state
from workbench.ui.dashboard.values import as_int

__all__ = ["STATE", "SCALES", "X_CHOICES", "request", "takes", "render_values", "key_parts",
           "query", "from_query", "x_options", "run_choices", "controls", "restore", "register"]

SCALES = ("log_x", "log_y")  # the scale checklist's values
X_CHOICES = ("auto", "epoch", "step", "time")
_MAX_SMOOTH = 99  # hundredths: a weight of 0.99, the heaviest W&B offers
STATE = (StateField("smooth", "curve-smooth", "value", "int", default=0),
         StateField("axes", "curve-scale", "value", "list", default=None),
         StateField("xunit", "curve-x", "value", "str", X_CHOICES, default="auto"))


def request(store: Store, key: RunKey, chart: object) -> dict[str, Any]:
    """A request's `curves` for a run: {smooth (weight), log_x, log_y, x, steps (per epoch, for
    x "step"; None: unknown)} from the controls' values `chart` ({"smooth", "scale", "x"}, untrusted);
    x "time" for a run without a clock reads as "auto"."""
    chart = chart if isinstance(chart, dict) else {}
    hundredths, scale, x = as_int(chart.get("smooth")), chart.get("scale"), chart.get("x")
    scale = scale if isinstance(scale, list) else []
    x = x if isinstance(x, str) and x in X_CHOICES else "auto"
    if x == "time" and wall_time_missing(store, key):
        x = "auto"
    return {"smooth": min(max(hundredths, 0), _MAX_SMOOTH) / 100 if hundredths else 0.0,
            "log_x": "log_x" in scale, "log_y": "log_y" in scale, "x": x,
            "steps": run_steps_per_epoch(store, key) if x == "step" else None}


def takes(view: str) -> bool:
    """Whether a view follows the controls (it takes the training-axis options)."""
    return get_view(view).option("log_x") is not None


def render_values(view: str, curves: dict | None) -> dict[str, Any]:
    """The renderer keywords a request's `curves` set for one view ({} for a view they do not touch)."""
    if not curves or not takes(view):
        return {}
    out: dict[str, Any] = {k: True for k in SCALES if curves.get(k)}
    if curves.get("smooth"):
        out["smooth"] = curves["smooth"]
    if curves.get("x") == "epoch":
        out["x_step"] = 0  # over the run's own pin (steps, for a budget in steps)
    elif curves.get("x") == "step" and curves.get("steps"):
        out["x_step"] = curves["steps"]
    elif curves.get("x") == "time":
        out["x_time"] = True  # the query layer adds the run's clock (workbench.query.views)
    return out


def key_parts(view: str, curves: dict | None) -> dict[str, Any]:
    """What of the controls goes into a panel's key (a change re-renders only the views they touch)."""
    if not curves or not takes(view):
        return {}
    return {k: v for k, v in curves.items() if v and v != "auto" and k != "steps"}


def query(curves: dict | None) -> dict[str, str]:
    """A request's `curves` as export-link entries (`from_query` reads them back), so an exported
    HTML figure shows the panel's smoothing and axes."""
    curves = curves or {}
    return {"smooth": str(round(100 * curves.get("smooth", 0.0))),
            "axes": ",".join(k for k in SCALES if curves.get(k)), "xunit": str(curves.get("x", "auto"))}


def from_query(args) -> dict[str, Any]:
    """The chart controls' values from an export link's entries (untrusted)."""
    return {"smooth": args.get("smooth"), "scale": str(args.get("axes") or "").split(","), "x": args.get("xunit")}


def x_options(missing: str | None) -> tuple[list[dict], str]:
    """The x axis choices and the note under them, for a run whose wall time is `missing` for
    that reason (None: it has a clock)."""
    out = [{"label": " auto", "value": "auto"}, {"label": " epoch", "value": "epoch"},
           {"label": " optimizer step", "value": "step"},
           {"label": " wall time", "value": "time", "disabled": missing is not None}]
    return out, "" if missing is None else f"wall time: unavailable, {missing}"


def controls() -> html.Div:
    """The sidebar's section: smoothing slider, log x / log y, the x axis (wall time disabled
    until the run is known: `register` sets it per run)."""
    marks = {0: "off", 50: "0.5", 80: "0.8", _MAX_SMOOTH: "0.99"}  # 0.9 beside 0.99 collided
    choices, note = x_options("no run chosen yet")
    return html.Div(id="curve-controls", className="control", children=[
        html.Label("Curves over training", title="every chart drawn against the epoch; click a legend entry "
                                                 "to hide or show its curve"),
        html.Div("smoothing (EMA weight)", className="readout"),
        dcc.Slider(id="curve-smooth", min=0, max=_MAX_SMOOTH, step=1, value=0, marks=marks, included=True,
                   tooltip={"placement": "bottom"}),
        dcc.Checklist(id="curve-scale", value=[], inline=True,
                      options=[{"label": " log x ", "value": "log_x"}, {"label": " log y", "value": "log_y"}]),
        html.Div("x axis", className="readout"),
        dcc.RadioItems(id="curve-x", value="auto", inline=True, className="choice", options=choices),
        html.Div(note, id="curve-x-note", className="readout option-help"),
    ])


def restore(search: object) -> tuple:
    """The controls' values from the URL query (untrusted): (smoothing, scale, x), defaults where absent."""
    state = parse_state(search, STATE)
    smooth = state.get("smooth", 0)
    scale = [s for s in dict.fromkeys(state.get("axes", [])) if s in SCALES]
    x = state.get("xunit", "auto")
    return min(int(smooth), _MAX_SMOOTH), scale, x


def run_choices(store: Store, vid: object) -> tuple[list[dict], str]:
    """The x axis choices and note for the picked run (wall time only where it has a clock)."""
    try:
        key = resolve_variant(store, vid)
    except UserError:
        return x_options("no run chosen yet")
    return x_options(wall_time_missing(store, key))


def register(app, store: Store) -> None:
    """On load (or a link that sets the query), put the URL's chart settings in the controls; on
    a run picked, offer wall time if it has a clock."""
    app.callback(Output("curve-smooth", "value"), Output("curve-scale", "value"), Output("curve-x", "value"),
                 Input("url", "search"))(restore)
    app.callback(Output("curve-x", "options"), Output("curve-x-note", "children"),
                 Input("variant", "value"))(lambda vid: run_choices(store, vid))
