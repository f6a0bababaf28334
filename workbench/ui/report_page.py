"""The page every offline HTML report shares: one style, plotly.js inlined once, figures as HTML
fragments, the log-x switch for curves over training, and sections behind a nav.

Used by `workbench.ui.report` (a run), `workbench.ui.report_views` (a report spec) and
`workbench.ui.group_report` (a run group), so the three look alike.
"""

from __future__ import annotations

import html

import plotly.graph_objects as go

__all__ = ["CSS", "LOG_X", "figure_html", "table", "sectioned", "page"]

CSS = """body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.5em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:2em}h3{margin-bottom:.2em}
table.summary td,table.summary th{padding:.2em 1em .2em 0;text-align:left}.desc{color:#666;margin:.2em 0}
nav a{margin-right:1em}.omitted{background:#fff4e5;border-left:4px solid #e67e22;padding:.5em 1em}
.axis-toggle{color:#444;margin:.5em 0}"""
# One switch for every curve over training (views that say how x maps to epochs in layout.meta,
# renderers._axis): the same log x axis their `log_x` option draws, flipped in the page.
LOG_X = """<div class=axis-toggle><label><input type=checkbox id=log-x> log x axis on every curve over
training</label></div><script>document.getElementById("log-x").addEventListener("change", e => {
  const type = e.target.checked ? "log" : "linear";
  document.querySelectorAll(".js-plotly-plot").forEach(gd => {
    if (!gd.layout || !gd.layout.meta || gd.layout.meta.x_per_epoch === undefined) { return; }
    const update = {};
    Object.keys(gd.layout).filter(k => /^xaxis[0-9]*$/.test(k)).forEach(k => {
      update[k + ".type"] = type; update[k + ".autorange"] = true; });
    Plotly.relayout(gd, update);
  });
});</script>
"""


def figure_html(fig: go.Figure) -> str:
    """A figure as an HTML fragment for a page that inlines plotly.js once (`page`)."""
    return fig.to_html(full_html=False, include_plotlyjs=False, include_mathjax=False,
                       config={"displaylogo": False, "responsive": True})


def table(head: list[str], rows: list[list[str]]) -> str:
    """A summary table of text cells (escaped), `head` as its header row."""
    cells = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table class=summary><tr>{cells}</tr>{body}</table>"


def sectioned(sections: list[tuple[str, str, str]]) -> tuple[str, str]:
    """(nav links, section html) for (anchor, heading, body html) sections."""
    nav = "".join(f'<a href="#{a}">{html.escape(h)}</a>' for a, h, _ in sections)
    content = "".join(f'<section id="{a}"><h2>{html.escape(h)}</h2>\n{b}</section>\n' for a, h, b in sections)
    return nav, content


def page(title: str, body: str) -> str:
    """A standalone HTML page: `title` as its title and heading, then `body` (html)."""
    import plotly.offline

    return (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
            f"<style>{CSS}</style>\n<script type=\"text/javascript\">{plotly.offline.get_plotlyjs()}</script>\n"
            f"</head><body><h1>{html.escape(title)}</h1>{body}</body></html>\n")
