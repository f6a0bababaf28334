"""Jobs: a request the command would refuse records and starts nothing; a job runs in its
own worker process and is recorded in the index; cancel stops it, losing only work in
flight; a worker killed with -9 reads as crashed."""

from __future__ import annotations

import os
import signal
import time

import pytest

from workbench.core.errors import UserError
from workbench.core.variant import parse_variant
from workbench.store import RunKey, Store
from workbench.store.jobs import cancel, list_jobs
from workbench.ui.jobs import job_argv, submit

SPEC = "modular_addition:p=17,frac_train=0.5"


def _wait(store: Store, job_id: int, states: tuple[str, ...], timeout: float = 180, done: float = 0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = next(j for j in list_jobs(store) if j["id"] == job_id)
        if job["state"] in states and (job["progress"] or (0, 0))[0] >= done:
            return job
        time.sleep(0.5)
    raise AssertionError(f"job {job_id} is {job['state']} {job['progress']}")


@pytest.mark.parametrize("kind, target, options, problem", [
    ("train", "modular_addition:p=18", {}, "prime"),
    ("train", SPEC, {"epochs": "-3"}, "positive whole number"),
    ("train", SPEC, {"recipe": "lr"}, "FIELD=VALUE"),
    ("train", SPEC, {"schedule": "0:x"}, "schedule"),
    ("extend", SPEC, {"extra_epochs": "10"}, "no trained run"),
    ("analyze", SPEC, {}, "no trained run"),
    ("sweep", "modular_addition:p=17|", {}, "empty"),
    ("delete", SPEC, {}, "unknown job kind"),
    ("train", "  ", {}, "give a variant"),
])
def test_a_refused_request_records_and_starts_nothing(tmp_path, kind, target, options, problem):
    store = Store(tmp_path / "store")
    with pytest.raises(UserError, match=problem):
        submit(store, kind, target, options)
    assert not store.root.exists()


def test_job_argv_is_the_command_line():
    store = Store("/nonexistent/store")
    argv, runs = job_argv(store, "train", SPEC, {"epochs": "300", "recipe": "lr=3e-3"})
    variant = parse_variant(SPEC, recipe={"lr": "3e-3"})
    assert argv == ["train", variant.spec, "--epochs=300", "--store", "/nonexistent/store", "--quiet"]
    assert runs == [f"{variant.family.name}/{variant.dir_name}"]
    argv, runs = job_argv(store, "sweep", "modular_addition:p=17|19,seed=0-1", {})
    assert argv[:2] == ["sweep", "modular_addition:p=17|19,seed=0-1"] and len(runs) == 4


def test_cancel_then_a_rerun_resumes_and_a_killed_worker_reads_crashed(tmp_path):
    store = Store(tmp_path / "store")
    key = RunKey(*parse_variant(SPEC).key)
    job = submit(store, "train", SPEC, {"epochs": "100000", "schedule": "0:100000:20"})
    running = _wait(store, job, ("running",), done=40)
    assert running["pid"] != os.getpid() and running["runs"] == [f"{key.family}/{key.variant}"]
    assert cancel(store, job) and not cancel(store, job)  # a second cancel finds nothing to cancel
    stopped = _wait(store, job, ("cancelled",))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and os.path.exists(f"/proc/{running['pid']}"):
        time.sleep(0.2)
    assert not os.path.exists(f"/proc/{running['pid']}") and stopped["finished"]
    log = store.job_log_path(job).read_text()
    assert "interrupted; rerun the same command to resume" in log
    kept = store.checkpoint_epochs(key)
    assert kept and kept[-1] >= 40  # the checkpoints written before the cancel stay

    again = submit(store, "train", SPEC, {"epochs": "100000", "schedule": "0:100000:20"})
    resumed = _wait(store, again, ("running",), done=kept[-1] + 20)
    os.kill(resumed["pid"], signal.SIGKILL)
    assert _wait(store, again, ("crashed",))["state"] == "crashed"
    assert store.checkpoint_epochs(key)[0] == 0 and store.checkpoint_epochs(key)[-1] > kept[-1]  # resumed, went on
