"""Issue 30 item 6: text that fits a half-width panel (renderers._text through styled)."""

from __future__ import annotations

import plotly.graph_objects as go

from renderers._style import EPOCH_AXIS, styled, subplots
from renderers._text import TITLE_CHARS, wrap


def test_a_long_title_wraps_at_words_with_room_above():
    title = "Logit lens: unembedding the residual stream stage by stage (accuracy of the correct answer)"
    fig = styled(go.Figure(go.Scatter(x=[0, 1], y=[0, 1])), title)
    lines = fig.layout.title.text.split("<br>")
    assert len(lines) >= 2 and all(len(line) <= TITLE_CHARS for line in lines)
    assert " ".join(lines) == title  # nothing cut off
    assert fig.layout.margin.t == 60 + 22 * (len(lines) - 1)  # more lines: more room above the plot
    short = styled(go.Figure(), "Loss and accuracy")
    assert short.layout.title.text == "Loss and accuracy" and short.layout.margin.t == 60


def test_subplot_titles_wrap_to_their_column():
    names = ["Embedding Fourier power by frequency and component", "Unembedding Fourier power by frequency"]
    fig = styled(subplots(1, 2, subplot_titles=names), "Fourier")
    texts = [a.text for a in fig.layout.annotations]
    assert all(max(len(line) for line in t.split("<br>")) <= TITLE_CHARS * 17 / 13 / 2 for t in texts)
    assert [t.replace("<br>", " ") for t in texts] == names
    assert all(a.font.size == 13 for a in fig.layout.annotations)


def test_axis_titles_make_room_for_tick_labels():
    fig = styled(subplots(1, 2), "t")
    assert all(a.automargin for a in [*fig.select_xaxes(), *fig.select_yaxes()])


def test_short_epoch_axes_get_one_tick_per_whole_number():
    """0..2 epochs read "0 1 1 2 2" with half-step ticks formatted as whole numbers."""
    fig = go.Figure(go.Scatter(x=[0, 1, 2], y=[1, 2, 3]))
    fig.update_xaxes(**EPOCH_AXIS)
    fig = styled(fig, "t")
    assert fig.layout.xaxis.dtick == 1
    long = go.Figure(go.Scatter(x=[0, 500, 1000], y=[1, 2, 3]))
    long.update_xaxes(**EPOCH_AXIS)
    assert styled(long, "t").layout.xaxis.dtick is None  # plotly's own ticks are whole numbers here
    two = subplots(1, 2)
    two.add_trace(go.Scatter(x=[0, 1000], y=[0, 1]), row=1, col=1)
    two.add_trace(go.Scatter(x=[0, 8], y=[0, 1]), row=1, col=2)
    two.update_xaxes(**EPOCH_AXIS)
    two = styled(two, "t")
    assert two.layout.xaxis.dtick is None and two.layout.xaxis2.dtick == 2  # per axis, from its own traces


def test_wrap_keeps_what_fits_and_marked_up_text():
    assert wrap("short", 10) == "short"
    assert wrap("a<br>b is already broken somewhere", 5) == "a<br>b is already broken somewhere"
    assert wrap("one two three four", 9) == "one two<br>three<br>four"
