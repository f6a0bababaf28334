"""The GPU benchmarks run (tiny, on the CPU) and refuse in one line where there is no CUDA device."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
import torch

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", ["gpu_train", "gpu_analyze"])
@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA device is visible: the benchmark would run")
def test_refuses_in_one_line_without_cuda(name):
    result = subprocess.run([sys.executable, str(BENCH / f"{name}.py")], capture_output=True, text=True, timeout=300)
    assert result.returncode == 2 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "no CUDA device" in lines[0]


def test_gpu_train_cpu_smoke(capsys):
    assert _load("gpu_train").main(["--cpu-smoke"]) == 0
    out = capsys.readouterr().out
    for row in ("TransformerLens bridge, eager loop", "solo, --step-mode eager", "2 stacked members", "3 stacked members"):
        assert row in out


def test_gpu_analyze_cpu_smoke(capsys):
    assert _load("gpu_analyze").main(["--cpu-smoke", "--jobs", "1"]) == 0
    out = capsys.readouterr().out
    assert "CPU pipeline, --jobs 1 (baseline)" in out and out.count("checkpoints/s") == 3
