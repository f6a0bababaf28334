"""Bad input on the command line: one line on stderr, `workbench: error: ...`, exit status 2,
nothing written (issue 9, item 4). Run in-process through `workbench.cli.main` (fast), and a
few through a real subprocess to prove no traceback reaches the user."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from tests.conftest import TINY_SPEC
from workbench.cli import main

SPEC = "modular_addition:p=17"
HUGE_P_PRIME = "1000000000000000003"  # a prime near 10^18: the bound must refuse it before any primality test


def _tree(root) -> list[tuple[str, int, int]]:
    """Every path under `root` with its size and mtime, to prove a command wrote nothing."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        for name in sorted(dirnames + filenames):
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            out.append((os.path.relpath(path, root), st.st_size, st.st_mtime_ns))
    return sorted(out)


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """An empty working directory holding a file and a folder for the --out cases; cwd is it,
    so that a command that fell back to the current directory would show up in the snapshot."""
    (tmp_path / "afile").write_text("not a folder")
    (tmp_path / "adir").mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("WORKBENCH_STORE", raising=False)
    return tmp_path


def _refused(argv: list[str], capsys, root) -> str:
    """Run `workbench argv`; assert exit 2, one `workbench...: error:` line, nothing written; return it."""
    before = _tree(root)
    try:
        code = main(argv)
    except SystemExit as exit_:  # argparse usage errors exit from inside parse_args
        code = exit_.code
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert code == 2, (argv, code, out[-500:], err[-2000:])
    assert len(lines) == 1 and lines[0].startswith("workbench") and ": error: " in lines[0], err
    assert _tree(root) == before, f"{argv} wrote files"
    return lines[0]


STORE = ["--store", "store"]  # relative to the working directory; never created
CASES = [
    # train: variants
    (["train", ""], "empty VARIANT"),
    (["train", "  "], "empty VARIANT"),
    (["train", "modular_addition:seed=1180591620717411303424"], "'seed'"),  # 2**70
    (["train", "modular_addition:data_seed=-1"], "'data_seed'"),
    (["train", "modular_addition:p=100003"], "less than or equal to 1000"),
    (["train", f"modular_addition:p={HUGE_P_PRIME}"], "less than or equal to 1000"),
    (["train", "modular_addition:p=15"], "p must be prime"),
    (["train", "modular_addition:frac_train=1e-9"], "at least one training and one test pair"),
    (["train", "modular_addition:frac_train=1"], "'frac_train'"),
    (["train", "modular_addition:lr=inf"], "'lr'.*finite"),
    (["train", "modular_addition:lr=nan"], "'lr'.*finite"),
    (["train", "modular_addition:lr=-1"], "'lr'"),
    (["train", "modular_addition:weight_decay=inf"], "'weight_decay'.*finite"),
    (["train", "modular_addition:p=１３"], "not a plain decimal integer"),
    (["train", "modular_addition:p=1_3"], "not a plain decimal integer"),
    (["train", "modular_addition:p=13,p=17"], "given twice"),
    (["train", "modular_addition:q=3"], "unknown parameter 'q'"),
    (["train", "nope"], "unknown family"),
    (["train", "modular_addition:p"], "not key=value"),
    # train: options
    (["train", SPEC, "--schedule", "0:10000000000:1"], "more than 100,000"),
    (["train", SPEC, "--schedule", ""], "malformed schedule"),
    (["train", SPEC, "--schedule", "0:1_0:5"], "not a plain decimal integer"),
    (["train", SPEC, "--epochs", "10", "--schedule", "0:20:5"], "past the last epoch"),
    (["train", SPEC, "--seeds", "0-1000000000"], "more than 4,096"),
    (["train", SPEC, "--seeds", "0-99", "--data-seeds", "0-99"], "10,000 variants, more than 4,096"),
    (["train", SPEC, "--seeds", ""], "malformed seed list"),
    (["train", SPEC, "--data-seeds", "x"], "malformed seed list"),
    (["train", SPEC, "--seeds", "0-3", "--epochs", "0"], "positive"),
    (["train", SPEC, "--epochs", "0"], "positive"),
    (["train", "--epochs", "0"], "positive"),  # the demo too: 0 is not "use the default"
    (["train", SPEC, "--epochs", "-1"], "positive"),
    (["train", SPEC, "--epochs", "ten"], "expected an integer"),
    (["train", SPEC, "--epochs", "１０"], "expected an integer"),
    (["train", SPEC, "--eval-every", "0"], "positive"),
    (["train", SPEC, "--device", "tpu"], "expected cpu"),
    (["train", SPEC, "--epochs", "10", "--store", ""], "--store '' is empty"),
    (["train", SPEC, "--epochs", "10", "--store", "/proc/nope"], "not writable"),
    (["train", SPEC, "--epochs", "10", "--store", "afile/store"], "not writable"),
    # list, analyze, report, render, dashboard
    (["list", "--store", ""], "--store '' is empty"),
    (["list", "--store", "afile"], "not a directory"),
    (["analyze", "", *STORE], "empty VARIANT"),
    (["analyze", SPEC, *STORE], "no trained run"),
    (["analyze", SPEC, "--epochs", "", *STORE], "malformed schedule"),
    (["report", "", *STORE], "empty VARIANT"),
    (["report", SPEC, *STORE], "no trained run"),
    (["report", SPEC, "--out", "adir", *STORE], "is a directory"),
    (["report", SPEC, "--out", "afile/x.html", *STORE], "is a file, not a directory"),
    (["report", SPEC, "--out", "", *STORE], "expected a file name"),
    (["report", SPEC, "--epochs", "0:10000000000:1", *STORE], "more than 100,000"),
    (["render", SPEC, "--view", "loss_curves", "--out", "adir", *STORE], "is a directory"),
    (["render", SPEC, "--view", "neuron_heatmap", "--neuron", "-1", "--out", "x.html", *STORE], "index >= 0"),
    (["render", SPEC, "--view", "attention_patterns", "--head", "inf", "--out", "x.html", *STORE], "expected an integer"),
    (["render", SPEC, "--view", "loss_curves", "--out", "x.html", *STORE], "no trained run"),
    (["dashboard", "--port", "-1"], "TCP port 1-65535"),
    (["dashboard", "--port", "70000"], "TCP port 1-65535"),
    (["dashboard", "--port", "0"], "TCP port 1-65535"),
    (["dashboard", "--host", "no-such-host.invalid"], "cannot resolve --host 'no-such-host.invalid'"),
    (["dashboard", "--store", ""], "--store '' is empty"),
    (["dashboard", "--host", "192.0.2.1", "--port", "8050"], "cannot listen on 192.0.2.1:8050"),  # not ours (TEST-NET-1)
    (["demo", "--store", ""], "--store '' is empty"),
]


@pytest.mark.parametrize("argv, message", CASES, ids=[" ".join(a)[:60] for a, _ in CASES])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(argv, message, capsys, workdir):
    import re

    line = _refused(argv, capsys, workdir)
    assert re.search(message, line), line


@pytest.fixture
def analyzed_copy(tiny_analyzed, tmp_path):
    """A private copy of the tiny analyzed store (the session one stays pristine)."""
    dest = tmp_path / "store"
    shutil.copytree(tiny_analyzed.root, dest)
    return dest


@pytest.mark.parametrize("extra, message", [
    (["--view", "loss_curves", "--neuron", "3"], "view 'loss_curves' has no option 'neuron'; options: log_x, x_step, x_time, log_y, smooth"),
    (["--view", "loss_curves", "--smooth", "1.5"], "option smooth must be a weight"),
    (["--view", "neuron_heatmap", "--head", "1"], "has no option 'head'; options: neuron"),
    (["--view", "neuron_heatmap", "--neuron", "100000"], "neuron 100000 out of range"),
    (["--view", "attention_patterns", "--head", "9"], "head 9 out of range"),
    (["--view", "no_such_view"], "unknown view"),
    (["--view", "loss_curves", "--epoch", "7"], "no checkpoint at epoch 7"),
])
def test_render_options_are_checked_against_the_view(extra, message, capsys, analyzed_copy, tmp_path):
    line = _refused(["render", TINY_SPEC, "--store", str(analyzed_copy), "--out", str(tmp_path / "x.html"), *extra],
                    capsys, tmp_path)
    assert message in line


def test_render_passes_neuron_and_head_to_the_view(analyzed_copy, tmp_path, capsys):
    for view, option, value in [("neuron_heatmap", "--neuron", "5"), ("attention_patterns", "--head", "2")]:
        out = tmp_path / f"{view}.html"
        assert main(["render", TINY_SPEC, "--view", view, option, value, "--epoch", "200",
                     "--store", str(analyzed_copy), "--out", str(out)]) == 0
        text = out.read_text(encoding="utf-8")
        assert f"{option.strip('-')} {value}" in text, f"{view}: the figure does not say it shows {option} {value}"
    capsys.readouterr()


def _cli(*args: str, cwd) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env.pop("WORKBENCH_STORE", None)
    return subprocess.run([sys.executable, "-m", "workbench", *args], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=120)


@pytest.mark.parametrize("argv", [
    ["train", "modular_addition:seed=1180591620717411303424"],
    ["train", SPEC, "--epochs", "5", "--store", "/proc/nope"],
    ["report", SPEC, "--out", "adir"],
    ["dashboard", "--port", "70000"],
], ids=["seed 2**70", "store /proc/nope", "report --out dir", "port 70000"])
def test_no_traceback_reaches_a_real_shell(argv, workdir):
    before = _tree(workdir)
    result = _cli(*argv, cwd=workdir)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert result.stderr.startswith("workbench")
    assert _tree(workdir) == before
