"""`workbench sweep`: 4 variants in 2 stacked groups, locally and as Ray tasks on a local
cluster; the Ray run writes what the local run writes, a killed worker loses only its
group's work in flight, and re-running the sweep completes it."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from workbench.cli import main
from workbench.store import Store
from workbench.store._io import load_json, load_npz, load_safetensors, safetensors_metadata

SPEC = "modular_addition:p=17|19,seed=0-1,frac_train=0.5"
PLAN = ["--epochs", "300", "--schedule", "0:300:50", "--eval-every", "25", "--analyzers", "loss_accuracy,turn", "--quiet"]
VOLATILE = {"status.json", "clock.npz", ".train.lock", ".analyze.lock"}  # pids and times: differ between any two runs


def _files(root: Path) -> dict[str, Path]:
    return {str(p.relative_to(root)): p for p in sorted(root.rglob("*"))
            if p.is_file() and p.name not in VOLATILE and not p.name.startswith("index.sqlite")}


def _same(a: Path, b: Path) -> bool:
    """Same content: tensors and metadata for safetensors (the header's key order is not
    fixed), arrays and metadata for .npz, the document for JSON."""
    if a.suffix == ".safetensors":
        ta, tb = load_safetensors(a), load_safetensors(b)
        return (safetensors_metadata(a) == safetensors_metadata(b) and ta.keys() == tb.keys()
                and all(torch.equal(ta[k], tb[k]) for k in ta))
    if a.suffix == ".npz":
        (xa, ma), (xb, mb) = load_npz(a, with_metadata=True), load_npz(b, with_metadata=True)
        return ma == mb and xa.keys() == xb.keys() and all(
            np.array_equal(xa[k], xb[k], equal_nan=xa[k].dtype.kind in "fc") for k in xa)  # a NaN marker is "none"
    if a.suffix == ".json":
        return load_json(a) == load_json(b)
    return a.read_bytes() == b.read_bytes()


def _assert_same_store(local: Path, other: Path) -> None:
    fa, fb = _files(local), _files(other)
    assert fa.keys() == fb.keys()
    different = [name for name in fa if not _same(fa[name], fb[name])]
    assert not different, different[:5]


@pytest.fixture(scope="module")
def local_sweep(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("local")
    assert main(["sweep", SPEC, "--store", str(root), *PLAN]) == 0
    return root


def test_local_sweep_trains_groups_then_analyzes_and_is_idempotent(local_sweep, capsys):
    store = Store(local_sweep)
    assert len(store.runs()) == 4
    for key in store.runs():
        assert store.checkpoint_epochs(key) == [0, 50, 100, 150, 200, 250, 300]
        assert {"loss_accuracy", "turn"} <= set(store.analyzers_done(key))
        assert store.read_record(key).stacked is True
    capsys.readouterr()
    before = {name: p.stat().st_mtime_ns for name, p in _files(local_sweep).items()}
    assert main(["sweep", SPEC, "--store", str(local_sweep), *PLAN]) == 0
    out = capsys.readouterr().out
    assert out.count("0 trained now") == 2 and "groups done 2/2, running 0, failed 0" in out
    assert {name: p.stat().st_mtime_ns for name, p in _files(local_sweep).items()} == before  # nothing rewritten
    from workbench.store.jobs import list_jobs

    history = list_jobs(store)  # each sweep is a job in the run index, with the runs it covers
    assert [(j["kind"], j["state"], len(j["runs"])) for j in history] == [("sweep", "done", 4)] * 2


def test_dry_run_names_the_groups(capsys):
    assert main(["sweep", SPEC, "--dry-run"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and all(line.endswith(" x2") for line in lines)


@pytest.mark.parametrize("spec, problem", [
    ("modular_addition:p=17|18", "must be prime"),
    ("modular_addition:p=17|", "empty"),
    ("modular_addition:seed=3-1", "A <= B"),
    ("modular_addition:nosuch=1|2", "unknown parameter"),
    ("modular_addition:r.lr=x", "not a plain decimal number"),
    ("modular_addition:seed=0-99999", "more than"),
])
def test_a_malformed_sweep_is_one_line_exit_2_nothing_written(spec, problem, tmp_path, capsys):
    assert main(["sweep", spec, "--store", str(tmp_path / "s"), "--epochs", "10"]) == 2
    err = capsys.readouterr().err.strip()
    assert problem in err and "\n" not in err and not (tmp_path / "s").exists()


def test_a_malformed_sweep_file_is_one_line(tmp_path, capsys):
    for body in ("variant: [1\n", "- a list\n", "variant: modular_addition\nbogus: 1\n",
                 "variant: modular_addition\nparams: {p: [17, {x: 1}]}\n"):
        path = tmp_path / "sweep.yaml"
        path.write_text(body)
        assert main(["sweep", str(path), "--store", str(tmp_path / "s")]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("workbench: error:") and "\n" not in err and not (tmp_path / "s").exists()


# ------------------------------------------------------------------------------ Ray
@pytest.fixture(scope="module")
def ray_cluster():
    ray = pytest.importorskip("ray")
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    yield ray
    ray.shutdown()


def test_ray_sweep_writes_what_the_local_sweep_writes(ray_cluster, local_sweep, tmp_path, capsys):
    assert main(["sweep", SPEC, "--backend", "ray", "--store", str(tmp_path), *PLAN]) == 0
    assert "groups done 2/2, running 0, failed 0" in capsys.readouterr().out
    _assert_same_store(local_sweep, tmp_path)


def _running_worker(store: Store) -> int | None:
    """The pid of a Ray worker training a member past its first checkpoint, if any."""
    for key in store.runs():
        try:
            status = load_json(store.status_path(key))
        except Exception:
            continue
        if status.get("state") == "running" and status.get("done", 0) >= 50 and status.get("pid") != os.getpid():
            return int(status["pid"])
    return None


def test_a_killed_worker_loses_only_its_group_and_a_rerun_completes(ray_cluster, local_sweep, tmp_path, capsys):
    codes: list[int] = []
    argv = ["sweep", SPEC, "--backend", "ray", "--retries", "0", "--store", str(tmp_path), *PLAN]
    sweep = threading.Thread(target=lambda: codes.append(main(argv)))
    sweep.start()
    deadline, pid = time.monotonic() + 120, None
    while pid is None and time.monotonic() < deadline and sweep.is_alive():
        time.sleep(0.2)
        pid = _running_worker(Store(tmp_path))
    assert pid is not None, "no worker was seen training"
    os.kill(pid, signal.SIGKILL)
    sweep.join(timeout=300)
    out, err = capsys.readouterr()
    assert codes == [2] and "1 of 2 sweep groups failed" in err and "worker was lost" in out
    assert main(argv) == 0  # the rerun resumes the killed group and skips the finished one
    out = capsys.readouterr().out
    assert "groups done 2/2, running 0, failed 0" in out and "0 trained now" in out
    store = Store(tmp_path)
    for key in store.runs():
        assert store.checkpoint_epochs(key)[-1] == 300 and "turn" in store.analyzers_done(key)
    _assert_same_store(local_sweep, tmp_path)  # resumed exactly: the same files as an uninterrupted run
