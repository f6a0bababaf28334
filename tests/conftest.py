"""Shared fixtures: a tiny trained variant that unit and integration tests reuse."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import torch

# one thread, for every test and every command a test starts: one known count (thread counts
# change a run's numbers, workbench.core.compute), and on a loaded 2-core machine two threads ran
# tiny trainings 3-7x slower. The tests of the thread rules unset it.
os.environ.setdefault("OMP_NUM_THREADS", "1")
torch.set_num_threads(1)

TINY_SPEC = "modular_addition:p=17,frac_train=0.5"
TINY_EPOCHS = 200
TINY_SCHEDULE = "0:200:50"


@pytest.fixture(scope="session")
def tiny_store(tmp_path_factory):
    """A store holding TINY_SPEC trained for 200 epochs, checkpoints at 0, 50, ..., 200."""
    from workbench.core.variant import parse_variant
    from workbench.store import Store
    from workbench.training.trainer import plan_training, train

    store = Store(tmp_path_factory.mktemp("tiny_store"))
    plan = plan_training(parse_variant(TINY_SPEC), store, epochs=TINY_EPOCHS, schedule=TINY_SCHEDULE, eval_every=25)
    train(plan, store, quiet=True)
    return store


@pytest.fixture(scope="session")
def tiny_key():
    from workbench.core.variant import parse_variant
    from workbench.store import RunKey

    return RunKey(*parse_variant(TINY_SPEC).key)


@pytest.fixture(scope="session")
def tiny_analyzed(tiny_store):
    """`tiny_store` with every analyzer run over every checkpoint."""
    from workbench.analysis.pipeline import analyze

    analyze(TINY_SPEC, tiny_store, analyzers="all", quiet=True)
    return tiny_store


CHROMIUM = "/usr/bin/chromium"


def _install_chromium() -> str | None:
    """Install Debian's chromium if we can; return why not otherwise."""
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return "not root or no apt-get"
    for cmd in (["apt-get", "update"], ["apt-get", "install", "-y", "chromium"]):
        done = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
        if done.returncode:
            return f"{' '.join(cmd)} failed: {done.stderr.strip()[-300:]}"
    return None


@pytest.fixture(scope="session")
def chromium_path():
    """Debian's chromium, installed on first use where possible; skips with the reason otherwise."""
    if not Path(CHROMIUM).exists():
        why = _install_chromium()
        if not Path(CHROMIUM).exists():
            pytest.skip(f"{CHROMIUM} is missing and could not be installed: {why}")
    return CHROMIUM


@pytest.fixture
def no_thread_setting(monkeypatch):
    """No OMP/MKL_NUM_THREADS, no --threads, pin or count set by the workbench yet (the tests of
    the thread rules, workbench.core.compute); torch's count restored after."""
    from workbench.core import compute

    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.delenv(name, raising=False)
    for name in ("_set_by_us", "_asked", "_pinned"):
        monkeypatch.setattr(compute, name, None)
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)
