"""Weight-matrix views at one checkpoint: singular value spectra and Frobenius norms."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from renderers._null import null_draws
from renderers._style import LOG_AXIS, bar, line, matrix_color, styled
from renderers._validate import require, same_length
from workbench.core.nulls import null_band
from workbench.core.view import register_view

__all__ = ["render_singular_values", "render_weight_norms"]


@register_view("singular_values", scope="epoch", sources=("effective_dim",), group="geometry", order=40)
def render_singular_values(arrays: dict) -> go.Figure:
    """Singular value spectrum of each weight matrix (log y), with its participation ratio.

    Args:
        arrays: effective_dim artifact: matrix_names [matrix], singular_values [matrix, k] (NaN-padded),
            participation_ratio [matrix], spectral_gap [matrix]; optionally its null
            ("null.effective_dim.participation_ratio" [draw, matrix]).
    Returns:
        One line per matrix (no point markers; hover for each value), its legend entry naming
        its participation ratio and the null's central 95%.
    """
    view = "singular_values"
    names = require(arrays, "matrix_names", ("matrix",), view)
    sv = require(arrays, "singular_values", ("matrix", "k"), view)
    pr = require(arrays, "participation_ratio", ("matrix",), view)
    same_length(view, "matrix", matrix_names=names, singular_values=sv, participation_ratio=pr)
    nulls = null_draws(arrays, "effective_dim", "participation_ratio")  # [draw, matrix] or None
    nulls = nulls if nulls is not None and nulls.shape[1:] == pr.shape else None
    fig = go.Figure()
    for i, name in enumerate(names):
        keep = ~np.isnan(sv[i])
        idx = np.arange(1, sv.shape[1] + 1)[keep]
        # lines without point markers: a marker per singular value (hundreds per figure) made this
        # one of the costliest panels to redraw on an epoch step; the hover still names each value
        fig.add_trace(line(x=idx, y=sv[i][keep], name=f"{name} (PR {float(pr[i]):.1f}{_null_range(nulls, i)})",
                           line={"color": matrix_color(name)},
                           hovertemplate=f"{name}<br>σ%{{x}} = %{{y:.3g}}<extra></extra>"))
    fig.update_xaxes(title_text="singular value index")
    fig.update_yaxes(title_text="singular value (log)", **LOG_AXIS)
    title = "Singular value spectra" + ("<br><sup>PR: participation ratio; its random-network null's 95% in "
                                         "brackets</sup>" if nulls is not None else "")
    return styled(fig, title, height=460)


def _null_range(nulls: np.ndarray | None, i: int) -> str:
    if nulls is None:
        return ""
    lo, hi = null_band(nulls[:, i])
    return f" [{float(lo):.1f}-{float(hi):.1f}]"


@register_view("weight_norms", scope="epoch", sources=("param_snapshot",), group="geometry", order=50)
def render_weight_norms(arrays: dict) -> go.Figure:
    """Frobenius norm of each weight matrix.

    Args:
        arrays: param_snapshot artifact: matrix_names [matrix], weight_norms [matrix].
    Returns:
        A bar chart.
    """
    view = "weight_norms"
    names = require(arrays, "matrix_names", ("matrix",), view)
    norms = require(arrays, "weight_norms", ("matrix",), view)
    same_length(view, "matrix", matrix_names=names, weight_norms=norms)
    fig = go.Figure(bar(x=[str(n) for n in names], y=norms.astype(float), name="norm",
                        marker_color=[matrix_color(n) for n in names],
                        hovertemplate="%{x}<br>Frobenius norm %{y:.3g}<extra></extra>"))
    fig.update_xaxes(title_text="matrix")
    fig.update_yaxes(title_text="Frobenius norm")
    return styled(fig, f"Weight norms (total {float(np.sqrt((norms.astype(float) ** 2).sum())):.2f})")
