"""Shared figure styling: `functools.partial` presets and one colour per meaning, used by every view.

One place decides each colour (a loss kind, the "‖cos, sin‖" norm, each weight matrix), each
axis convention (log loss axes in powers of ten, integer epochs) and the colour scale of a
heatmap (sequential for non-negative data, diverging around 0 only for signed data), so the
same thing looks the same in every figure.
"""

from __future__ import annotations

import zlib
from functools import partial

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio

from renderers._text import fit_text

__all__ = [
    "COLORS", "TEMPLATE", "SEQUENTIAL", "DIVERGING", "EPOCH_HOVER", "LOG_AXIS", "EPOCH_AXIS",
    "diverging_heatmap", "sequential_heatmap", "value_scale", "line", "markers", "bar",
    "epoch_scatter", "freq_label", "matrix_color", "styled", "subplots", "square_axes",
]


def _house_template() -> go.layout.Template:
    """plotly_white cut down to what these 2-D figures use: the same look, a fifth of the bytes.

    Naming "plotly_white" in every figure made plotly copy and validate its whole template
    (3-D scenes, maps, polar axes, two dozen trace types): ~14 ms of each figure's build and
    6.5 kB of its JSON. This keeps its layout for cartesian axes, colour bars and fonts, and
    the trace defaults of the trace types the views draw (bar, heatmap, table).
    """
    white = pio.templates["plotly_white"]
    layout = {k: white.layout[k] for k in ("autotypenumbers", "colorway", "font", "hovermode", "hoverlabel",
                                           "paper_bgcolor", "plot_bgcolor", "coloraxis", "colorscale", "xaxis",
                                           "yaxis", "shapedefaults", "annotationdefaults", "title")}
    return go.layout.Template(layout=layout, data={k: white.data[k] for k in ("bar", "heatmap", "table")})


TEMPLATE = _house_template()
COLORS = {"train": "#1f77b4", "test": "#d62728", "restricted": "#2ca02c", "excluded": "#9467bd",
          "cos": "#1f77b4", "sin": "#ff7f0e", "norm": "#7f7f7f", "turn": "#555555", "selected": "#d62728",
          "dead": "#bbbbbb"}
SEQUENTIAL = "Viridis"  # non-negative values: 0 is the darkest colour
DIVERGING = "RdBu"  # signed values, centred on 0

# Weight matrices by their last name component, so a matrix keeps its colour in every figure.
_MATRIX_COLORS = {"W_E": "#1f77b4", "W_pos": "#aec7e8", "W_Q": "#ff7f0e", "W_K": "#ffbb78", "W_V": "#2ca02c",
                  "W_O": "#98df8a", "W_in": "#d62728", "W_out": "#9467bd", "W_U": "#8c564b"}
_FALLBACK = ("#e377c2", "#17becf", "#bcbd22", "#7f7f7f", "#c49c94", "#f7b6d2", "#9edae5", "#dbdb8d")

EPOCH_HOVER = "epoch %{customdata[0]}"  # trajectory traces carry the integer epoch as customdata[0]
LOG_AXIS = {"type": "log", "exponentformat": "power"}  # 10⁻⁶, never SI prefixes (µ, n) on a loss
EPOCH_AXIS = {"title_text": "epoch", "tickformat": "d"}  # whole epochs, no "1.5k"

diverging_heatmap = partial(go.Heatmap, colorscale=DIVERGING, zmid=0)  # signed values
sequential_heatmap = partial(go.Heatmap, colorscale=SEQUENTIAL)  # non-negative values
line = partial(go.Scatter, mode="lines")
markers = partial(go.Scatter, mode="markers")
bar = partial(go.Bar)
# Every trajectory trace carries the epoch as customdata[0]: the dashboard's click contract.
epoch_scatter = partial(go.Scatter, mode="lines+markers", marker={"size": 5})


def freq_label(k) -> str:
    """ "k=5" for a 1-based frequency; "no k" for -1, a constant (dead) unit that has none."""
    return f"k={int(k)}" if int(k) >= 1 else "no k"


def matrix_color(name: str) -> str:
    """The fixed colour of a weight matrix, from its last name component ("blocks.0.attn.W_Q" -> W_Q)."""
    short = str(name).rsplit(".", 1)[-1]
    if short in _MATRIX_COLORS:
        return _MATRIX_COLORS[short]
    return _FALLBACK[zlib.crc32(short.encode()) % len(_FALLBACK)]  # stable across runs and figures


def value_scale(values: np.ndarray, prefix: str = "z", bounds: bool = True) -> dict:
    """Colour-scale settings chosen from the data: sequential from 0 if nothing is negative, else diverging.

    Args:
        values: the values the scale must cover (NaN ignored).
        prefix: "z" for a trace's own scale (zmin/zmax), "c" for a layout coloraxis (cmin/cmax).
        bounds: False leaves the range to plotly (it follows the data when only z is replaced later).
    Returns:
        {"colorscale", "<prefix>min", "<prefix>max"}, plus "<prefix>mid": 0 when diverging.
    """
    finite = np.asarray(values, dtype=np.float32)
    finite = finite[np.isfinite(finite)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    if low >= 0:
        return {"colorscale": SEQUENTIAL, **({f"{prefix}min": 0.0, f"{prefix}max": high or 1.0} if bounds else {})}
    lim = max(-low, high)
    signed = {f"{prefix}min": -lim, f"{prefix}max": lim} if bounds else {}
    return {"colorscale": DIVERGING, f"{prefix}mid": 0.0, **signed}


def square_axes(fig: go.Figure, n_x: int, n_y: int, **where) -> go.Figure:
    """Square cells filling exactly the data: no empty axis range beside a heatmap.

    Plotly's default keeps the aspect ratio by widening the axis range (`constrain="range"`),
    which draws empty axes on both sides of a heatmap in a wide frame; shrinking the domain
    instead keeps the plot tight around the data.
    """
    fig.update_xaxes(range=[-0.5, n_x - 0.5], constrain="domain", **where)
    fig.update_yaxes(range=[n_y - 0.5, -0.5], constrain="domain", **where)  # a grows downwards
    fig.for_each_yaxis(lambda axis: axis.update(scaleanchor=axis.anchor or "x"), **where)
    return fig


def styled(fig: go.Figure, title: str, *, height: int = 420, **layout) -> go.Figure:
    """Apply the house layout (template, title, margins), fit its text to a half-width panel, return the figure."""
    margin = layout.pop("margin", {"l": 60, "r": 20, "t": 60, "b": 50})
    legend = {"orientation": "h", "y": -0.2, **layout.pop("legend", {})}
    fig.update_layout(template=TEMPLATE, title={"text": title, "x": 0.01}, height=height, margin=margin,
                      legend=legend, **layout)
    return fit_text(fig)  # wrapped titles, axis titles off the ticks, whole-number ticks (renderers._text)


def subplots(rows: int, cols: int, **kwargs) -> go.Figure:
    """`make_subplots` with the house spacing."""
    from plotly.subplots import make_subplots

    kwargs.setdefault("horizontal_spacing", 0.08)
    kwargs.setdefault("vertical_spacing", 0.12)
    return make_subplots(rows=rows, cols=cols, **kwargs)
