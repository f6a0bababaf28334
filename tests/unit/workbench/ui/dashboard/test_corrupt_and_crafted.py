"""No 500s: corrupt store files and crafted requests get a message or no update (issue 9, item 5).

Each server callback is called through Dash's real HTTP endpoint (Flask's test client), so
what is checked is what a browser, or anyone, would get back.
"""

from __future__ import annotations

import json
import math
import shutil
import time

import pytest

from workbench.store import Store
from workbench.store._io import save_json
from workbench.testing.synthetic import synthetic_run
from workbench.ui.dashboard import callbacks, compare, create_app, data, runs
from workbench.ui.dashboard.groups import GROUPS

CRAFTED = ["abc", math.inf, -math.inf, math.nan, [], {"x": 1}, True, -3, 1e308, None, "9" * 60, ["a", 1]]


@pytest.fixture()
def damaged(tmp_path):
    """A store whose files we are free to damage (a fresh copy for each test)."""
    store = Store(tmp_path / "store")
    key = synthetic_run(store, p=7, epochs=[0, 100, 200], n_neurons=12, n_heads=2)
    data.clear_caches()
    yield store, key
    data.clear_caches()


def _damage(path, how: str) -> None:
    if how == "truncated":
        path.write_bytes(path.read_bytes()[: max(1, path.stat().st_size // 2)])
    elif how == "garbage":
        path.write_bytes(b"\x00not a zip\xff" * 10)
    elif how == "empty":
        path.write_bytes(b"")
    else:  # a directory where a file should be
        path.unlink()
        path.mkdir()


def _callbacks(app) -> list[tuple[str, dict]]:
    return [(k, v) for k, v in app.callback_map.items() if "callback" in v]  # server-side ones only


def _body(output: str, spec: dict, values: dict) -> dict:
    outs = [o.rsplit(".", 1) for o in output.strip(".").split("...")] if output.startswith("..") else \
        [output.split("@")[0].rsplit(".", 1)]
    ids = lambda items: [{"id": i["id"], "property": i["property"], "value": values.get(i["id"])} for i in items]  # noqa
    return {"output": output, "outputs": [{"id": i, "property": p} for i, p in outs] if len(outs) > 1 else
            {"id": outs[0][0], "property": outs[0][1]}, "inputs": ids(spec["inputs"]), "state": ids(spec["state"]),
            "changedPropIds": [f"{spec['inputs'][0]['id']}.{spec['inputs'][0]['property']}"]}


def _post(client, body) -> int:
    return client.post("/_dash-update-component", data=json.dumps(body), content_type="application/json").status_code


@pytest.mark.parametrize("file, how", [
    ("metrics", "truncated"), ("metrics", "garbage"), ("neuron_activations", "truncated"),
    ("neuron_activations", "garbage"), ("turn", "truncated"), ("turn", "empty"), ("neuron_freq_clusters", "garbage"),
    ("weight_trajectory", "dir"), ("status", "garbage"),
])
def test_every_callback_answers_with_corrupt_files(damaged, file, how):
    store, key = damaged
    save_json({"job": "train", "state": "running", "done": 1, "total": 2, "updated": time.time()},
              store.status_path(key))
    paths = {"metrics": store.metrics_path(key), "status": store.status_path(key),
             "neuron_activations": store.artifact_path(key, "neuron_activations", 200),
             "neuron_freq_clusters": store.artifact_path(key, "neuron_freq_clusters", 200),
             "turn": store.summary_path(key, "turn"), "weight_trajectory": store.summary_path(key, "weight_trajectory")}
    _damage(paths[file], how)
    app = create_app(store)
    client = app.server.test_client()
    vid = data.variant_id(key)
    values = {"url": f"?variant={vid}", "variant": vid, "epoch": 2, "epochs": {"epochs": [0, 100, 200]},
              "opt-neuron": 3, "opt-head": 1, "opt-scale": "neuron", "groups": [g.gid for g in GROUPS], "drawn": {},
              "compare-variants": [vid],
              "compare-align": "turn"}
    for output, spec in _callbacks(app):
        for path in ("/", "/compare", "/runs"):
            values["url"] = path if spec["inputs"][-1]["property"] == "pathname" else values["url"]
            assert _post(client, _body(output, spec, values)) < 500, (output[:60], file, how)
    assert client.get("/").status_code == 200


@pytest.mark.parametrize("value", CRAFTED)
def test_crafted_values_on_every_input_never_500(store, value):
    app = create_app(store)
    client = app.server.test_client()
    vid = data.variant_id(store.runs()[0])
    for output, spec in _callbacks(app):
        for target in spec["inputs"] + spec["state"]:
            values = {"variant": vid, "epoch": 1, "epochs": {"epochs": [0, 100]}, "groups": ["neurons"],
                      target["id"]: value}
            assert _post(client, _body(output, spec, values)) < 500, (output[:60], target, value)


@pytest.mark.parametrize("done, total, updated", [
    ("3", 4, time.time()), (3, "four", None), (None, None, "yesterday"), (math.inf, 0, -1e300), (True, [], {}),
])
def test_runs_page_survives_odd_status_types(damaged, done, total, updated):
    store, key = damaged
    save_json({"job": ["x"], "state": 7, "done": done, "total": total, "updated": updated}, store.status_path(key))
    row = runs.run_rows(store)[0]
    assert row["variant"] == key.variant and isinstance(row["job"], str)


def test_runs_page_shows_progress(damaged):
    store, key = damaged
    save_json({"job": "analyze", "state": "running", "done": 3, "total": 4, "updated": time.time()},
              store.status_path(key))
    row = runs.run_rows(store)[0]
    assert row["job"] == "analyze running 3/4 (75%)" and row["checkpoints"].startswith("3")


def test_runs_page_reads_the_index_and_says_interrupted_and_damaged(damaged):
    import subprocess
    import sys

    store, key = damaged
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    save_json({"job": "train", "state": "running", "done": 400, "total": 1000, "pid": int(dead.stdout),
               "updated": time.time() - 10}, store.status_path(key))
    row = runs.run_rows(store)[0]
    assert row["job"] == "train interrupted 400/1000 (40%)" and row["epochs"] == 200
    assert store.index_path().exists()  # the rows went through the run index, as `list` reads them
    store.status_path(key).write_text("{not json")
    time.sleep(2.1)  # past the index's racy window, so the damaged status is read from the index's row
    rows = runs.run_rows(store)
    assert rows[0]["job"] == "damaged files (hover)" and "status.json" in runs.tooltips(rows)[0]["job"]
    assert rows[0]["analyzers"] == len(store.analyzers_done(key))
    assert runs.tooltips(rows)[0]["analyzers"] == ", ".join(store.analyzers_done(key))


def test_corrupt_artifact_panel_says_which_file(damaged):
    store, key = damaged
    _damage(store.artifact_path(key, "embedding_fourier", 200), "truncated")
    out = callbacks.panel_outputs(store, data.variant_id(key), 2, {"epochs": [0, 100, 200]}, {}, ["embeddings"], {})
    text = json.dumps(out, default=lambda o: o.to_plotly_json() if hasattr(o, "to_plotly_json") else str(o))
    assert "epoch_000200.npz" in text and "--force" in text


def test_compare_and_table_with_corrupt_files(damaged):
    store, key = damaged
    _damage(store.metrics_path(key), "garbage")
    _damage(store.summary_path(key, "dimensionality_trajectory"), "truncated")
    figs = compare.compare_figures(store, [data.variant_id(key)], "epoch")
    assert all(cls == "panel empty" for _, _, cls in figs[:2])  # no metrics: said, not drawn
    assert compare.summary_rows(store, store.runs())[0]["test_acc"] == ""


def test_empty_or_missing_store_says_what_to_run(tmp_path):
    from workbench.ui.dashboard.layout import store_problem

    missing = Store(tmp_path / "nope")
    assert "does not exist" in store_problem(missing) and f"--store {missing.root}" in store_problem(missing)
    (tmp_path / "empty").mkdir()
    assert "no runs" in store_problem(Store(tmp_path / "empty"))
    client = create_app(missing).server.test_client()
    assert client.get("/").status_code == 200
    layout = client.get("/_dash-layout").get_data(as_text=True)
    assert "does not exist" in layout and "workbench demo" in layout
    shutil.rmtree(tmp_path / "empty")
