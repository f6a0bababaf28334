"""The axes of every curve over training: epochs, optimizer steps or wall time, linear or log; log y; smoothing.

A view whose x axis is the epoch (`register_view(..., epoch_x=True)`, every trajectory over
training) takes five options, declared as `options=TRAINING_AXIS` and applied by wrapping its
renderer in `over_training` (the dashboard's chart controls set them):

- `x_step`: optimizer steps per epoch; x is then the optimizer step (epoch x x_step). The
  query layer sets it from the run's recipe when the recipe's budget is in steps
  (workbench.query.views.run_options), so a minibatch study is read in the steps it states;
  0 asks for epochs anyway.
- `x_time`: x is the wall time, the seconds of training the run had done at each epoch (in
  s, min or h, whichever reads best). A URL or CLI option is a scalar, so the epoch -> seconds
  map itself comes in the arrays: the query layer adds the run's clock as
  `workbench.core.view.CLOCK_ARRAYS` (epochs, seconds) to the arrays of every view that takes
  this option; `over_training` takes them out before the renderer sees its arrays. Epochs
  between two readings (densified checkpoints, a turn's fractional epoch) are placed by linear
  interpolation. It wins over `x_step`; without the clock arrays it is a UserError.
- `log_x`: a log x axis, as grokking studies plot training (epoch, step or second 0 leaves the plot).
- `log_y`: log y axes (every subplot's; a fixed linear range, e.g. accuracy's [0, 1.05], is dropped).
- `smooth`: an EMA weight in [0, 1) for every line, the raw line faint behind (renderers._smooth).

The renderer itself draws against the epoch; `training_axis` maps the drawn figure's x
(traces and vertical-line shapes), so every view gets the same axis without its own code.
Each point's customdata[0] stays its epoch (the dashboard's click contract) and `layout.meta`
records the map ("x_per_epoch" for steps; for wall time also "x_clock", {"epoch": [...],
"x": [...]} in the axis's unit, to interpolate) and "log_x", so the dashboard's current-epoch
marker lands on the same x as the points.
"""

from __future__ import annotations

import functools
from typing import Callable

import numpy as np
import plotly.graph_objects as go

from renderers._smooth import as_weight, smooth_curves
from workbench.core.errors import UserError
from workbench.core.view import CLOCK_ARRAYS

__all__ = ["TRAINING_AXIS", "over_training", "training_axis", "as_flag", "as_steps", "time_unit"]

TRAINING_AXIS = ("log_x", "x_step", "x_time", "log_y", "smooth")  # the options of every view whose x axis is the epoch
_UNITS = ((7200, "h", 3600.0), (120, "min", 60.0), (0, "s", 1.0))  # from this many seconds on: unit, its seconds
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
    def wrapped(arrays: dict, *, log_x=False, x_step=None, x_time=False, log_y=False, smooth=0,
                **options) -> go.Figure:
        weight, flags = as_weight(smooth), {"log_x": as_flag("log_x", log_x), "log_y": as_flag("log_y", log_y)}
        steps, clock = as_steps(x_step), _clock(arrays) if as_flag("x_time", x_time) else None
        if any(k in arrays for k in CLOCK_ARRAYS):
            arrays = {k: v for k, v in arrays.items() if k not in CLOCK_ARRAYS}
        fig = smooth_curves(render(arrays, **options), weight)
        return training_axis(fig, x_step=None if clock else steps, clock=clock, **flags)

    return wrapped


def _clock(arrays: dict) -> tuple[np.ndarray, np.ndarray]:
    """The run's (epochs, seconds) from the arrays; UserError if the query layer added none."""
    if not all(k in arrays for k in CLOCK_ARRAYS):
        raise UserError("option x_time: the run records no wall time (trained before it was recorded); "
                        "draw it against the epoch or the optimizer step")
    epochs, seconds = (np.asarray(arrays[k], dtype=np.float64).reshape(-1) for k in CLOCK_ARRAYS)
    if not len(epochs) or epochs.shape != seconds.shape:
        raise ValueError(f"the run's clock needs as many times as epochs, got {epochs.shape} and {seconds.shape}")
    return epochs, seconds


def time_unit(seconds: float) -> tuple[str, float]:
    """The unit a wall time axis reaching `seconds` reads best in, and its length in seconds."""
    return next((name, length) for start, name, length in _UNITS if seconds >= start)


def _scaled(values, factor: float) -> np.ndarray:
    return np.asarray([np.nan if v is None else v for v in values], dtype=np.float64) * factor


class _XMap:
    """Epochs -> the axis's x: times `factor` (optimizer steps, or 1), or through the clock (wall time)."""

    def __init__(self, factor: int, clock: tuple[np.ndarray, np.ndarray] | None):
        self.factor, self.clock = factor, clock
        self.unit, self.length = time_unit(float(clock[1].max())) if clock else ("", 1.0)
        self.identity = factor == 1 and clock is None

    def __call__(self, values) -> np.ndarray:
        epochs = _scaled(values, 1)
        if self.clock is None:
            return epochs * self.factor
        return np.interp(epochs, self.clock[0], self.clock[1] / self.length)  # NaN (a gap) stays NaN

    def title(self, log_x: bool) -> str:
        if self.clock is not None:
            return f"wall time ({self.unit}{', log' if log_x else ''})"
        return ("optimizer step" if self.factor != 1 else "epoch") + (" (log)" if log_x else "")

    def ticks(self) -> dict:
        """Wall time is not whole epochs: its ticks read 0.5 or 0.01 (an epoch axis's "d" would say 0 or 1)."""
        return {} if self.clock is None else {"tickformat": "~g"}

    def label(self, epoch: str) -> str:
        """What a mark's legend entry names instead of its epoch."""
        if self.clock is None:
            return f"step {int(float(epoch)) * self.factor:,}"
        return f"{float(self(np.asarray([float(epoch)]))[0]):.3g} {self.unit}"

    def meta(self) -> dict:
        if self.clock is None:
            return {"x_per_epoch": self.factor}
        return {"x_per_epoch": 1, "x_clock": {"epoch": self.clock[0].tolist(), "x": (self.clock[1] / self.length).tolist()}}


def _rename_mark(trace, xmap: _XMap) -> None:
    """A legend entry naming an epoch mark ("turn onset 1650", drawn by mark_turn) names its x instead."""
    if trace.customdata is None or not len(trace.x) or any(v is not None for v in trace.x) or not trace.name:
        return
    epoch = str(np.asarray(trace.customdata).reshape(-1)[0])
    if trace.name.endswith(f" {epoch}"):
        trace.name = f"{trace.name[: -len(epoch)]}{xmap.label(epoch)}"


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
                  log_y: bool = False, clock: tuple[np.ndarray, np.ndarray] | None = None) -> go.Figure:
    """Put a figure drawn against the epoch on optimizer steps (`x_step` per epoch) or wall time
    (`clock`), and/or log axes.

    Args:
        fig: a figure whose every x coordinate (traces, vertical-line shapes) is an epoch.
        log_x: log x axis; log_y: log y axes.
        x_step: steps per epoch; None keeps epochs.
        clock: (epochs, seconds of training at each), increasing; x is then the wall time
            (interpolated between readings); it wins over `x_step`.
    Returns:
        The same figure, changed in place.
    """
    xmap = _XMap(x_step or 1, clock)
    for trace in fig.data:
        if not xmap.identity and getattr(trace, "x", None) is not None:
            _rename_mark(trace, xmap)
            trace.x = xmap(trace.x)
        if log_x and trace.type == "heatmap" and trace.x is not None:
            _drop_nonpositive(trace)
    for shape in fig.layout.shapes:
        if not xmap.identity and str(shape.xref or "x").startswith("x") and "domain" not in str(shape.xref or ""):
            x0, x1 = xmap([shape.x0, shape.x1])
            shape.update(x0=float(x0), x1=float(x1))
    fig.for_each_xaxis(lambda axis: _retitle(axis, xmap, log_x))
    if log_x:  # over 1.5 decades or more, one tick a decade: 1, 2, 5 a decade crowd a half-width panel
        fig.update_xaxes(type="log", **({"dtick": 1} if _decades(fig) >= 1.5 else {}))  # ("500010000" at 100..9,960)
    if log_y:
        _log_y(fig)
    meta = fig.layout.meta if isinstance(fig.layout.meta, dict) else {}
    fig.update_layout(meta={**meta, **xmap.meta(), "log_x": bool(log_x), "log_y": bool(log_y)})
    return fig


def _retitle(axis, xmap: _XMap, log_x: bool) -> None:
    """An epoch axis's title names the unit it now has; every x axis of whole epochs ("d", with
    or without a title: the top row of a grid) gets the unit's ticks."""
    if axis.title.text in ("epoch", "optimizer step"):
        axis.update(title_text=xmap.title(log_x))
    if axis.title.text == xmap.title(log_x) or axis.tickformat == "d":
        axis.update(**xmap.ticks())


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
