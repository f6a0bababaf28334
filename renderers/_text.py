"""Text that fits a half-width panel: wrapped titles, subplot titles apart, whole-number ticks (issue 30 item 6).

A figure is drawn about 540 px wide in the dashboard's half-width panels (1440 px screen), and
plotly neither wraps nor shrinks text, so `styled` passes every figure through `fit_text`:

- a title longer than a line is wrapped at word boundaries, with room made above the plot
  ("Logit lens: unembedding the residual stream stage by stag" was cut off);
- subplot titles are wrapped to their column's share of the line, in a smaller font, so
  neighbours no longer run into each other;
- every axis makes room for its tick labels and title (automargin, a small standoff), so an
  axis title never sits on the tick labels ("velocity (log)", "PC3 (8%)");
- an axis of whole numbers (`tickformat "d"`, e.g. epochs) over a short range gets one tick per
  whole number or fewer, never the half-steps that read "0 1 1 2 2".
"""

from __future__ import annotations

import textwrap

import numpy as np
import plotly.graph_objects as go

__all__ = ["TITLE_CHARS", "wrap", "fit_text"]

# characters of a 17 px title that fit a half-width panel (about 60 at ~9 px a character), less the
# "epoch 3500 · " the dashboard puts before a per-epoch view's title
TITLE_CHARS = 46
_SUBTITLE_PX = 13  # the font size of subplot titles
_LINE_PX = 22  # the height of one more title line


def wrap(text: str, width: int) -> str:
    """`text` broken into lines of at most `width` characters at spaces (plotly's <br>); kept as is if it fits."""
    if not text or "<br>" in text or len(text) <= width:
        return text
    return "<br>".join(textwrap.wrap(text, width=max(8, width), break_long_words=False, break_on_hyphens=False))


def _title(fig: go.Figure) -> None:
    text = fig.layout.title.text
    wrapped = wrap(text or "", TITLE_CHARS)
    if wrapped == (text or ""):
        return
    lines = wrapped.count("<br>") + 1
    top = fig.layout.margin.t if fig.layout.margin.t is not None else 60
    fig.update_layout(title_text=wrapped, margin_t=top + _LINE_PX * (lines - 1))


def _subplot_titles(fig: go.Figure) -> None:
    """make_subplots' titles: paper-anchored, bottom-anchored text annotations without arrows."""
    titles = [a for a in fig.layout.annotations if a.xref == "paper" and a.yref == "paper" and a.yanchor == "bottom"
              and a.showarrow is False and a.text]
    if not titles:
        return
    columns = len({round(a.x, 3) for a in titles})
    width = int(TITLE_CHARS * 17 / _SUBTITLE_PX / columns) - 2  # chars of the smaller font in one column
    for a in titles:
        a.update(text=wrap(a.text, width), font_size=_SUBTITLE_PX)


def _whole_number_ticks(fig: go.Figure) -> None:
    """dtick for each whole-number axis over a short range of its traces' data: no repeated labels."""
    for axis in [*fig.select_xaxes(), *fig.select_yaxes()]:
        if axis.tickformat != "d" or axis.dtick is not None or axis.type == "log":
            continue
        name = axis.plotly_name  # "xaxis2" -> traces on "x2"
        ref = name[0] + name[len("xaxis"):]
        try:
            values = [np.asarray(getattr(t, name[0]), dtype=np.float64).ravel() for t in fig.data
                      if (getattr(t, name[0] + "axis", None) or name[0]) == ref and getattr(t, name[0], None) is not None]
        except (TypeError, ValueError):  # categories, not numbers
            continue
        values = np.concatenate(values) if values else np.zeros(0)
        values = values[np.isfinite(values)]
        span = float(values.max() - values.min()) if values.size else 0.0
        if 0 < span <= 10:  # plotly would pick half steps here
            axis.update(dtick=1 if span <= 6 else 2, tick0=0)


def fit_text(fig: go.Figure) -> go.Figure:
    """Wrap the title and subplot titles, keep axis titles off tick labels, and ticks whole; in place."""
    _title(fig)
    _subplot_titles(fig)
    _whole_number_ticks(fig)
    fig.update_xaxes(automargin=True, title_standoff=6)
    fig.update_yaxes(automargin=True, title_standoff=6)
    return fig
