"""Issue 30's dashboard items in a real headless browser: the export buttons beside Plotly's
modebar, the epoch slider (keys anywhere, a `?` overlay, play, live drag, the turn mark).

Reuses the browser, server and store fixtures of test_dashboard_browser.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from workbench.store import Store
from workbench.testing.synthetic import synthetic_run
from workbench.ui.dashboard.data import variant_id

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
        assert bar and len(tools) == (4 if view == "neuron_heatmap" else 3)  # a per-epoch panel adds GIF
        assert not any(_overlap(a, b) for a in bar for b in tools), (view, bar, tools)
        # and the buttons are reachable: the element under each button's centre is the button
        for t in tools:
            hit = page.evaluate("([x, y]) => document.elementFromPoint(x, y).tagName", [(t["x"] + t["r"]) / 2,
                                                                                       (t["y"] + t["b"]) / 2])
            assert hit == "BUTTON"


# --------------------------------------------------------------------- epoch slider (item 5)
READOUT = "document.querySelector('#epoch-readout').innerText"
HEATMAP = "document.querySelector('#fig-neuron_heatmap .gtitle')?.textContent ?? ''"


def _wait_epoch(page, epoch: int) -> None:
    page.wait_for_function(f"() => /epoch {epoch}\\b/.test({READOUT}) && /epoch {epoch}\\b/.test({HEATMAP})")


def test_keys_work_anywhere_on_the_page(page, server, store):
    """←/→, Home/End and n/N act without focusing the slider; ? shows the list; typing in a box is left alone."""
    _open(page, f"{server}?variant={_vid(store)}")
    page.evaluate("() => document.activeElement && document.activeElement.blur()")  # the page, not a control
    page.keyboard.press("ArrowLeft")
    _wait_epoch(page, 150)
    page.keyboard.press("Home")
    _wait_epoch(page, 0)
    page.keyboard.press("ArrowRight")
    _wait_epoch(page, 50)
    page.keyboard.press("End")
    _wait_epoch(page, 200)
    page.keyboard.press("n")
    page.wait_for_function(f"() => /neuron 1\\b/.test({HEATMAP})")
    page.keyboard.press("N")
    page.wait_for_function(f"() => /neuron 0\\b/.test({HEATMAP})")
    assert page.locator("#keys-help").is_hidden()
    page.keyboard.press("?")
    assert page.locator("#keys-help").is_visible()
    assert "play / pause" in page.locator("#keys-help").inner_text()
    page.keyboard.press("Escape")
    assert page.locator("#keys-help").is_hidden()
    page.click("#opt-neuron")  # typing in a box: the arrows move its caret, not the epoch
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("n")
    page.wait_for_timeout(500)
    assert "epoch 200" in page.locator("#epoch-readout").inner_text()
    assert page.locator("#keys-help").is_hidden()


def test_play_steps_through_the_checkpoints(page, server, store):
    _open(page, f"{server}?variant={_vid(store)}&epoch=0")
    _wait_epoch(page, 0)
    assert page.locator("#play").inner_text().endswith("play")
    page.click("#play")
    _wait_epoch(page, 50)
    _wait_epoch(page, 100)
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    page.keyboard.press(" ")  # space pauses
    page.wait_for_function("() => /play/.test(document.querySelector('#play').innerText)")
    page.wait_for_timeout(1500)
    shown = page.locator("#epoch-readout").inner_text()
    assert "epoch 200" not in shown  # paused before the end
    page.keyboard.press(" ")  # and goes on
    _wait_epoch(page, 200)
    page.wait_for_function("() => /play/.test(document.querySelector('#play').innerText)")  # stops at the last
    assert "epoch=200" in page.url


def test_an_arrow_on_the_thumb_asks_the_server_for_one_epoch_step_not_two(page, server, store):
    """The thumb's arrow set both the slider's value and its drag value, and the live drag set the
    same value again: every epoch step went to the server twice (found 2026-12-06 in the benchmark)."""
    _open(page, f"{server}?variant={_vid(store)}")
    _wait_epoch(page, 200)
    posts = []
    page.on("request", lambda r: posts.append(r.post_data) if "_dash-update-component" in r.url and
            '"epoch.value"' in (r.post_data or "") and "changedPropIds" in (r.post_data or "") else None)
    page.focus("#epoch [role=slider]")
    page.keyboard.press("ArrowLeft")
    _wait_epoch(page, 150)
    page.wait_for_timeout(1000)  # a second request would have gone out by now
    panels = [p for p in posts if '"changedPropIds":["epoch.value"]' in p.replace(" ", "")]
    assert len(panels) == 1, posts


def test_dragging_updates_before_the_release(page, server, store):
    _open(page, f"{server}?variant={_vid(store)}")
    thumb = page.locator("#epoch [role=slider]").first.bounding_box()
    track = page.locator("#epoch").bounding_box()
    x, y = thumb["x"] + thumb["width"] / 2, thumb["y"] + thumb["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    for i in range(1, 11):  # to the far left, slowly
        page.mouse.move(x - (x - track["x"]) * i / 10, y)
        page.wait_for_timeout(60)
    _wait_epoch(page, 0)  # drawn while the button is still held
    page.mouse.up()
    assert "epoch=0" in page.url or page.wait_for_function("() => window.location.search.includes('epoch=0')")


def test_the_turn_mark_says_it_is_the_nearest_checkpoint(page, server, store):
    _open(page, f"{server}?variant={_vid(store)}")
    say = "([i, t]) => window.workbench.readout(i, {epochs: [0, 700, 800, 1500], turn: t})"
    assert page.evaluate(say, [1, 750]) == "epoch 700 · the checkpoint nearest the turn at 750"
    assert page.evaluate(say, [2, 800]) == "epoch 800 · the turn"
    assert page.evaluate(say, [3, 750]) == "epoch 1500 · turn at 750"
    assert page.evaluate(say, [3, None]) == "epoch 1500 · no turn detected"
    unmarked = "() => window.workbench.readout(0, {epochs: [0, 100], turn: null, marked: false})"
    assert page.evaluate(unmarked) == "epoch 0 · turn not analyzed yet"  # not "no turn detected" (issue 30 item 10)


@pytest.fixture(scope="module")
def long_server(tmp_path_factory):
    """A run with 36 checkpoints (0, 100, ..., 3500) whose turn (750) falls between two of them."""
    from workbench.ui.dashboard._background import background_server

    store = Store(tmp_path_factory.mktemp("long_store") / "store")
    key = synthetic_run(store, p=17, epochs=list(range(0, 3501, 100)), seed=3, n_neurons=16, n_heads=2,
                        analyzers=["turn"])
    summary = dict(store.read_summary(key, "turn"))
    summary.update(turn_onset_epoch=np.array(750.0), turn_midpoint_epoch=np.array(1200.0))
    store.write_summary(key, "turn", summary)
    with background_server(store) as url:
        yield url, variant_id(key)


def test_slider_labels_never_collide(page, long_server):
    """Issue 30 item 5: no two labels of the slider's marks overlap ("0 turn 750 15002000250030003500")."""
    url, vid = long_server
    page.goto(f"{url}?variant={vid}")
    page.wait_for_function("() => /turn/.test((document.querySelector('#epoch') || {}).innerText)")
    marks = page.eval_on_selector_all("#epoch .dash-slider-mark", "ms => ms.filter(m => m.innerText.trim()).map(m => {"
                                      " const r = m.getBoundingClientRect(); return [m.innerText, r.left, r.right]; })")
    assert len(marks) >= 4 and any(t.startswith("turn") for t, _, _ in marks)
    marks.sort(key=lambda m: m[1])
    for (a, _, right), (b, left, _) in zip(marks, marks[1:]):
        assert right + 2 <= left, (a, b, marks)
    side = page.locator("#sidebar").bounding_box()
    assert marks[0][1] >= side["x"] and marks[-1][2] <= side["x"] + side["width"]
    mark = page.locator("#epoch .dash-slider-mark:has-text('turn')").bounding_box()
    page.mouse.click(mark["x"] + mark["width"] / 2, mark["y"] + mark["height"] / 2)  # the turn's label
    page.wait_for_function("() => /nearest the turn at 750/.test(document.querySelector('#epoch-readout').innerText)")
