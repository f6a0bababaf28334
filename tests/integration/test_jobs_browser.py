"""Jobs from the Runs page in a real headless browser (issue 16): start a short training
job and an analysis, watch both finish in the jobs table, read a log, open the new run."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from tests.integration.test_dashboard_browser import browser, page  # noqa: F401  (shared fixtures)
from workbench.store import Store
from workbench.ui.dashboard.data import variant_id

SPEC = "modular_addition:p=17,frac_train=0.5"


def _job_state(page, job_id: int) -> str:
    return page.evaluate("""(id) => { for (const tr of document.querySelectorAll('#jobs-table tr')) {
        const c = tr.querySelectorAll('td'); if (c.length && c[0].innerText.trim() === String(id)) return c[3].innerText.trim(); }
        return ''; }""", job_id)


def _wait_done(page, job_id: int, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    state = ""
    while time.monotonic() < deadline:
        state = _job_state(page, job_id)
        if state in ("done", "failed", "interrupted", "crashed", "cancelled"):
            break
        page.wait_for_timeout(1000)
    assert state == "done", f"job {job_id} is {state!r}"


def _start(page, kind: str, fields: dict[str, str]) -> None:
    page.click(f"#job-kind >> text={kind}")
    for fid, value in fields.items():
        page.fill(f"#{fid}", value)
    page.click("#job-start")


def test_start_training_and_analysis_from_the_runs_page_then_open_the_run(page, tmp_path):
    from workbench.ui.dashboard._background import background_server

    store = Store(tmp_path / "store")
    store.root.mkdir()
    with background_server(store, launch=True) as url:
        page.goto(url + "runs")
        page.wait_for_selector("#job-form")
        _start(page, "train", {"job-target": SPEC, "job-epochs": "100", "job-schedule": "0:100:50"})
        page.wait_for_function("() => document.querySelector('#job-message').innerText.startsWith('job 1 started')")
        _wait_done(page, 1)
        _start(page, "analyze", {"job-target": SPEC, "job-analyzers": "loss_accuracy,turn"})
        page.wait_for_function("() => document.querySelector('#job-message').innerText.startsWith('job 2 started')")
        _wait_done(page, 2)
        log = urllib.request.urlopen(url + "jobs/2/log").read().decode()
        assert "job 2: analyze" in log and '"analyzers":"loss_accuracy,turn"' in log and "exit status 0" in log
        page.wait_for_function("() => document.querySelectorAll('#runs-table td').length > 0")
        page.screenshot(path=str(tmp_path / "runs_jobs.png"), full_page=True)
        (key,) = store.runs()  # the sidebar's variant picker is built at page load: a new page sees the new run
        page.goto(url + "?" + urllib.parse.urlencode({"variant": variant_id(key)}))  # a runs row's link (app.row_link)
        page.wait_for_function("() => { const p = document.querySelector('#page-explore'); return p && "
                               "!p.classList.contains('hidden') && p.querySelectorAll('.js-plotly-plot .main-svg').length > 0; }")
        page.screenshot(path=str(tmp_path / "new_run.png"))
        assert "p=17," in page.inner_text("#sidebar")
    assert [k.variant.split(",")[0] for k in store.runs()] == ["p=17"]
    assert "turn" in store.analyzers_done(store.runs()[0])


def test_a_server_off_loopback_shows_no_form_and_refuses_in_a_message(page, tmp_path):
    from workbench.ui.dashboard._background import background_server

    store = Store(tmp_path / "store")
    store.root.mkdir()
    errors = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    with background_server(store, launch=False) as url:
        page.goto(url + "runs")
        page.wait_for_selector("#jobs-section")
        assert page.locator("#job-form").count() == 0 and "is off" in page.inner_text("#jobs-section")
        state = [{"id": f"job-{f}", "property": "value", "value": SPEC if f == "target" else None}
                 for f in ("kind", "target", "config", "recipe", "epochs", "schedule", "extra-epochs", "analyzers")]
        body = {"output": "job-message.children", "outputs": {"id": "job-message", "property": "children"},
                "inputs": [{"id": "job-start", "property": "n_clicks", "value": 1}],
                "changedPropIds": ["job-start.n_clicks"],
                "state": state + [{"id": "launch-token", "property": "data", "value": None}]}
        request = urllib.request.Request(url + "_dash-update-component", data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"})
        reply = urllib.request.urlopen(request).read().decode()  # a refusal in the page, not a 500
        assert "starting jobs from this page is off" in reply
        request = urllib.request.Request(url + "_dash-update-component", data=json.dumps(
            {**body, "output": "runs-table.data", "state": state}).encode(), headers={"Content-Type": "application/json"})
        with pytest.raises(urllib.error.HTTPError) as malformed:  # not the shape that callback takes
            urllib.request.urlopen(request)
        assert malformed.value.code == 400
        assert not errors, errors
    assert not store.index_path().exists() and not (store.root / Store.JOBS_DIR).exists()
