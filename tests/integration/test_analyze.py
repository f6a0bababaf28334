"""`workbench analyze` end to end: bad input, unreadable checkpoints, --epochs, versions."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import sys

import pytest

from tests.conftest import TINY_SPEC
from workbench.analysis.pipeline import analyze
from workbench.core import analyzer as _registry
from workbench.store import Store
from workbench.store._io import load_npz


@pytest.fixture()
def store(tiny_store, tiny_key, tmp_path):
    """A private copy of the tiny trained store with no analysis (the session's `tiny_analyzed`
    fixture analyzes `tiny_store` in place, so the copy may arrive with artifacts)."""
    shutil.copytree(tiny_store.root, tmp_path / "store")
    copy = Store(tmp_path / "store")
    for name in copy.analyzers_done(tiny_key):
        shutil.rmtree(copy.analysis_dir(tiny_key, name))
    return copy


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "workbench", *args], capture_output=True, text=True, timeout=600)


def test_unknown_analyzer_exits_2_names_choices_and_writes_nothing(store, tiny_key):
    result = _cli("analyze", TINY_SPEC, "--analyzers", "embedding_fourier,nope", "--store", str(store.root))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "unknown analyzer 'nope'" in lines[0] and "embedding_fourier" in lines[0]
    assert store.analyzers_done(tiny_key) == []


def test_untrained_variant_exits_2(store):
    result = _cli("analyze", "modular_addition:p=19", "--store", str(store.root))
    assert result.returncode == 2 and "workbench train" in result.stderr


def test_unreadable_checkpoint_is_reported_and_skipped(store, tiny_key, capsys):
    store.checkpoint_path(tiny_key, 100).write_bytes(b"\x00garbage, not safetensors")
    result = analyze(TINY_SPEC, store, analyzers="embedding_fourier,loss_accuracy", quiet=True)
    assert result.failed == ["epoch_000100.safetensors"]
    assert "epoch_000100.safetensors" in capsys.readouterr().err
    assert store.artifact_epochs(tiny_key, "embedding_fourier") == [0, 50, 150, 200]


def test_epochs_subset_and_skip_then_force(store, tiny_key):
    first = analyze(TINY_SPEC, store, analyzers="loss_accuracy", epochs="0:101:50", quiet=True)
    assert first.computed == 3 and store.artifact_epochs(tiny_key, "loss_accuracy") == [0, 50, 100]
    again = analyze(TINY_SPEC, store, analyzers="loss_accuracy", epochs="0:101:50", quiet=True)
    assert again.computed == 0 and again.skipped == 3
    forced = analyze(TINY_SPEC, store, analyzers="loss_accuracy", epochs="0:101:50", force=True, quiet=True)
    assert forced.computed == 3


def test_changed_analyzer_version_recomputes(store, tiny_key, monkeypatch):
    analyze(TINY_SPEC, store, analyzers="loss_accuracy", quiet=True)
    spec = _registry.get_analyzer("loss_accuracy")
    monkeypatch.setitem(_registry._ANALYZERS._entries, "loss_accuracy", dataclasses.replace(spec, version=spec.version + 1))
    result = analyze(TINY_SPEC, store, analyzers="loss_accuracy", quiet=True)
    assert result.computed == 5
    _, meta = load_npz(store.artifact_path(tiny_key, "loss_accuracy", 0), with_metadata=True)
    assert meta["version"] == str(spec.version + 1) and meta["epoch"] == "0" and len(meta["checkpoint"]) == 16


def test_summary_runs_its_required_analyzers(store, tiny_key):
    analyze(TINY_SPEC, store, analyzers="param_pca", quiet=True)
    assert store.artifact_epochs(tiny_key, "param_snapshot") == [0, 50, 100, 150, 200]
    pca = store.read_summary(tiny_key, "param_pca")
    assert pca["pcs"].shape == (5, 3)
