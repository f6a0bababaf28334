"""Issue 30 item 10: a figure shown in a notebook is saved in the .ipynb not only as Plotly
JSON (which only a live Jupyter draws) but as HTML, and as PNG on request
(`workbench.notebook_figures`), so a saved notebook shows its figures elsewhere too."""

from __future__ import annotations

import base64
import shutil

import pytest

import workbench
from workbench.api import Figure


@pytest.fixture
def formats():
    before = workbench.notebook_figures("html")
    yield
    workbench.notebook_figures(*before)


def _fig() -> Figure:
    return Figure(data=[{"type": "scatter", "y": [1, 3, 2]}])


def test_a_figure_is_saved_as_html_by_default(formats):
    bundle = _fig()._repr_mimebundle_()
    assert 'class="plotly-graph-div"' in bundle["text/html"] and "image/png" not in bundle


def test_no_formats_leaves_only_what_plotly_gives(formats):
    workbench.notebook_figures()
    assert "text/html" not in _fig()._repr_mimebundle_()


@pytest.mark.skipif(not shutil.which("chromium") and not shutil.which("google-chrome"), reason="needs a Chromium")
def test_png_on_request(formats):
    pytest.importorskip("kaleido")
    assert workbench.notebook_figures("html", "png") == ("html",)
    png = base64.b64decode(_fig()._repr_mimebundle_()["image/png"])
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_an_unknown_format_is_one_line(formats):
    with pytest.raises(workbench.UserError, match="unknown format 'gif'"):
        workbench.notebook_figures("gif")
