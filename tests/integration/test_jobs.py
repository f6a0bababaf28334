"""Jobs: a form the command would refuse (or of the wrong type) records and starts nothing; a
job is a typed request run by its own worker process and recorded in the index; at most N
run at once, the rest queue; cancel stops a job's whole process group, losing only work in
flight, or says it could not; a process that reused a job's pid is never signalled."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from workbench.cli.parser import build_parser
from workbench.cli.train import train_request
from workbench.core.errors import UserError
from workbench.core.variant import parse_variant
from workbench.store import RunKey, Store
from workbench.store._proc import same_process, start_ticks
from workbench.store.index import connect, writing
from workbench.store.jobs import cancel, list_jobs
from workbench.ui import jobs as ui_jobs
from workbench.ui.jobs import from_form, submit

SPEC = "modular_addition:p=17,frac_train=0.5"
LONG = {"target": SPEC, "epochs": "100000", "schedule": "0:100000:20"}  # runs until cancelled


def _wait(store: Store, job_id: int, states: tuple[str, ...], timeout: float = 180, done: float = 0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = next(j for j in list_jobs(store) if j["id"] == job_id)
        if job["state"] in states and (job["progress"] or (0, 0))[0] >= done:
            return job
        time.sleep(0.5)
    raise AssertionError(f"job {job_id} is {job['state']} {job['progress']}")


def _running(pid: int) -> bool:
    """Whether process `pid` exists and has not ended (a zombie waiting to be reaped has)."""
    return same_process(pid, start_ticks(pid))


def _submit(store: Store, kind: str, values: dict) -> int:
    return submit(store, *from_form(kind, values))[0]


@pytest.mark.parametrize("kind, values, problem", [
    ("train", {"target": "modular_addition:p=18"}, "prime"),
    ("train", {"target": SPEC, "epochs": "-3"}, "positive whole number"),
    ("train", {"target": SPEC, "epochs": "1" * 23}, "at most 1,000,000,000"),  # never starts a job that fails
    ("train", {"target": SPEC, "recipe": "lr"}, "FIELD=VALUE"),
    ("train", {"target": SPEC, "schedule": "0:x"}, "schedule"),
    ("train", {"target": SPEC, "epochs": "10", "schedule": "0:20:5"}, "past the last epoch"),
    ("train", {"target": {"family": "modular_addition"}}, "target must be text, got dict"),
    ("train", {"target": SPEC, "recipe": ["lr=1"]}, "recipe must be text, got list"),
    ("train", {"target": SPEC, "schedule": 100}, "schedule must be text, got int"),
    ("train", {"target": SPEC, "epochs": 100}, "epochs must be text, got int"),
    ("analyze", {"target": SPEC, "analyzers": ["all"]}, "analyzers must be text, got list"),
    ("train", {"config": "../../etc/passwd"}, "not a config name"),
    ("train", {"config": "nosuch"}, "unknown config 'nosuch'"),
    ("extend", {"target": SPEC, "extra_epochs": "10"}, "no trained run"),
    ("extend", {"target": SPEC}, "extend the run by"),
    ("analyze", {"target": SPEC}, "no trained run"),
    ("sweep", {"target": "modular_addition:p=17|"}, "empty"),
    ("sweep", {"target": "modular_addition:p=17", "epochs": "0"}, "positive whole number"),
    ("delete", {"target": SPEC}, "unknown job kind"),
    (["train"], {"target": SPEC}, "unknown job kind"),
    ("train", {"target": "  "}, "give a variant"),
])
def test_a_refused_request_records_and_starts_nothing(tmp_path, kind, values, problem):
    store = Store(tmp_path / "store")
    with pytest.raises(UserError, match=problem):
        submit(store, *from_form(kind, values))
    assert not store.root.exists()


def test_a_job_never_reads_a_file_and_an_error_never_shows_one(tmp_path):
    secret = tmp_path / "credentials.yaml"
    secret.write_text("variant: modular_addition:p=17\naws_secret_access_key: AKIA-SECRET-VALUE\n")
    store = Store(tmp_path / "store")
    for kind, values in [("sweep", {"target": str(secret)}), ("train", {"config": str(secret)}),
                         ("train", {"target": str(secret)})]:
        with pytest.raises(UserError) as refused:
            submit(store, *from_form(kind, values))
        assert "AKIA" not in str(refused.value) and "aws_secret" not in str(refused.value)
    assert not store.root.exists()


def test_the_form_builds_the_request_the_command_line_builds():
    _, request = from_form("train", {"target": SPEC, "epochs": "300", "recipe": "lr=3e-3", "schedule": "0:300:100"})
    args = build_parser().parse_args(["train", SPEC, "--epochs", "300", "--set", "lr=3e-3", "--schedule", "0:300:100",
                                      "--quiet"])
    assert request == train_request(args)
    assert request.model_dump(mode="json")["epochs"] == 300  # a job row stores the typed request, not an argv


def test_cancel_then_a_rerun_resumes_and_a_killed_worker_reads_crashed(tmp_path):
    store = Store(tmp_path / "store")
    key = RunKey(*parse_variant(SPEC).key)
    job = _submit(store, "train", LONG)
    running = _wait(store, job, ("running",), done=40)
    assert running["pid"] != os.getpid() and running["runs"] == [f"{key.family}/{key.variant}"]
    assert running["pid_start"] == start_ticks(running["pid"]) and running["own_group"] == 1
    assert cancel(store, job) and not cancel(store, job)  # it has stopped when cancel returns; twice finds nothing
    assert not _running(running["pid"]) and _wait(store, job, ("cancelled",))["finished"]
    log = store.job_log_path(job).read_text()
    assert "interrupted; rerun the same command to resume" in log
    kept = store.checkpoint_epochs(key)
    assert kept and kept[-1] >= 40  # the checkpoints written before the cancel stay

    again = _submit(store, "train", LONG)
    resumed = _wait(store, again, ("running",), done=kept[-1] + 20)
    os.kill(resumed["pid"], signal.SIGKILL)
    assert _wait(store, again, ("crashed",))["state"] == "crashed"
    assert not cancel(store, again)  # nothing to stop: nothing signalled
    assert store.checkpoint_epochs(key)[0] == 0 and store.checkpoint_epochs(key)[-1] > kept[-1]  # resumed, went on


def test_at_most_n_jobs_run_the_rest_queue_and_a_full_queue_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv(ui_jobs.MAX_JOBS_ENV, "1")
    monkeypatch.setattr(ui_jobs, "MAX_QUEUED", 2)
    store = Store(tmp_path / "store")
    first = _submit(store, "train", LONG)
    second = _submit(store, "train", {**LONG, "target": "modular_addition:p=19,frac_train=0.5"})
    third = _submit(store, "train", {**LONG, "target": "modular_addition:p=23,frac_train=0.5"})
    with pytest.raises(UserError, match="2 jobs already wait"):
        _submit(store, "train", {**LONG, "target": "modular_addition:p=29,frac_train=0.5"})
    _wait(store, first, ("running",))
    states = {j["id"]: j["state"] for j in list_jobs(store)}
    assert states == {first: "running", second: "queued", third: "queued"}
    assert cancel(store, third)  # a queued job is just marked
    assert cancel(store, first)  # its worker starts the next queued job as it ends
    nxt = _wait(store, second, ("running",))
    assert cancel(store, second) and not _running(nxt["pid"])
    assert [j["state"] for j in list_jobs(store)] == ["cancelled"] * 3


def _job_row(store: Store, pid: int, pid_start: int | None, own_group: int) -> int:
    store.root.mkdir(parents=True, exist_ok=True)
    with connect(store) as conn, writing(conn):
        return conn.execute("INSERT INTO jobs (kind, target, args, runs, state, pid, pid_start, own_group, created, "
                            "started) VALUES ('train', 'x', '{}', '[]', 'running', ?, ?, ?, ?, ?)",
                            (pid, pid_start, own_group, time.time(), time.time())).lastrowid


def test_a_reused_pid_is_never_signalled(tmp_path):
    store = Store(tmp_path / "store")
    other = subprocess.Popen(["sleep", "60"], start_new_session=True)  # an unrelated process holding "the job's" pid
    try:
        job = _job_row(store, other.pid, start_ticks(other.pid) - 1, 1)  # recorded start: not this process's
        assert list_jobs(store)[0]["state"] == "crashed"
        assert not cancel(store, job)
        assert other.poll() is None  # still running: never signalled
        unverifiable = _job_row(store, other.pid, None, 1)  # a row from before start times were recorded
        with pytest.raises(UserError, match="cannot stop job .* start time was not recorded"):
            cancel(store, unverifiable)
        assert other.poll() is None and list_jobs(store)[0]["state"] == "running"  # marked as it was
    finally:
        other.kill()
        other.wait()


def test_cancel_stops_a_command_line_sweep_started_from_a_script_and_not_the_script(tmp_path):
    store = tmp_path / "store"
    script = (f"{sys.executable} -m workbench sweep 'modular_addition:p=17,frac_train=0.5' --epochs 100000 "
              f"--schedule 0:100000:50 --no-analyze --quiet --store {store}; echo \"sweep exit $?\"; echo script-went-on")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    shell = subprocess.Popen(["bash", "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and not (store.exists() and list_jobs(Store(store))):
            time.sleep(0.5)
        job = list_jobs(Store(store))[0]
        assert job["state"] == "running" and job["own_group"] == 0  # the script's group: not to be killed
        assert cancel(Store(store), job["id"])
        assert not _running(job["pid"])  # stopped when cancel returned
        out, err = shell.communicate(timeout=60)
        assert "sweep exit 130" in out and "script-went-on" in out, (out, err)
        assert list_jobs(Store(store))[0]["state"] == "cancelled"
    finally:
        if shell.poll() is None:
            shell.kill()
