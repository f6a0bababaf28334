"""The Runs page as run management (issue 30) in a real headless browser at 1440 px: metric
columns and sparklines for runs of several families (one still training), the `--where`
filter with its error inline, the tag / note editor, compare from a row, and a table that
fits the page."""

from __future__ import annotations

import json

import pytest

from tests.integration.test_dashboard_browser import browser, page  # noqa: F401  (shared fixtures)
from workbench.store import Store
from workbench.store.annotations import read_annotations
from workbench.store.jobs import list_jobs
from workbench.testing.synthetic import listed_run
from workbench.ui.dashboard.data import variant_id
from workbench.ui.dashboard.launch_form import param_id

SPECS = {"modular_addition:p=17,seed=1": 0.95, "modular_addition:p=17,seed=2": 0.40,
         "least_action:p=17,frac_train=0.4": 0.25, "modular_arithmetic:seed=2": 0.75,
         "interleaved_streams:n_layers=2": 0.5, "universal_modular:max_p=23,train_max=19": 0.6}
ROWS = "document.querySelectorAll('#runs-table td[data-dash-column=label]').length"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    from workbench.ui.dashboard._background import background_server

    store = Store(tmp_path_factory.mktemp("runs_page") / "store")
    keys = {spec: listed_run(store, spec, test_acc=acc) for spec, acc in SPECS.items()}
    training = keys["modular_arithmetic:seed=2"]  # still training: this process, writing now
    store.write_status(training, 600, 1000, "running")
    with background_server(store, launch=True) as url:
        yield store, url, keys


def _open_runs(page, url: str, query: str = "") -> None:
    page.goto(url + "runs" + query)
    page.wait_for_function(f"() => {ROWS} > 0")


def test_metric_columns_sparklines_and_nothing_overflows(page, served):
    store, url, keys = served
    _open_runs(page, url)
    assert page.evaluate(ROWS) == len(SPECS)
    page.wait_for_function("() => [...document.querySelectorAll('#runs-table td[data-dash-column=curve] img')]"
                           ".every(i => i.complete && i.naturalWidth === 96)")
    text = page.inner_text("#runs-table")
    assert "0.950" in text and "training 600/1000 (60%)" in text and "extend" in text and "compare" in text
    width = page.evaluate("() => [document.querySelector('#runs-table .dash-spreadsheet').scrollWidth,"
                          " document.querySelector('#main').clientWidth]")
    assert width[0] <= width[1], width  # the table fits beside the sidebar at 1440 px
    page.screenshot(path=str(store.root.parent / "runs_1440.png"), full_page=True)


def test_the_filter_keeps_matching_runs_and_says_why_it_refuses_one(page, served):
    _, url, _ = served
    _open_runs(page, url)
    page.fill("#runs-where", "test_acc>0.7")
    page.press("#runs-where", "Enter")
    page.wait_for_function(f"() => {ROWS} === 2")
    assert "2 runs match" in page.inner_text("#runs-where-msg")
    page.wait_for_function("() => window.location.search.includes('where=test_acc')")  # the filter is in the URL
    page.fill("#runs-where", "test_acc>>0.7")
    page.press("#runs-where", "Enter")
    page.wait_for_function("() => document.querySelector('#runs-where-msg').innerText.includes('filter not applied')")
    assert page.evaluate(ROWS) == 2  # the rows stay
    _open_runs(page, url, "?where=family%3Dleast_action")  # a link with a filter opens filtered
    page.wait_for_function(f"() => {ROWS} === 1")


def _row_cell(page, label: str, column: str, family: str = "modular_addition"):
    row = page.locator("#runs-table tr", has=page.locator(f"td[data-dash-column=label] >> text='{label}'")).filter(
        has=page.locator(f"td[data-dash-column=family] >> text='{family}'"))
    return row.locator(f"td[data-dash-column={column}]")


def test_tags_and_note_are_edited_from_the_row(page, served):
    store, url, keys = served
    _open_runs(page, url)
    _row_cell(page, "seed=1", "annotations").click()
    page.wait_for_selector("#annot-editor", state="visible")
    page.fill("#annot-tags", "baseline, seed1")
    page.fill("#annot-note", "groks at 300")
    page.click("#annot-save")
    page.wait_for_function("() => document.querySelector('#annot-msg').innerText.startsWith('saved')")
    assert read_annotations(store, keys["modular_addition:p=17,seed=1"]) == {"tags": ["baseline", "seed1"],
                                                                             "note": "groks at 300"}
    page.wait_for_function("() => document.querySelector('#runs-table').innerText.includes('#baseline #seed1')")


def test_compare_from_a_row_adds_the_run_to_the_compare_page(page, served):
    _, url, keys = served
    _open_runs(page, url)
    _row_cell(page, "seed=2", "compare").click()
    page.wait_for_function("() => window.location.pathname === '/compare'")
    vid = variant_id(keys["modular_addition:p=17,seed=2"])
    page.wait_for_function("(vid) => new URLSearchParams(window.location.search).getAll('compare').includes(vid)",
                           arg=vid)
    page.wait_for_function("() => document.querySelector('#compare-variants').innerText.includes('seed=2')")


def _pick(page, dropdown: str, text: str) -> None:
    page.click(f"#{dropdown}")
    page.locator("[role=option]:visible", has_text=text).first.click()


def test_the_form_shows_the_picked_familys_params_and_checks_the_launch_first(page, served):
    store, url, keys = served
    _open_runs(page, url)
    _pick(page, "job-family", "least_action")
    page.wait_for_selector("#jp-box-least_action", state="visible")
    assert not page.is_visible("#jp-box-modular_addition") and not page.is_visible("#job-run-box")
    assert "int, 5..1000, default 113" in page.inner_text("#jp-box-least_action")
    box = f"[id='{json.dumps(param_id('least_action', 'p'), separators=(',', ':'), sort_keys=True)}']"
    page.fill(box, "4")
    page.press(box, "Tab")
    page.wait_for_function("() => document.querySelector('#job-target').value === 'least_action:p=4'")
    page.click("#job-start")
    page.wait_for_function("() => document.querySelector('#job-message').innerText.startsWith('not started')")
    message = page.inner_text("#job-message")
    assert "p" in message and "5" in message and "\n" not in message.strip()
    assert list_jobs(store) == []  # refused before anything was recorded
    page.click("#job-kind >> text=analyze")
    page.wait_for_selector("#job-run-box", state="visible")
    assert not page.is_visible("#jp-box-least_action") and page.is_visible("#job-analyzers-box")
    _pick(page, "job-run", "seed=2")
    page.wait_for_function("() => document.querySelector('#job-target').value.startsWith('modular_addition:p=17,seed=2')")
