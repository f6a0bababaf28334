"""A command-line sweep stopped like Ctrl-C reads "interrupted" (a rerun resumes), not "failed"."""

import pytest

from workbench.store import Store
from workbench.store.jobs import INTERRUPTED, cancel, claim, create, finish, list_jobs, recorded, take_slots


def _recorded_state(tmp_path, error: BaseException) -> dict:
    store = Store(tmp_path / "store")
    with pytest.raises(type(error)):
        with recorded(store, "sweep", "modular_addition:p=17", {}, []):
            raise error
    return list_jobs(store)[0]


def test_an_interrupt_reads_interrupted_with_how_to_resume(tmp_path):
    job = _recorded_state(tmp_path, KeyboardInterrupt())
    assert job["state"] == "interrupted" and "rerun the same command to resume" in job["error"]


def test_an_error_still_reads_failed(tmp_path):
    job = _recorded_state(tmp_path, ValueError("bad grid"))
    assert job["state"] == "failed" and job["error"] == "bad grid"


def test_a_worker_that_exits_130_is_interrupted_and_a_cancelled_job_stays_cancelled(tmp_path):
    store = Store(tmp_path / "store")
    store.root.mkdir()
    worked, dropped = (create(store, "train", "modular_addition:p=17", {}, []) for _ in range(2))
    assert take_slots(store, 2) == [worked, dropped]
    assert claim(store, worked) is not None  # this process is the worker (guarded() returned 130)
    finish(store, worked, INTERRUPTED, "workbench: interrupted; rerun the same command to resume")
    assert cancel(store, dropped)  # starting, no process yet: cancelled without a signal
    finish(store, dropped, INTERRUPTED, "late")
    states = {job["id"]: job["state"] for job in list_jobs(store)}
    assert states == {worked: "interrupted", dropped: "cancelled"}
