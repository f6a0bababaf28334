"""The tracebacks issues 24 and 33 found are one line now (exit 2; a system error such as a full
disk, exit 1, as every command reports one), and nothing is lost."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from tests.conftest import TINY_SPEC
from workbench.cli import main
from workbench.store import Store
from workbench.store._io import save_json

SPEC = "modular_addition:p=17,frac_train=0.5"


def _one_line(capsys, code: int, expected: int = 2) -> str:
    err = capsys.readouterr().err
    assert code == expected and err.count("\n") == 1 and "Traceback" not in err, (code, err[-2000:])
    return err


@pytest.fixture
def copy(tiny_analyzed, tmp_path) -> Store:
    shutil.copytree(tiny_analyzed.root, tmp_path / "store")
    return Store(tmp_path / "store")


def test_a_huge_pid_in_status_json_does_not_break_list(copy, capsys):
    key = copy.runs()[0]
    save_json({"job": "train", "state": "running", "done": 1, "total": 2, "pid": 2**70, "updated": time.time()},
              copy.status_path(key))  # OverflowError before
    assert main(["list", "--store", str(copy.root)]) == 0
    assert "interrupted" in capsys.readouterr().out


@pytest.mark.parametrize("clause", ["(" * 700 + "p=17" + ")" * 700, "not " * 490 + "p=17"])
def test_a_deeply_nested_where_is_one_line(copy, capsys, clause):
    assert len(clause) < 2000  # under the length limit: a RecursionError before
    line = _one_line(capsys, main(["list", "--where", clause, "--store", str(copy.root)]))
    assert "nested" in line


def _children(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        try:
            if entry.isdigit() and Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1] == str(pid):
                out.append(int(entry))
        except (OSError, IndexError):
            pass
    return out


def test_analyze_jobs_after_a_worker_is_killed_is_one_line(copy):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "workbench", "analyze", TINY_SPEC, "--jobs", "2", "--force",
                             "--quiet", "--store", str(copy.root)], stderr=subprocess.PIPE, text=True, env=env)
    deadline, killed = time.monotonic() + 120, False
    while time.monotonic() < deadline and proc.poll() is None and not killed:
        workers = [c for c in _children(proc.pid) if "spawn" in Path(f"/proc/{c}/cmdline").read_text(errors="replace")]
        if workers:
            os.kill(workers[0], 9)
            killed = True
        time.sleep(0.05)
    _, err = proc.communicate(timeout=300)
    assert killed, "no analysis worker appeared"
    errors = [ln for ln in err.splitlines() if "error" in ln]  # the other lines are its notices (skipped ...)
    assert proc.returncode == 2 and "Traceback" not in err and len(errors) == 1, err[-2000:]
    assert errors[0].startswith("workbench: error:") and "worker process died" in errors[0]
    assert main(["analyze", TINY_SPEC, "--quiet", "--store", str(copy.root)]) == 0  # a rerun finishes


def test_a_full_disk_during_train_is_one_line(tmp_path, capsys):
    mount = tmp_path / "small"
    mount.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=400k", "tmpfs", str(mount)],
                                           capture_output=True).returncode:
        pytest.skip("cannot mount a small tmpfs here (needs root and CAP_SYS_ADMIN)")
    try:
        code = main(["train", SPEC, "--epochs", "200", "--schedule", "0:200:10", "--quiet",
                     "--store", str(mount / "store")])  # a SafetensorError traceback before
        assert "No space left on device" in _one_line(capsys, code, expected=1)
        leftovers = [p for p in (mount / "store").rglob("*") if p.name.startswith(".") and "tmp" in p.name]
        assert leftovers == []  # no half-written file left behind
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def test_safetensors_own_temp_file_is_cleaned_up(copy):
    key = copy.runs()[0]
    litter = copy.checkpoint_dir(key) / ".tmpAb3dE9"  # what safetensors' save_file left when killed mid-write
    litter.write_bytes(b"half a checkpoint")
    old = time.time() - 3600
    os.utime(litter, (old, old))
    assert litter in copy.stale_temp_files(key)
    assert main(["train", TINY_SPEC, "--extra-epochs", "10", "--quiet", "--store", str(copy.root)]) == 0
    assert not litter.exists()


@pytest.mark.parametrize("tensor", ["model.", "optim.exp_avg."])
def test_a_wrong_shape_in_the_resume_file_is_one_line(copy, capsys, tensor):
    key = copy.runs()[0]
    path = copy.resume_path(key)
    with safe_open(str(path), "pt") as f:
        meta = f.metadata()
    tensors = load_file(path)
    name = next(k for k in tensors if k.startswith(tensor))
    tensors[name] = torch.zeros(3, 3)
    save_file(tensors, path, metadata=meta)
    before = sorted(p.name for p in copy.checkpoint_dir(key).iterdir())
    line = _one_line(capsys, main(["train", TINY_SPEC, "--extra-epochs", "10", "--store", str(copy.root)]))
    assert "corrupt file" in line and name in line and "(3, 3)" in line
    assert sorted(p.name for p in copy.checkpoint_dir(key).iterdir()) == before
