"""Corrupt store files (issue 9, item 3): every command names the file and the problem in one
line and never tracebacks. `list` shows the run as damaged and goes on; `report` leaves out
what needs the file and says so; commands that cannot go on exit 2.

Each case damages one file of a private copy of the tiny analyzed store: truncated, garbage
bytes, or (for JSON) a valid document of the wrong shape.
"""

from __future__ import annotations

import json
import os
import shutil

import pytest

from tests.conftest import TINY_EPOCHS, TINY_SCHEDULE, TINY_SPEC
from workbench.cli import main
from workbench.core.variant import parse_variant

RUN = "/".join(parse_variant(TINY_SPEC).key)
LAST = f"epoch_{TINY_EPOCHS:06d}"

DAMAGE = {
    "truncated": lambda raw: raw[: len(raw) // 2],
    "garbage": lambda raw: bytes((7 * i + 13) % 256 for i in range(max(64, len(raw) // 4))),
    "empty": lambda raw: b"",
    "[]": lambda raw: b"[]",
    "{}": lambda raw: b"{}",
    "wrong types": lambda raw: json.dumps({"variant": 5, "epochs": "many", "state": "running", "done": "many",
                                           "pid": "x"}).encode(),
}
JSON_DAMAGE = ["truncated", "garbage", "[]", "{}", "wrong types"]
BINARY_DAMAGE = ["truncated", "garbage", "empty"]

# file (under the run dir) -> the kinds of damage to try on it
FILES = {
    "variant.json": JSON_DAMAGE,
    "status.json": ["truncated", "[]", "wrong types"],
    "metrics.npz": BINARY_DAMAGE,
    "resume.safetensors": ["truncated", "garbage"],
    f"checkpoints/{LAST}.safetensors": ["truncated", "garbage"],
    "analysis/turn/summary.npz": ["truncated", "garbage"],
    "analysis/param_pca/summary.npz": ["truncated"],
    f"analysis/restricted_loss/{LAST}.npz": ["truncated"],
    f"analysis/neuron_activations/{LAST}.npz": ["truncated"],
}
CASES = [(f, how) for f, hows in FILES.items() for how in hows]

# what each command reads: a file it never opens cannot make it fail
READS = {
    "list": {"variant.json", "status.json", "metrics.npz", "analysis/turn/summary.npz"},
    "report": {"variant.json", "metrics.npz", "analysis/turn/summary.npz", "analysis/param_pca/summary.npz",
               f"analysis/restricted_loss/{LAST}.npz", f"analysis/neuron_activations/{LAST}.npz"},
}


def _damaged_store(tiny_analyzed, tmp_path, name: str, how: str):
    root = tmp_path / "store"
    shutil.copytree(tiny_analyzed.root, root)
    path = root / RUN / name
    path.write_bytes(DAMAGE[how](path.read_bytes()))
    return root, path


def _run(argv: list[str], capsys) -> tuple[int, str, str]:
    """`workbench argv` in-process; any exception other than a clean exit fails the test."""
    try:
        code = main(argv)
    except SystemExit as exit_:
        code = exit_.code
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def _run_lines(out: str) -> list[str]:
    """The run lines of `workbench list --long` (after the line naming the store)."""
    return out.split("variants in ", 1)[1].splitlines()[1:]


def _names(text: str, path) -> bool:
    return str(path) in text


@pytest.mark.parametrize("name, how", CASES)
def test_list_shows_the_run_as_damaged_and_goes_on(name, how, tiny_analyzed, tmp_path, capsys):
    root, path = _damaged_store(tiny_analyzed, tmp_path, name, how)
    code, out, err = _run(["list", "--long", "--store", str(root)], capsys)
    assert code == 0, err
    run_lines = _run_lines(out)
    assert len(run_lines) == 1, out  # the run is listed, damaged or not
    if name in READS["list"]:
        assert "damaged: corrupt file" in run_lines[0] and _names(run_lines[0], path), run_lines[0]
    else:
        assert "damaged" not in run_lines[0] and "epochs 200/200" in run_lines[0]


def test_list_goes_on_past_a_damaged_run(tiny_analyzed, tmp_path, capsys):
    root, path = _damaged_store(tiny_analyzed, tmp_path, "metrics.npz", "truncated")
    other = root / RUN.replace("frac_train=0.5", "frac_train=0.6")
    shutil.copytree(root / RUN, other)
    shutil.copy2(tiny_analyzed.metrics_path(parse_variant(TINY_SPEC).key), other / "metrics.npz")
    code, out, _ = _run(["list", "--long", "--store", str(root)], capsys)
    lines = _run_lines(out)
    assert code == 0 and len(lines) == 2
    assert sum("damaged" in line for line in lines) == 1 and any("test acc" in line for line in lines)


# a report takes seconds: one kind of damage per file (the loaders' unit tests cover every kind),
# every kind for variant.json, where the report stops before any work
REPORT_CASES = [(f, hows[0]) for f, hows in FILES.items()] + [("variant.json", how) for how in JSON_DAMAGE[1:]]


@pytest.mark.parametrize("name, how", REPORT_CASES)
def test_report_leaves_out_what_a_corrupt_file_breaks(name, how, tiny_analyzed, tmp_path, capsys):
    root, path = _damaged_store(tiny_analyzed, tmp_path, name, how)
    out_file = tmp_path / "report.html"
    code, out, err = _run(["report", TINY_SPEC, "--store", str(root), "--out", str(out_file), "--quiet"], capsys)
    lines = err.strip().splitlines()
    if name == "variant.json":  # the run's record: the report cannot go on
        assert code == 2 and len(lines) == 1 and lines[0].startswith("workbench: error: corrupt file"), err
        assert _names(lines[0], path) and not out_file.exists()
        return
    assert code == 0, err
    page = out_file.read_text(encoding="utf-8")
    if name in READS["report"]:
        assert len(lines) == 1 and _names(lines[0], path) and "leaves out" in lines[0], err
        assert "Left out: files that could not be read" in page and str(path) in page
    else:
        assert not lines and "Left out" not in page, err


def test_report_keeps_the_sections_it_can_draw(tiny_analyzed, tmp_path, capsys):
    root, path = _damaged_store(tiny_analyzed, tmp_path, "analysis/param_pca/summary.npz", "truncated")
    out_file = tmp_path / "report.html"
    assert _run(["report", TINY_SPEC, "--store", str(root), "--out", str(out_file), "--quiet"], capsys)[0] == 0
    page = out_file.read_text(encoding="utf-8")
    assert "<h3>loss_curves</h3>" in page and "<h3>pca_trajectory</h3>" not in page
    assert "left out: pca_trajectory" in page


def test_report_shows_progress_unless_quiet(tiny_analyzed, tmp_path, capsys):
    out_file = tmp_path / "report.html"
    code, _, err = _run(["report", TINY_SPEC, "--store", str(tiny_analyzed.root), "--out", str(out_file)], capsys)
    assert code == 0 and "report:" in err and "figure" in err  # the tqdm bar, on stderr


# ------------------------------------------------------- train and analyze (coordinator's code)
# These commands read what trainer.py and analysis.py read; the rule is the same: no traceback,
# and a refusal is one line naming the file.
def _assert_rule(code: int, out: str, err: str, path) -> None:
    assert code in (0, 2), (code, err[-2000:])
    if code == 2:
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("workbench: error:") and _names(lines[0], path), err


@pytest.mark.parametrize("name, how", CASES)
def test_analyze_never_tracebacks(name, how, tiny_analyzed, tmp_path, capsys):
    root, path = _damaged_store(tiny_analyzed, tmp_path, name, how)
    _assert_rule(*_run(["analyze", TINY_SPEC, "--store", str(root), "--quiet"], capsys), path)


TRAIN_ARGS = ["--epochs", str(TINY_EPOCHS), "--schedule", TINY_SCHEDULE, "--eval-every", "25", "--quiet"]


TRAIN_CASES = [c for c in CASES if c[0] in ("variant.json", "metrics.npz", "resume.safetensors", "status.json")]


@pytest.mark.parametrize("name, how", TRAIN_CASES)
def test_train_rerun_never_tracebacks(name, how, tiny_analyzed, tmp_path, capsys):
    root, path = _damaged_store(tiny_analyzed, tmp_path, name, how)
    _assert_rule(*_run(["train", TINY_SPEC, "--store", str(root), *TRAIN_ARGS], capsys), path)


@pytest.mark.parametrize("name, how", TRAIN_CASES)
def test_train_extend_never_tracebacks(name, how, tiny_analyzed, tmp_path, capsys):
    root, path = _damaged_store(tiny_analyzed, tmp_path, name, how)
    _assert_rule(*_run(["train", TINY_SPEC, "--store", str(root), "--extra-epochs", "50", "--quiet"], capsys), path)


# ------------------------------------------------------------ what a kill -9 leaves behind
def test_a_running_status_whose_process_is_gone_reads_as_interrupted():
    import subprocess
    import time

    from workbench.store.record import job_state

    now = time.time()
    assert job_state({"state": "running", "pid": os.getpid(), "updated": now}) == "running"
    assert job_state({"state": "running", "pid": os.getpid(), "updated": now - 10 * 365 * 86400}) == "interrupted"
    gone = subprocess.Popen(["true"])  # a pid that existed and is gone now
    gone.wait()
    assert job_state({"state": "running", "pid": gone.pid, "updated": now}) == "interrupted"
    assert job_state({"state": "running", "updated": now}) == "running"  # no pid recorded: taken at its word
    assert job_state({"state": "done", "pid": gone.pid}) == "done"


def test_list_shows_a_killed_train_as_interrupted(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    store = tmp_path / "store"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    job = subprocess.Popen([sys.executable, "-m", "workbench", "train", TINY_SPEC, "--epochs", "100000",
                            "--schedule", "0:100000:20", "--store", str(store), "--quiet"], env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    status = store / RUN / "status.json"
    try:
        deadline = time.time() + 120
        while not (status.exists() and json.loads(status.read_text()).get("done", 0) >= 20):
            assert time.time() < deadline and job.poll() is None, "train did not start"
            time.sleep(0.2)
    finally:
        job.send_signal(signal.SIGKILL)
        job.wait()
    assert json.loads(status.read_text())["state"] == "running"  # what the killed job left
    listing = subprocess.run([sys.executable, "-m", "workbench", "list", "--long", "--store", str(store)], env=env,
                             capture_output=True, text=True, timeout=120)
    line = listing.stdout.split("variants in ", 1)[1].splitlines()[1]
    assert listing.returncode == 0 and "interrupted: train at " in line and "/100000" in line, line
    assert f"rerun `workbench train {parse_variant(TINY_SPEC).spec}` to resume" in line
