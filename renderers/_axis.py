"""The axes of every curve over training: epochs or optimizer steps, linear or log; log y; smoothing.

A view whose x axis is the epoch (`register_view(..., epoch_x=True)`, every trajectory over
training) takes four options, declared as `options=TRAINING_AXIS` and applied by wrapping its
renderer in `over_training` (the dashboard's chart controls set them):

- `x_step`: optimizer steps per epoch; x is then the optimizer step (epoch x x_step). The
  query layer sets it from the run's recipe when the recipe's budget is in steps
  (workbench.query.views.run_options), so a minibatch study is read in the steps it states;
  0 asks for epochs anyway.
- `log_x`: a log x axis, as grokking studies plot training (epoch or step 0 leaves the plot).
- `log_y`: log y axes (every subplot's; a fixed linear range, e.g. accuracy's [0, 1.05], is dropped).
- `smooth`: an EMA weight in [0, 1) for every line, the raw line faint behind (renderers._smooth).

The renderer itself draws against the epoch; `training_axis` rescales the drawn figure, so
every view gets the same axis without its own code. Each point's customdata[0] stays its
epoch (the dashboard's click contract) and `layout.meta` records the scale ("x_per_epoch",
"log_x"), so the dashboard's current-epoch marker lands on the same x as the points.
"""

from __future__ import annotations

import functools
from typing import Callable

import numpy as np
import plotly.graph_objects as go

from renderers._smooth import as_weight, smooth_curves
from workbench.core.errors import UserError

__all__ = ["TRAINING_AXIS", "over_training", "training_axis", "as_flag", "as_steps"]

TRAINING_AXIS = ("log_x", "x_step", "log_y", "smooth")  # the options of every view whose x axis is the epoch
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off", "")


def as_flag(name: str, value) -> bool:
    """A boolean option from a bool, 0/1 or its text (a URL or CLI value); UserError otherwise."""
    if isinstance(value, (bool, np.bool_)) or value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
        return value.strip().lower() in _TRUE
    raise UserError(f"option {name} must be true or false, got {value!r}")


def as_steps(value) -> int | None:
    """x_step: None or 0 (x in epochs), or a positive whole number of steps per epoch; UserError otherwise."""
    if value is None or value == "" or (value == 0 and not isinstance(value, bool)):
        return None
    try:
        steps = int(str(value).strip()) if not isinstance(value, (int, np.integer)) else int(value)
    except ValueError:
        steps = -1
    if steps == 0:
        return None
    if steps < 1 or isinstance(value, bool):
        raise UserError(f"option x_step must be a positive number of optimizer steps per epoch, got {value!r}")
    return steps


def over_training(render: Callable) -> Callable:
    """Decorate a renderer drawn against the epoch so that it takes the TRAINING_AXIS options."""
    @functools.wraps(render)
    def wrapped(arrays: dict, *, log_x=False, x_step=None, log_y=False, smooth=0, **options) -> go.Figure:
        weight, flags = as_weight(smooth), {"log_x": as_flag("log_x", log_x), "log_y": as_flag("log_y", log_y)}
        fig = smooth_curves(render(arrays, **options), weight)
        return training_axis(fig, x_step=as_steps(x_step), **flags)

    return wrapped


def _scaled(values, factor: int) -> np.ndarray:
    return np.asarray([np.nan if v is None else v for v in values], dtype=np.float64) * factor


def _rename_mark(trace, factor: int) -> None:
    """A legend entry naming an epoch mark ("turn onset 1650", drawn by mark_turn) names its step instead."""
    if trace.customdata is None or not len(trace.x) or any(v is not None for v in trace.x) or not trace.name:
        return
    epoch = str(np.asarray(trace.customdata).reshape(-1)[0])
    if trace.name.endswith(f" {epoch}"):
        trace.name = f"{trace.name[: -len(epoch)]}step {int(epoch) * factor:,}"


def _drop_nonpositive(trace) -> None:
    """A heatmap's columns at x <= 0 cannot sit on a log axis: leave them out (z and customdata too)."""
    x = np.asarray(trace.x, dtype=np.float64)
    keep = x > 0
    if keep.all():
        return
    trace.x = x[keep]
    if trace.z is not None:
        trace.z = np.asarray(trace.z)[:, keep]
    if trace.customdata is not None and np.ndim(trace.customdata) >= 2:
        trace.customdata = np.asarray(trace.customdata)[:, keep]


def training_axis(fig: go.Figure, *, log_x: bool = False, x_step: int | None = None,
                  log_y: bool = False) -> go.Figure:
    """Put a figure drawn against the epoch on optimizer steps (`x_step` per epoch) and/or log axes.

    Args:
        fig: a figure whose every x coordinate (traces, vertical-line shapes) is an epoch.
        log_x: log x axis; log_y: log y axes.
        x_step: steps per epoch; None keeps epochs.
    Returns:
        The same figure, changed in place.
    """
    factor = x_step or 1
    for trace in fig.data:
        if factor != 1 and getattr(trace, "x", None) is not None:
            _rename_mark(trace, factor)
            trace.x = _scaled(trace.x, factor)
        if log_x and trace.type == "heatmap" and trace.x is not None:
            _drop_nonpositive(trace)
    for shape in fig.layout.shapes:
        if factor != 1 and str(shape.xref or "x").startswith("x") and "domain" not in str(shape.xref or ""):
            shape.update(x0=shape.x0 * factor, x1=shape.x1 * factor)
    unit = "optimizer step" if x_step else "epoch"
    fig.for_each_xaxis(lambda axis: axis.update(title_text=unit + (" (log)" if log_x else ""))
                       if axis.title.text in ("epoch", "optimizer step") else None)
    if log_x:  # over two decades or more, one tick a decade: 1, 2, 5 a decade crowd a half-width panel
        fig.update_xaxes(type="log", **({"dtick": 1} if _decades(fig) >= 2 else {}))
    if log_y:
        _log_y(fig)
    meta = fig.layout.meta if isinstance(fig.layout.meta, dict) else {}
    fig.update_layout(meta={**meta, "x_per_epoch": factor, "log_x": bool(log_x), "log_y": bool(log_y)})
    return fig


def _log_y(fig: go.Figure) -> None:
    """Log y on every y axis of curves; one holding a heatmap (rows of heads, frequencies) keeps its scale."""
    kept = {t.yaxis or "y" for t in fig.data if t.type == "heatmap"}
    for name in [k for k in fig.layout if k.startswith("yaxis")]:
        if "y" + name.removeprefix("yaxis") not in kept:  # a linear range (accuracy's [0, 1.05]) would
            fig.layout[name].update(type="log", range=None, autorange=True)  # read as 10^0..10^1.05


def _decades(fig: go.Figure) -> float:
    """How many powers of ten the positive x values span (0 if none)."""
    xs = np.concatenate([_scaled(t.x, 1) for t in fig.data if getattr(t, "x", None) is not None] or [np.zeros(0)])
    xs = xs[np.isfinite(xs) & (xs > 0)]
    return float(np.log10(xs.max() / xs.min())) if xs.size else 0.0
