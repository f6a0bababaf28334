"""The README's Quickstart, run the way a new user would (after CI has run setup once)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import numpy as np

from workbench.store import Store

ROOT = Path(__file__).resolve().parents[2]


def quickstart_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Quickstart", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    return [line.strip() for line in block.splitlines() if line.strip()]


def test_quickstart_has_exactly_two_commands_and_ci_runs_the_second():
    commands = quickstart_commands()
    assert len(commands) == 2
    assert commands[1] in (ROOT / ".ci" / "run").read_text().splitlines()


def test_first_command_trains_a_grokking_demo_and_writes_the_report(tmp_path):
    env = dict(os.environ, WORKBENCH_STORE=str(tmp_path / "store"))
    result = subprocess.run(quickstart_commands()[0], shell=True, cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=1800)
    assert result.returncode == 0, result.stderr[-3000:]
    report = Path(re.search(r"^report: (.+)$", result.stdout, re.M).group(1))
    assert report.is_file() and report.stat().st_size > 1_000_000
    store = Store(tmp_path / "store")
    (key,) = store.runs()
    metrics = store.read_metrics(key)
    assert metrics["test_acc"][-1] >= 0.95  # it groks
    early = np.flatnonzero(metrics["train_acc"] >= 0.99)[0]
    assert metrics["test_acc"][early] < 0.5  # ...after memorizing first
    assert "turn onset at epoch" in result.stdout
