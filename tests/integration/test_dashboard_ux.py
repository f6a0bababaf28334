"""Issue 30's dashboard items in a real headless browser: the export buttons beside Plotly's
modebar, the epoch slider (keys anywhere, a `?` overlay, play, live drag, the turn mark).

Reuses the browser, server and store fixtures of test_dashboard_browser.py.
"""

from __future__ import annotations

from tests.integration.test_dashboard_browser import (  # noqa: F401  (fixtures)
    SETTLED, _open, _vid, browser, page, server, store)


def _boxes(page, selector: str) -> list[dict]:
    return page.eval_on_selector_all(selector, "els => els.filter(e => e.offsetParent !== null).map(e => {"
                                     " const r = e.getBoundingClientRect(); return {x: r.left, y: r.top, r: r.right,"
                                     " b: r.bottom}; })")


def _overlap(a: dict, b: dict) -> bool:
    return a["x"] < b["r"] and b["x"] < a["r"] and a["y"] < b["b"] and b["y"] < a["b"]


def test_export_buttons_leave_the_modebar_clear(page, server, store):
    """Issue 30 item 4: on hover, Plotly's modebar (zoom, autoscale, reset) and the PNG/SVG/HTML buttons never overlap."""
    _open(page, f"{server}?variant={_vid(store)}")
    for view in ("loss_curves", "neuron_heatmap"):
        page.hover(f"#fig-{view} .js-plotly-plot")
        page.wait_for_function(f"() => [...document.querySelectorAll('#fig-{view} .modebar-btn')]"
                               ".some(b => b.getBoundingClientRect().width > 0)")
        bar = _boxes(page, f"#fig-{view} .modebar-btn")
        tools = _boxes(page, f"#panel-{view} .panel-tools button")
        assert bar and len(tools) == 3
        assert not any(_overlap(a, b) for a in bar for b in tools), (view, bar, tools)
        # and the buttons are reachable: the element under each button's centre is the button
        for t in tools:
            hit = page.evaluate("([x, y]) => document.elementFromPoint(x, y).tagName", [(t["x"] + t["r"]) / 2,
                                                                                       (t["y"] + t["b"]) / 2])
            assert hit == "BUTTON"
