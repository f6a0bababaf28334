"""The Runs page as run management (issue 30): metric columns, labels from what differs,
tags and note, the `--where` filter, a test-accuracy sparkline, per-row actions; every
launch or edit needs this server's page (Origin) and its launch token."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from workbench.core.errors import UserError
from workbench.store import Store
from workbench.store.annotations import add_tags, read_annotations, set_note
from workbench.store.jobs import list_jobs
from workbench.testing.synthetic import listed_run
from workbench.ui.dashboard import create_app, guard
from workbench.ui.dashboard.data import variant_id
from workbench.ui.dashboard.run_actions import compare_search, launch, save_annotations
from workbench.ui.dashboard.runs_table import SPARK_PATH, run_rows, sparkline_svg

SPECS = {"modular_addition:p=17,seed=1": 0.95, "modular_addition:p=17,seed=2": 0.40,
         "least_action:p=17,frac_train=0.4,data_seed=2": 0.25, "modular_arithmetic:seed=2": 0.75}
HOST, ORIGIN = "127.0.0.1:8050", "http://127.0.0.1:8050"


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "store")
    for spec, acc in SPECS.items():
        listed_run(s, spec, test_acc=acc, onset=300 if acc > 0.9 else None)
    return s


def _by_label(rows: list[dict]) -> dict[str, dict]:
    return {f"{r['family']}:{r['label']}": r for r in rows}


def test_rows_carry_final_metrics_turn_state_and_labels_from_what_differs(store):
    rows = _by_label(run_rows(store))
    assert set(rows) == {"modular_addition:seed=1", "modular_addition:seed=2", "least_action:p=17, frac_train=0.4, data_seed=2",
                         "modular_arithmetic:seed=2"}
    one = rows["modular_addition:seed=1"]
    assert one["test_acc"] == pytest.approx(0.95) and one["train_loss"] == pytest.approx(0.01)
    assert one["test_loss"] == pytest.approx(0.1) and one["turn"] == 300 and one["epochs"] == 1000
    assert one["state"] == "done" and one["train"] == "extend" and one["open"] == "open" and one["analyze"] == "analyze"
    assert rows["modular_addition:seed=2"]["turn"] is None
    assert one["curve"].startswith(f"![test accuracy]({SPARK_PATH}?run=modular_addition%2F")


def test_tags_and_note_show_and_the_where_filter_keeps_runs(store):
    key = next(k for k in store.runs() if k.family == "least_action")
    add_tags(store, key, ["baseline", "lal"])
    set_note(store, key, "the frac 0.4 control")
    row, = run_rows(store, "tag=baseline")
    assert row["tags"] == "baseline, lal" and row["note"] == "the frac 0.4 control"
    assert row["annotations"] == "#baseline #lal the frac 0.4 control"
    # the family's only run left: labelled by what differs from the family's defaults
    assert [r["label"] for r in run_rows(store, "test_acc>0.5 and family=modular_addition")] == ["p=17, seed=1"]
    assert len(run_rows(store, "  ")) == 4  # a blank box filters nothing


@pytest.mark.parametrize("clause, problem", [("test_acc>>1", "malformed"), ("nosuch=1", "nosuch"),
                                             ("(p=17", "ends too soon")])
def test_a_bad_filter_is_one_line(store, clause, problem):
    with pytest.raises(UserError) as err:
        run_rows(store, clause)
    assert problem in str(err.value) and "\n" not in str(err.value)


def test_the_sparkline_is_accuracy_over_epochs_on_a_fixed_scale():
    svg = sparkline_svg(np.array([0, 50, 100]), np.array([0.0, 0.5, 1.0]))
    points = re.search(r'points="([^"]+)"', svg).group(1).split()
    xy = [tuple(map(float, p.split(","))) for p in points]
    assert xy[0] == (1.0, 21.0) and xy[1] == (48.0, 11.0) and xy[2] == (95.0, 1.0)  # 0 at the bottom, 1 at the top
    assert "polyline" not in sparkline_svg(np.array([0, 1]), np.array([np.nan, np.nan]))  # no test split: blank
    long = sparkline_svg(np.arange(5000), np.linspace(0, 1, 5000))
    assert len(re.search(r'points="([^"]+)"', long).group(1).split()) == 120  # thinned, stays tiny


def test_the_sparkline_route_serves_svg_and_a_blank_box_for_a_bad_id(store):
    client = create_app(store).server.test_client()
    vid = variant_id(store.runs()[0])
    reply = client.get(SPARK_PATH, query_string={"run": vid, "v": "1"}, headers={"Host": HOST})
    assert reply.status_code == 200 and reply.mimetype == "image/svg+xml" and b"polyline" in reply.data
    bad = client.get(SPARK_PATH, query_string={"run": "../etc/passwd"}, headers={"Host": HOST})
    assert bad.status_code == 200 and b"polyline" not in bad.data
    assert client.get(SPARK_PATH, query_string={"run": vid}, headers={"Host": "evil.example:8050"}).status_code == 403


def test_compare_adds_the_run_to_the_compare_selection_once():
    assert compare_search("?variant=a/b&compare=a/b", "c/d") == "?variant=a%2Fb&compare=a%2Fb&compare=c%2Fd"
    assert compare_search("?compare=c/d", "c/d") == "?compare=c%2Fd"
    assert compare_search(None, "c/d") == "?compare=c%2Fd"


@pytest.fixture
def no_workers(monkeypatch):
    """Record jobs without starting worker processes (the launch path up to the queue)."""
    monkeypatch.setattr("workbench.ui.jobs.start_queued", lambda store: [])


def test_row_launches_check_the_run_and_queue_a_job(store, no_workers):
    key = next(k for k in store.runs() if k.family == "modular_arithmetic")
    vid = variant_id(key)
    assert launch(store, "analyze", vid).startswith("job 1 queued") and "(analyze modular_arithmetic:" in launch(
        store, "analyze", vid)
    assert "(extend " in launch(store, "train", vid, "500")  # a finished run: extend by the box's epochs
    assert launch(store, "train", vid, "x").startswith("not started: extra epochs must be a positive whole number")
    assert launch(store, "analyze", "modular_arithmetic/nosuch").startswith("not started: unknown variant")
    assert launch(store, "delete", vid).startswith("not started: unknown action")
    jobs = list_jobs(store)
    assert [j["kind"] for j in jobs] == ["extend", "analyze", "analyze"]
    assert jobs[0]["args"]["extra_epochs"] == 500 and jobs[-1]["args"]["analyzers"] == "all"


def test_save_makes_the_tags_exactly_those_given(store):
    key = store.runs()[0]
    add_tags(store, key, ["old", "keep"])
    assert save_annotations(store, variant_id(key), "keep, new  fresh", "  a note ").startswith("saved")
    assert read_annotations(store, key) == {"tags": ["keep", "new", "fresh"], "note": "a note"}
    assert save_annotations(store, variant_id(key), "bad/tag", "").startswith("not saved: bad tag 'bad/tag'")
    assert save_annotations(store, variant_id(key), ["x"], "").startswith("not saved: tags must be text")
    assert read_annotations(store, key)["tags"] == ["keep", "new", "fresh"]  # nothing written on a refusal


# ------------------------------------------------------------------ the guard
def _token(client) -> str:
    layout = json.dumps(client.get("/_dash-layout", headers={"Host": HOST}).get_json())
    return re.search(r'"id": "launch-token"[^}]*?"data": "([^"]+)"|"data": "([^"]+)", "id": "launch-token"',
                     layout).group(0).split('"data": "')[1].split('"')[0]


def _body(app, output_part: str, inputs: list, state: list) -> dict:
    output = next(k for k in app.callback_map if output_part in k)
    spec = app.callback_map[output]
    outs = spec["output"] if isinstance(spec["output"], list) else [spec["output"]]
    outputs = [{"id": o.component_id, "property": o.component_property.split("@")[0]} for o in outs]
    return {"output": output, "outputs": outputs if len(outputs) > 1 else outputs[0], "changedPropIds": [f"{inputs[0]['id']}.{inputs[0]['property']}"],
            "inputs": inputs, "state": [{**s, "value": v} for s, v in zip(spec["state"], state)]}


def _click(app, vid: str, column: str, token: object) -> dict:
    cell = {"row": 0, "column": 0, "column_id": column, "row_id": vid}
    return _body(app, "runs-action-msg.children", [{"id": "runs-table", "property": "active_cell", "value": cell}],
                 ["?", "1000", token])


def _save(app, vid: str, token: object) -> dict:
    return _body(app, "annot-msg.children", [{"id": "annot-save", "property": "n_clicks", "value": 1}],
                 [vid, "evil", "pwned", token])


def _post(client, body, origin=ORIGIN):
    return client.post("/_dash-update-component", data=json.dumps(body), content_type="application/json",
                       headers={"Host": HOST, **({"Origin": origin} if origin else {})})


def test_a_cross_origin_post_can_neither_launch_nor_edit(store, no_workers):
    app = create_app(store, launch=True, hosts=guard.allowed_hosts("127.0.0.1", 8050))
    client = app.server.test_client()
    token, vid = _token(client), variant_id(store.runs()[0])
    for body in (_click(app, vid, "analyze", token), _click(app, vid, "train", token), _save(app, vid, token)):
        reply = _post(client, body, origin="http://evil.example")
        assert reply.status_code == 403 and "Origin 'http://evil.example'" in reply.get_data(as_text=True)
    for body in (_click(app, vid, "analyze", "stale"), _save(app, vid, None)):  # same origin, no token
        reply = _post(client, body)
        assert reply.status_code == 200 and "launch token is missing or stale" in reply.get_data(as_text=True)
    assert list_jobs(store) == [] and read_annotations(store, store.runs()[0])["tags"] == []
    reply = _post(client, _click(app, vid, "analyze", token))  # the page itself, with its token
    assert reply.status_code == 200 and "job 1 queued" in reply.get_data(as_text=True)
    assert "saved" in _post(client, _save(app, vid, token)).get_data(as_text=True)
    assert read_annotations(store, store.runs()[0]) == {"tags": ["evil"], "note": "pwned"}


def test_with_launching_off_a_row_click_launches_nothing(store):
    app = create_app(store, launch=False)
    client = app.server.test_client()
    vid = variant_id(store.runs()[0])
    reply = _post(client, _click(app, vid, "analyze", "anything"))
    assert reply.status_code == 200 and "starting jobs from this page is off" in reply.get_data(as_text=True)
    reply = _post(client, _save(app, vid, "anything"))
    assert "does not write to the store" in reply.get_data(as_text=True)
    assert list_jobs(store) == [] and read_annotations(store, store.runs()[0])["tags"] == []
