"""Issue 30's chart items in a real headless browser: the Training group's layout on runs of
other families (no duplicate panels, a lone panel spans its row) and the chart controls on
curves over training (smoothing, log y, the x axis; all in the URL).

Reuses the browser and page fixtures of test_dashboard_browser.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.store import Store
from workbench.store.clock import write_clock
from workbench.testing.synthetic import listed_run
from workbench.ui.dashboard.data import variant_id

from tests.integration.test_dashboard_browser import SETTLED, browser, page  # noqa: F401  (fixtures)

LEAST_ACTION, STREAMS = "least_action:p=17", "interleaved_streams"
CLOCK = ([0, 100, 200, 300, 400], [0.0, 10.0, 20.0, 60.0, 100.0])  # seconds of training at each evaluation


@pytest.fixture(scope="module")
def family_store(tmp_path_factory):
    """Finished runs of two families whose Training group differs from modular_addition's; the
    least_action run recorded its clock (CLOCK), the streams run did not."""
    store = Store(tmp_path_factory.mktemp("family_store") / "store")
    keys = {spec: listed_run(store, spec, epochs=400, every=100) for spec in (LEAST_ACTION, STREAMS)}
    write_clock(store, keys[LEAST_ACTION], *CLOCK)
    return store, {spec: variant_id(key) for spec, key in keys.items()}


@pytest.fixture(scope="module")
def family_server(family_store):
    from workbench.ui.dashboard._background import background_server

    with background_server(family_store[0]) as url:
        yield url


def _width(page, selector: str) -> float:
    return page.eval_on_selector(selector, "e => e.getBoundingClientRect().width")


def _shown(page, group: str) -> list[str]:
    return page.eval_on_selector_all(f"#group-{group} .panel", "ps => ps.filter(p => p.offsetParent !== null)"
                                                                ".map(p => p.id.slice(6))")


def test_training_group_has_no_duplicates_and_a_lone_panel_spans_the_row(page, family_server, family_store):
    """Issue 30 item 10: least_action drew loss/accuracy twice (loss_curves beside its 2x2 training
    curves), and a panel alone in its row stayed half width."""
    _, keys = family_store
    page.goto(f"{family_server}?variant={keys[LEAST_ACTION]}&groups=training")
    page.wait_for_function(SETTLED)
    assert _shown(page, "training") == ["training_curves", "loss_decomposition"]
    body = _width(page, "#group-training .group-body") - 16  # its padding
    assert abs(_width(page, "#panel-loss_decomposition") - body) < 2  # alone in its row: the row's width
    page.goto(f"{family_server}?variant={keys[STREAMS]}&groups=training")
    page.wait_for_function(SETTLED)
    assert _shown(page, "training") == ["loss_curves"]
    assert abs(_width(page, "#panel-loss_curves") - body) < 2


FIG = "document.querySelector('#fig-loss_curves .js-plotly-plot')"


def test_chart_controls_come_from_the_url_and_go_back_into_it(page, family_server, family_store):
    """Issue 30: smoothing, log y and the x unit restored from a link; a change is written back."""
    _, keys = family_store
    page.goto(f"{family_server}?variant={keys[STREAMS]}&groups=training&smooth=90&axes=log_y&xunit=epoch")
    page.wait_for_function(SETTLED)
    page.wait_for_function(f"() => {FIG}.layout.yaxis.type === 'log'")
    raw = page.evaluate(f"() => {FIG}.data.filter(t => t.opacity === 0.25 && t.showlegend === false).length")
    assert raw >= 2  # the raw train and test lines, faint behind their smoothed ones
    assert page.locator("#curve-scale input[value=log_y]").is_checked()
    assert page.locator("#curve-x input[value=epoch]").is_checked()
    assert page.locator("#curve-x input[value=time]").is_disabled()
    assert "records no wall time" in page.locator("#curve-x-note").inner_text()  # a run without a clock
    assert page.locator("#fig-loss_curves .legend").count() == 1  # a legend click hides a curve
    page.click("#curve-scale input[value=log_x]")
    page.wait_for_function(f"() => {FIG}.layout.xaxis.type === 'log'")
    page.wait_for_function("() => /axes=log_x/.test(window.location.search)")
    assert "smooth=90" in page.url and "xunit=epoch" in page.url
    page.click("#curve-x input[value=step]")
    page.wait_for_function(f"() => /optimizer step/.test({FIG}.layout.xaxis.title.text)")
    assert "xunit=step" in page.url


def test_wall_time_is_offered_for_a_run_with_a_clock_and_the_marker_follows_it(page, family_server, family_store):
    """Issue 30: x as wall time (`xunit=time`), for a run that recorded its clock; the current-epoch
    marker moves, in the browser, to the epoch's interpolated time."""
    _, keys = family_store
    fig = "document.querySelector('#fig-training_curves .js-plotly-plot')"
    page.goto(f"{family_server}?variant={keys[LEAST_ACTION]}&groups=training&xunit=time&epoch=400")
    page.wait_for_function(SETTLED)
    titles = f"() => Object.keys({fig}.layout).filter(k => /^xaxis/.test(k)).map(k => ({fig}.layout[k].title || {{}}).text)"
    page.wait_for_function(f"() => ({titles})().includes('wall time (s)')")  # the bottom row's axes
    assert not page.locator("#curve-x input[value=time]").is_disabled()
    assert page.locator("#curve-x input[value=time]").is_checked() and page.locator("#curve-x-note").inner_text() == ""
    marks = f"() => {fig}.layout.shapes.filter(s => s.name === 'current-epoch').map(s => s.x0)"
    assert set(page.evaluate(marks)) == {100.0}
    page.locator("#epoch [role=slider]").first.focus()
    page.keyboard.press("ArrowLeft")  # epoch 300: 60 s
    page.wait_for_function(f"() => ({marks})().every(x => x === 60)")
    page.goto(f"{family_server}?variant={keys[STREAMS]}&groups=training&xunit=time")  # no clock: drawn as auto
    page.wait_for_function(SETTLED)
    page.wait_for_function(f"() => /epoch/.test({FIG}.layout.xaxis.title.text)")
    assert page.locator("#curve-x input[value=time]").is_disabled()


@pytest.fixture(scope="module")
def pair_server(tmp_path_factory):
    """Two synthetic runs with neuron activations; the second lacks the embedding spectrum."""
    from workbench.testing.synthetic import synthetic_run
    from workbench.ui.dashboard._background import background_server

    store = Store(tmp_path_factory.mktemp("pair_store") / "store")
    a = synthetic_run(store, p=17, epochs=[0, 100, 200], seed=1, n_neurons=16, n_heads=2,
                      analyzers=["neuron_activations", "embedding_fourier", "turn"])
    b = synthetic_run(store, p=17, epochs=[0, 100, 200, 300], seed=2, n_neurons=16, n_heads=2,
                      analyzers=["neuron_activations", "turn"])
    with background_server(store) as url:
        yield url, variant_id(a), variant_id(b)


def test_compare_shows_one_view_of_two_runs_side_by_side(page, pair_server):
    """Issue 30: any per-epoch view of two runs next to each other, each naming its epoch."""
    url, a, b = pair_server
    page.goto(f"{url}compare?compare={a}&compare={b}&side_view=neuron_heatmap&side_epoch=300")
    heads = "[0, 1].map(i => (document.querySelector('#side-head-' + i) || {}).innerText || '')"
    page.wait_for_function(f"() => {heads}.every(h => /epoch/.test(h))")
    first, second = page.evaluate(f"() => {heads}")
    assert first.endswith("epoch 200 (the checkpoint nearest epoch 300)") and second.endswith("epoch 300")
    boxes = [page.locator(f"#side-panel-{i}").bounding_box() for i in range(2)]
    assert boxes[0]["x"] + boxes[0]["width"] <= boxes[1]["x"] and abs(boxes[0]["y"] - boxes[1]["y"]) < 2  # beside
    page.wait_for_function("() => document.querySelectorAll('#side-fig-1 .gtitle').length > 0")
    zrange = "i => { const t = document.querySelector('#side-fig-' + i + ' .js-plotly-plot').data[0]; return [t.zmin, t.zmax]; }"
    assert page.evaluate(f"() => [0, 1].map({zrange})") == [page.evaluate(f"() => ({zrange})(0)")] * 2  # one scale
    # the runs picked in the section, right then left, from the URL
    page.goto(f"{url}compare?compare={a}&compare={b}&side_view=neuron_heatmap&side_epoch=300&side_left={b}")
    page.wait_for_function(f"() => {heads}[0].endsWith('epoch 300')")
    assert page.evaluate(f"() => {heads}")[1].endswith("epoch 200 (the checkpoint nearest epoch 300)")
    page.goto(f"{url}compare?compare={a}&compare={b}&side_view=embedding_fourier")
    page.wait_for_function("() => /workbench analyze/.test((document.querySelector('#side-msg-1') || {}).innerText)")
    assert "empty" in page.locator("#side-panel-1").get_attribute("class")
    assert "empty" not in page.locator("#side-panel-0").get_attribute("class")
    assert "side_view=embedding_fourier" in page.url


def test_the_gif_button_animates_a_per_epoch_panel_or_says_why_not(page, pair_server):
    """Issue 30: a GIF button on each per-epoch panel (the CLI's animation); without the export extra
    (imageio) the sidebar says what to install instead of saving an error page."""
    url, a, _ = pair_server
    page.goto(f"{url}?variant={a}&groups=neurons")
    page.wait_for_function(SETTLED)
    assert page.locator("#panel-neuron_heatmap .panel-tools button").all_inner_texts() == ["PNG", "SVG", "HTML", "GIF"]
    assert page.locator("#panel-loss_curves .panel-tools button").all_inner_texts() == ["PNG", "SVG", "HTML"]
    page.hover("#fig-neuron_heatmap .js-plotly-plot")
    try:
        import imageio  # noqa: F401
    except ImportError:
        page.click("#panel-neuron_heatmap .panel-tools button:has-text('GIF')")
        page.wait_for_function("() => /imageio/.test(document.querySelector('#gif-note').innerText)")
        return
    with page.expect_download(timeout=240_000) as done:
        page.click("#panel-neuron_heatmap .panel-tools button:has-text('GIF')")
    assert done.value.suggested_filename.endswith("_neuron_heatmap_animated.gif")
    assert Path(done.value.path()).read_bytes()[:6] in (b"GIF89a", b"GIF87a")
