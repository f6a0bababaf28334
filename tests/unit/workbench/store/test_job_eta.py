"""`workbench jobs` (issue 30): a running job shows its time estimate, in text and in --json
(the runs' own eta_s from status.json, counted down since written; else the job's pace)."""

from __future__ import annotations

import json
import re
import time

from workbench.cli import main
from workbench.store import Store
from workbench.store.jobs import _pace, list_jobs, recorded
from workbench.testing.synthetic import listed_run


def _jobs(capsys, store: Store, *flags: str) -> str:
    assert main(["jobs", "--store", str(store.root), *flags]) == 0
    return capsys.readouterr().out


def test_a_running_job_shows_its_runs_estimate_and_a_finished_one_none(tmp_path, capsys):
    store = Store(tmp_path / "store")
    key = listed_run(store, "modular_addition:p=17")
    with recorded(store, "train", "modular_addition:p=17", {}, [f"{key.family}/{key.variant}"]) as job_id:
        store.write_status(key, 120, 300, "running", eta_s=65.0)
        text = _jobs(capsys, store)
        assert re.search(rf"^\s*{job_id}\s+train\s+running\s+120/300 \(40%\) ~01:0[45] left\s+modular_addition", text,
                         re.M), text
        (record,) = json.loads(_jobs(capsys, store, "--json"))
        assert record["progress"] == [120, 300] and 60 <= record["eta_s"] <= 65
    (done,) = list_jobs(store)
    assert done["state"] == "done" and done["eta_s"] is None and "left" not in _jobs(capsys, store)


def test_an_estimate_counts_down_from_when_it_was_written(tmp_path):
    store = Store(tmp_path / "store")
    key = listed_run(store, "modular_addition:p=17")
    with recorded(store, "train", "p17", {}, [f"{key.family}/{key.variant}"]):
        time.sleep(3)  # the status must still be written after the job was queued
        store.write_status(key, 10, 300, "running", eta_s=50.0)
        status = json.loads(store.status_path(key).read_text())
        store.status_path(key).write_text(json.dumps(status | {"updated": status["updated"] - 2.5}))
        (job,) = list_jobs(store)
        assert 45 <= job["eta_s"] <= 47.5  # 50 s estimated 2.5 s ago


def test_without_the_runs_estimate_the_pace_so_far_gives_one():
    row = {"started": time.time() - 10.0}
    assert abs(_pace(row, 100, 300) - 20.0) < 1.0  # a third done in 10 s: 20 s to go
    assert _pace(row, 0, 300) is None and _pace(row, 300, 300) is None and _pace({"started": None}, 1, 3) is None
