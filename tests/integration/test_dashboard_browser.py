"""The dashboard in a real headless browser, with screenshots read back as images (issue 17).

Covers: panels fit the main column at 1280, 1440 and 1920 px (also a group opened after
load); the URL round trip; the loading state; per-figure and batch export; one colour per
variant on every compare panel; plus scrubbing and click navigation end to end.

Uses Debian's chromium driven by Playwright (never `playwright install`, which downloads a
browser), and the dashboard under waitress in a thread. Screenshots are decoded by the
browser itself (a canvas), so no imaging library is needed. Set WORKBENCH_DOCS_SCREENSHOT=1
to also write docs/dashboard.png.
"""

from __future__ import annotations

import base64
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from workbench.store import Store
from workbench.testing.synthetic import synthetic_run
from workbench.ui.dashboard.data import variant_id
from workbench.ui.dashboard.labels import PALETTE, export_name

ALL_GROUPS = "training,neurons,neuron_detail,embeddings,attention,geometry,output"
SETTLED = ("() => document.querySelectorAll('.group.open .js-plotly-plot .main-svg').length > 0 && "
           "window.workbench.onScreen() !== null && "
           "!document.querySelector('#panels').classList.contains('busy') && "
           "[...document.querySelectorAll('.group.open .panel:not(.not-applicable)')]"
           ".filter(p => window.workbench.onScreen().includes(p.id.slice(6))).every("
           "p => p.classList.contains('empty') || p.querySelector('.gtitle'))")  # panels on screen are drawn


@pytest.fixture(scope="module")
def store(tiny_analyzed, tmp_path_factory):
    """The tiny analyzed run, plus two synthetic seeds for the compare page (seed 6 lacks weight_trajectory)."""
    root = tmp_path_factory.mktemp("browser_store") / "store"
    shutil.copytree(tiny_analyzed.root, root)
    store = Store(root)
    for seed, extra in ((5, ["weight_trajectory"]), (6, [])):
        synthetic_run(store, p=17, epochs=[0, 100, 200], seed=seed, n_neurons=16, n_heads=2,
                      analyzers=["dimensionality_trajectory", "turn", *extra])
    return store


@pytest.fixture(scope="module")
def server(store):
    from workbench.ui.dashboard._background import background_server

    with background_server(store) as url:
        yield url


@pytest.fixture(scope="module")
def browser(chromium_path):
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    from workbench.ui.dashboard._background import chromium

    with chromium(chromium_path) as browser:
        yield browser


@pytest.fixture()
def page(browser):
    context = browser.new_context(viewport={"width": 1440, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(60_000)
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    yield page
    context.close()
    assert not errors, errors


def _vid(store, i: int | None = None) -> str:
    """The trained run's id (default), or the i-th run of the store."""
    if i is None:
        return next(variant_id(k) for k in store.runs() if "seed=5," not in k.variant and "seed=6," not in k.variant)
    return variant_id(store.runs()[i])


def _open(page, url: str) -> None:
    page.goto(url)
    page.wait_for_function(SETTLED)


def _pixels(page, png: bytes) -> np.ndarray:
    """A screenshot decoded by the browser: [height, width, 4] uint8."""
    w, h, data = page.evaluate("""async (src) => {
        const img = new Image(); img.src = src; await img.decode();
        const c = document.createElement('canvas'); c.width = img.width; c.height = img.height;
        const ctx = c.getContext('2d'); ctx.drawImage(img, 0, 0);
        const px = ctx.getImageData(0, 0, img.width, img.height).data;
        let s = ''; for (let i = 0; i < px.length; i += 65536) { s += String.fromCharCode(...px.subarray(i, i + 65536)); }
        return [img.width, img.height, btoa(s)]; }""", "data:image/png;base64," + base64.b64encode(png).decode())
    return np.frombuffer(base64.b64decode(data), dtype=np.uint8).reshape(h, w, 4)


def _has_colour(img: np.ndarray, hex_colour: str, tol: int = 40, min_pixels: int = 20) -> bool:
    rgb = np.array([int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)])
    return int((np.abs(img[..., :3].astype(int) - rgb).max(axis=-1) < tol).sum()) >= min_pixels


# --------------------------------------------------------------------------- layout
@pytest.mark.parametrize("width", [1280, 1440, 1920])
def test_every_open_panel_fits_the_main_column(page, server, store, width):
    page.set_viewport_size({"width": width, "height": 9000})  # tall: every open panel is on screen, so drawn
    _open(page, f"{server}?variant={_vid(store)}&groups={ALL_GROUPS}")
    main = page.evaluate("() => { const m = document.querySelector('#main'); const r = m.getBoundingClientRect();"
                         " return {left: r.left, right: r.left + m.clientWidth, scroll: m.scrollWidth, client: m.clientWidth}; }")
    assert main["scroll"] <= main["client"]  # nothing scrolls sideways
    panels = page.locator(".group.open .panel:not(.empty):not(.not-applicable)")
    assert panels.count() >= 12
    for i in range(panels.count()):
        panel = panels.nth(i)
        assert panel.locator(".gtitle").count(), panel.get_attribute("id")  # drawn, not a blank placeholder
        box = panel.bounding_box()
        assert main["left"] - 1 <= box["x"] and box["x"] + box["width"] <= main["right"] + 1, panel.get_attribute("id")
        svg = panel.locator(".main-svg").first.bounding_box()
        assert svg["x"] + svg["width"] <= box["x"] + box["width"] + 1, panel.get_attribute("id")
    shot = _pixels(page, page.screenshot())
    assert shot.shape[1] == width
    # the right-hand column is drawn, not cut off: figure content reaches past the middle of the main column
    right_half = shot[:, int((main["left"] + main["right"]) / 2) + 20:int(main["right"]) - 4]
    assert (right_half[..., :3] < 200).any(axis=-1).mean() > 0.01


def test_a_group_opened_after_load_fits(page, server, store):
    _open(page, f"{server}?variant={_vid(store)}")
    page.click("#toggle-embeddings")
    page.wait_for_function("() => document.querySelectorAll('#group-embeddings .main-svg').length >= 3")
    page.wait_for_function(SETTLED)
    page.wait_for_timeout(300)
    right = page.evaluate("() => { const m = document.querySelector('#main'); return m.getBoundingClientRect().left + m.clientWidth; }")
    for view in ("embedding_fourier", "unembedding_fourier", "freq_specialization"):
        box = page.locator(f"#fig-{view} .main-svg").first.bounding_box()
        assert box["x"] + box["width"] <= right + 1, view
    assert "groups=training,neurons,embeddings" in page.url


# ------------------------------------------------------------------ state and feedback
def test_url_round_trip(page, server, store, browser):
    vid = _vid(store)
    _open(page, f"{server}?variant={vid}")
    page.locator("#epoch [role=slider]").first.focus()
    page.keyboard.press("ArrowLeft")
    page.wait_for_function("() => /epoch 150/.test(document.querySelector('#fig-neuron_heatmap .gtitle')?.textContent ?? '')")
    page.fill("#opt-neuron", "3")
    page.press("#opt-neuron", "Enter")
    page.wait_for_function("() => /neuron 3\\b/.test(document.querySelector('#fig-neuron_heatmap .gtitle')?.textContent ?? '')")
    page.click("#toggle-attention")
    page.wait_for_function(SETTLED)
    url = page.url
    assert "epoch=150" in url and "neuron=3" in url and "attention" in url

    again = browser.new_page(viewport={"width": 1440, "height": 1000})
    _open(again, url)
    assert "epoch 150" in again.locator("#epoch-readout").inner_text()
    assert again.locator("#opt-neuron").input_value() == "3"
    assert "open" in again.locator("#group-attention").get_attribute("class")
    title = again.locator("#fig-neuron_heatmap .gtitle").text_content()
    assert "neuron 3" in title and "epoch 150" in title
    compare = f"{server}compare?compare={_vid(store, 1)}&compare={_vid(store, 0)}&align=turn"
    again.goto(compare)
    again.wait_for_function("() => document.querySelectorAll('#compare-test_loss .scatterlayer .trace').length === 2")
    again.reload()
    again.wait_for_function("() => document.querySelectorAll('#compare-test_loss .scatterlayer .trace').length === 2")
    assert again.locator("#compare-test_loss .xtitle").text_content() == "epochs since turn"
    assert "compare=" in again.url and "align=turn" in again.url
    again.close()


def test_loading_state_while_panels_render(page, server, store):
    _open(page, f"{server}?variant={_vid(store)}")
    before = _pixels(page, page.locator("#panel-neuron_heatmap").screenshot())

    held = []  # the panels request, held until the page has been looked at
    page.route("**/_dash-update-component*", lambda route: held.append(route))
    page.locator("#epoch [role=slider]").first.focus()
    page.keyboard.press("ArrowLeft")
    page.wait_for_selector("#panels.busy")
    assert page.locator("#busy-note").is_visible()
    assert "epoch 150" in page.locator("#epoch-readout").inner_text()
    assert "epoch 200" in page.locator("#fig-neuron_heatmap .gtitle").text_content()  # still the old one ...
    during = _pixels(page, page.locator("#panel-neuron_heatmap").screenshot())
    assert during[..., :3].mean() > before[..., :3].mean() + 15  # ... and visibly dimmed
    for route in held:
        route.continue_()
    page.unroute("**/_dash-update-component*")
    page.wait_for_function("() => !document.querySelector('#panels').classList.contains('busy')", timeout=30_000)
    # the heatmap's title is repainted after the panels settle (a second request when the 4 s live poll
    # or a held request lands late on a loaded machine), so wait for it rather than read it at once
    page.wait_for_function("() => (document.querySelector('#fig-neuron_heatmap .gtitle') || {}).textContent"
                           "?.includes('epoch 150')", timeout=30_000)


# ----------------------------------------------------------------------- export
def test_per_figure_and_batch_export(page, server, store, tmp_path):
    key = next(k for k in store.runs() if variant_id(k) == _vid(store))
    _open(page, f"{server}?variant={variant_id(key)}")
    page.hover("#panel-neuron_heatmap")
    for fmt in ("png", "svg", "html"):
        with page.expect_download() as info:
            page.click(f"#panel-neuron_heatmap button.export:has-text('{fmt.upper()}')")
        download = info.value
        assert download.suggested_filename == export_name(key, "neuron_heatmap", 200) + "." + fmt
        content = Path(download.path()).read_bytes()
        if fmt == "png":
            img = _pixels(page, content)
            assert img.shape[0] > 200 and img[..., :3].std() > 10  # a real picture, not a blank
        elif fmt == "svg":
            assert content.lstrip().startswith(b"<svg") and b"neuron 0" in content
        else:
            assert b"Plotly.newPlot" in content and b"epoch 200" in content
    names = []
    shown = page.locator(".group.open .panel:not(.empty):not(.not-applicable)").count()
    page.on("download", lambda d: names.append(d.suggested_filename))
    page.click("#export-all-svg")
    for _ in range(300):  # downloads are spaced 150 ms apart: wait for all, then a little for any extra
        if len(names) >= shown:
            break
        page.wait_for_timeout(100)
    page.wait_for_timeout(500)
    assert len(names) == shown and all(n.endswith(".svg") for n in names)
    assert export_name(key, "loss_curves") + ".svg" in names


# ------------------------------------------------------------------------ compare
def test_compare_keeps_one_colour_per_variant(page, server, store):
    ids = [_vid(store, i) for i in (1, 0, 2)]
    _open(page, f"{server}?variant={ids[0]}")
    page.goto(f"{server}compare?" + "&".join(f"compare={v}" for v in ids))
    page.wait_for_function("() => document.querySelectorAll('#compare-test_loss .scatterlayer .trace').length === 3")
    page.wait_for_function("() => document.querySelectorAll('#compare-total_norm .scatterlayer .trace').length >= 2")
    names = {}
    for metric in ("test_loss", "test_acc", "total_norm", "pr_embed"):
        traces = page.evaluate(f"() => document.querySelector('#compare-{metric} .js-plotly-plot')._fullData"
                               ".map(t => [t.name, t.line.color])")
        for name, colour in traces:
            assert names.setdefault(name, colour) == colour, (metric, name)
        img = _pixels(page, page.locator(f"#cpanel-{metric}").screenshot())
        for name, colour in traces:
            assert _has_colour(img, colour), (metric, name, colour)
    assert sorted(set(names.values())) == sorted(PALETTE[:3])
    assert all(not n.startswith("p=") for n in names)  # short labels, not the whole parameter string
    # seed 6 has no weight_trajectory summary: the panel names it, and the command for that variant
    six = next(k for k in store.runs() if "seed=6," in k.variant)
    assert f"workbench analyze {six.family}:{six.variant} --analyzers weight_trajectory" in \
        page.locator("#cmsg-total_norm").inner_text()
    page.fill("#compare-table input[type=text] >> nth=0", "seed=5")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.querySelectorAll('#compare-table td[data-dash-column=variant]').length === 1")


# ------------------------------------------------------------------- end to end
def test_scrub_click_and_drill_down(page, server, store):
    _open(page, f"{server}?variant={_vid(store)}")
    assert re.search(r"epoch 200\b", page.locator("#epoch-readout").inner_text())  # the latest analyzed
    page.locator("#epoch [role=slider]").first.focus()
    page.keyboard.press("Home")
    page.wait_for_function("() => /epoch 0\\b/.test(document.querySelector('#fig-neuron_heatmap .gtitle')?.textContent ?? '')")
    marks = page.evaluate("() => document.querySelector('#fig-loss_curves .js-plotly-plot').layout.shapes"
                          ".filter(s => s.name === 'current-epoch').map(s => s.x0)")
    assert marks and set(marks) == {0}
    points = page.locator("#fig-loss_curves .scatterlayer .trace").first.locator(".points path")
    points.nth(points.count() // 2).click(force=True)  # the middle evaluation: epoch 100
    page.wait_for_function("() => /epoch 100\\b/.test(document.querySelector('#epoch-readout').innerText)")
    page.wait_for_function("() => /epoch 100\\b/.test(document.querySelector('#fig-neuron_heatmap .gtitle')?.textContent ?? '')")
    # the last live neuron's point (the last path of all is the ring around neuron 0, the selection)
    points = page.locator("#fig-neuron_freq_clusters .scatterlayer .trace").first.locator(".points path")
    points.nth(points.count() - 1).click(force=True)
    page.wait_for_function("() => !/neuron 0\\b/.test(document.querySelector('#fig-neuron_heatmap .gtitle')?.textContent ?? 'neuron 0')")
    neuron = int(page.locator("#opt-neuron").input_value())
    assert neuron != 0 and f"neuron {neuron}" in page.locator("#fig-neuron_heatmap .gtitle").text_content()
    page.click("#nav-runs")
    page.wait_for_function("() => document.querySelectorAll('#runs-table td[data-dash-column=label]').length === 3")
    assert "variant=" in page.url  # the state travels with the page
    page.locator("#runs-table td[data-dash-column=label]").nth(1).click()  # a row opens its run ...
    page.wait_for_function("() => !document.querySelector('#page-explore').classList.contains('hidden')")
    page.wait_for_function("() => window.location.pathname === '/'")  # ... and the address bar follows


def test_an_epoch_step_redraws_panels_on_screen_and_the_rest_when_they_scroll_in(page, server, store):
    key = next(k for k in store.runs() if variant_id(k) == _vid(store))
    _open(page, f"{server}?variant={variant_id(key)}&groups={ALL_GROUPS}")
    far = "#fig-input_trace .gtitle"  # the last group's panel, far below the fold
    page.wait_for_function("() => !window.workbench.onScreen().includes('input_trace')")
    page.locator("#epoch [role=slider]").first.focus()
    page.keyboard.press("ArrowLeft")
    page.wait_for_function("() => /epoch 150/.test(document.querySelector('#fig-neuron_heatmap .gtitle')?.textContent ?? '')")
    page.wait_for_function(SETTLED)
    assert page.locator(far).count() == 0 or "epoch 150" not in page.locator(far).text_content()  # not drawn yet
    page.locator("#panel-input_trace").scroll_into_view_if_needed()
    page.wait_for_function(f"() => /epoch 150/.test((document.querySelector('{far}') || {{}}).textContent)")
    # a batch export draws every open panel at the shown epoch first, then names each file for it
    page.evaluate("() => window.scrollTo(0, 0)")
    names = []
    page.on("download", lambda d: names.append(d.suggested_filename))
    page.click("#export-all-svg")  # right after the scroll: the page reports what is on screen meanwhile
    drawn = page.eval_on_selector_all(".group.open .panel:not(.empty):not(.not-applicable)",
                                      "ps => ps.map(p => p.id.replace(/^panel-/, ''))")
    for _ in range(120):
        if len(names) >= len(drawn):
            break
        page.wait_for_timeout(250)
    assert len(names) == len(drawn), [v for v in drawn if not any(f"_{v}" in n for n in names)]
    assert export_name(key, "input_trace", 150) + ".svg" in names and export_name(key, "neuron_heatmap", 150) + ".svg" in names


# ------------------------------------------------------------- declared view options
def _note(page, key: str) -> str:
    return page.locator(f"#opt-{key}-note").inner_text().strip()


def test_an_out_of_range_index_is_clamped_with_a_note(page, server, store):
    """Issue 30 item 7: 999 of n neurons shows the last neuron, the box says so, and nothing turns red."""
    from workbench.ui.dashboard.options import ranges

    vid = _vid(store)
    last = ranges(store, next(k for k in store.runs() if variant_id(k) == vid))["neuron"] - 1
    heatmap = "document.querySelector('#fig-neuron_heatmap .gtitle')?.textContent ?? ''"
    _open(page, f"{server}?variant={vid}")
    page.fill("#opt-neuron", "999")
    page.press("#opt-neuron", "Enter")
    page.wait_for_function(f"() => /neuron {last}\\b/.test({heatmap})")
    assert page.locator("#opt-neuron").input_value() == str(last)  # the box shows what the panels show
    assert _note(page, "neuron") == f"999 is out of range (0–{last}): showing {last}"
    assert page.evaluate("() => document.querySelector('#opt-neuron').checkValidity()")  # never marked invalid
    page.wait_for_function(f"() => window.location.search.includes('neuron={last}')")
    page.fill("#opt-neuron", "2.4")
    page.press("#opt-neuron", "Enter")
    page.wait_for_function(f"() => /neuron 2\\b/.test({heatmap})")
    assert _note(page, "neuron") == "2.4 is not a whole number: showing 2"
    page.fill("#opt-neuron", "1")
    page.press("#opt-neuron", "Enter")
    page.wait_for_function(f"() => /neuron 1\\b/.test({heatmap})")
    assert _note(page, "neuron") == ""  # a value in range clears the note
    _open(page, f"{server}?variant={vid}&neuron=999&head=-4")  # a link: the same rule
    page.wait_for_function(f"() => /neuron {last}\\b/.test({heatmap})")
    assert page.locator("#opt-neuron").input_value() == str(last)
    assert _note(page, "neuron") == f"999 is out of range (0–{last}): showing {last}"


@pytest.fixture(scope="module")
def uma_store(tmp_path_factory):
    """A universal_modular run whose top neurons (by rank) are neurons 16, 3 and 7."""
    from workbench.core.analyzer import get_analyzer
    from workbench.store._io import save_npz
    from workbench.testing.synthetic import listed_run, sizes, synthetic_arrays

    store = Store(tmp_path_factory.mktemp("uma_store") / "store")
    key = listed_run(store, "universal_modular:max_p=13,train_min=2,train_max=11,n_unseen=1,d_model=16,n_heads=2,"
                            "d_mlp=32,d_sin=8", epochs=200, every=100)
    size, rng = sizes(13, neurons=32, top=3, shown=2, prime=5, residue=13), np.random.default_rng(0)
    for epoch in (0, 100, 200):
        for name in ("neuron_adaptation", "modular_sum_signal"):
            arrays = {**synthetic_arrays(get_analyzer(name), size, rng), "neurons": np.array([16, 3, 7]),
                      "primes": np.array([2, 3, 5, 7, 11])}
            if "show_primes" in arrays:
                arrays["show_primes"] = np.array([5, 7])
            save_npz(arrays, store.artifact_path(key, name, epoch))
    return store


@pytest.fixture(scope="module")
def uma_server(uma_store):
    from workbench.ui.dashboard._background import background_server

    with background_server(uma_store) as url:
        yield url


def test_a_rank_option_is_labelled_as_a_rank(page, uma_server, uma_store):
    """Issue 30 item 7: universal_modular's box is a rank among the top neurons, and says so; the titles name the id."""
    vid = variant_id(uma_store.runs()[0])
    title = "(document.querySelector('#fig-neuron_across_primes .gtitle') || {}).textContent"
    _open(page, f"{uma_server}?variant={vid}&groups=training,multi-prime")
    page.wait_for_function(f"() => /Neuron 16 across/.test({title})")  # rank 0 is neuron 16
    box = page.locator("#opt-top_neuron-box")
    assert box.is_visible() and page.locator("#opt-neuron-box").is_hidden()  # not the neuron-index control
    assert box.locator("label").inner_text() == "Top neuron (rank)"
    assert "rank among the most oscillator-like neurons" in box.inner_text()
    assert "own index" in box.inner_text()  # ... and why a title names another number
    page.fill("#opt-top_neuron", "1")
    page.press("#opt-top_neuron", "Enter")
    page.wait_for_function(f"() => /Neuron 3 across/.test({title})")
    assert "top_neuron=1" in page.url and not re.search(r"[?&]neuron=", page.url)
    page.fill("#opt-top_neuron", "7")
    page.press("#opt-top_neuron", "Enter")
    page.wait_for_function(f"() => /Neuron 7 across/.test({title})")  # rank 2, the last of three
    assert page.locator("#opt-top_neuron").input_value() == "2"
    assert _note(page, "top_neuron") == "7 is out of range (0–2): showing 2"
    page.locator("#panel-sum_signal_fit").scroll_into_view_if_needed()  # both views follow the rank
    page.wait_for_function("() => /Neuron 7:/.test((document.querySelector('#fig-sum_signal_fit .gtitle') || {}).textContent)")
