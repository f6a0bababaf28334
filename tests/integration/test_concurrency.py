"""Two jobs on one run: per-run locks, plans that went stale, temp files of live writers,
and analysis that survives bad checkpoints and broken analyzers (issue 9)."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch

from tests.conftest import TINY_SPEC
from workbench.analysis.pipeline import analyze
from workbench.cli import main
from workbench.core import analyzer as _registry
from workbench.core.errors import UserError
from workbench.core.variant import parse_variant
from workbench.store import Store, checkpoint_identity
from workbench.store._io import load_safetensors, save_safetensors
from workbench.store.lock import run_lock
from workbench.training.trainer import plan_training, train

_HOLDER = """
import sys
from workbench.store.lock import run_lock
from workbench.store import RunKey, Store
with run_lock(Store(sys.argv[1]), RunKey(sys.argv[2], sys.argv[3]), sys.argv[4]):
    print("locked", flush=True)
    sys.stdin.readline()
"""


@pytest.fixture
def store(tiny_analyzed, tmp_path):
    """A private copy of the tiny trained and analyzed store."""
    shutil.copytree(tiny_analyzed.root, tmp_path / "store")
    return Store(tmp_path / "store")


@pytest.fixture
def key(tiny_key):
    return tiny_key


def _hold(store: Store, key, job: str) -> subprocess.Popen:
    """Another process holding the run's `job` lock until its stdin closes (no sleeps)."""
    proc = subprocess.Popen([sys.executable, "-c", _HOLDER, str(store.root), key.family, key.variant, job],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def _release(proc: subprocess.Popen) -> None:
    proc.stdin.close()
    proc.wait(timeout=30)


@pytest.mark.parametrize("argv", [["train", TINY_SPEC, "--epochs", "250"], ["train", TINY_SPEC, "--extra-epochs", "10"],
                                  ["train", TINY_SPEC, "--seeds", "0", "--epochs", "250"]])
def test_second_trainer_is_refused_naming_the_holder(store, key, argv, capsys):
    before = {p: p.stat().st_mtime_ns for p in store.run_dir(key).rglob("*") if p.is_file() and "lock" not in p.name}
    holder = _hold(store, key, "train")
    try:
        code = main(argv + ["--store", str(store.root), "--quiet"])
    finally:
        _release(holder)
    err = capsys.readouterr().err.strip().splitlines()
    if "--seeds" in argv:  # seed 0 is another variant; its lock is free, so it trains
        assert code == 0
        return
    assert code == 2 and len(err) == 1 and f"process {holder.pid}" in err[0] and "locked for train" in err[0]
    after = {p: p.stat().st_mtime_ns for p in store.run_dir(key).rglob("*") if p.is_file() and "lock" not in p.name}
    assert after == before  # nothing written


def test_sweep_member_on_a_locked_run_is_refused(store, key, capsys):
    variant = parse_variant(TINY_SPEC)
    holder = _hold(store, key, "train")
    try:
        code = main(["train", TINY_SPEC, "--seeds", f"0,{variant.params.seed}", "--epochs", "250",
                     "--store", str(store.root), "--quiet"])
    finally:
        _release(holder)
    assert code == 2 and f"process {holder.pid}" in capsys.readouterr().err


def test_lock_is_released_when_its_holder_dies(store, key):
    holder = _hold(store, key, "train")
    holder.kill()
    holder.wait()
    with run_lock(store, key, "train"):
        pass


def test_a_plan_made_before_another_trainer_moved_the_run_is_refused(store, key):
    variant = parse_variant(TINY_SPEC)
    stale = plan_training(variant, store, epochs=260)
    train(plan_training(variant, store, epochs=250), store, quiet=True)  # another job moves the run
    with pytest.raises(UserError, match="changed while this job started"):
        train(stale, store, quiet=True)


def test_training_leaves_a_live_writers_temp_file_alone(store, key):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    folder = store.analysis_dir(key, "turn")
    live = folder / f".summary.npz.{__import__('os').getpid()}.abcd1234.tmp"
    orphan = folder / f".summary.npz.{int(dead.stdout)}.abcd1234.tmp"
    legacy = store.run_dir(key) / ".metrics.npz.k2j3h4g5.tmp"  # written before temp names carried a pid
    for path in (live, orphan, legacy):
        path.write_bytes(b"partial")
    assert set(store.stale_temp_files(key)) == {orphan, legacy}
    train(plan_training(parse_variant(TINY_SPEC), store, epochs=210), store, quiet=True)
    assert live.exists() and not orphan.exists() and not legacy.exists()


def test_second_analyze_is_refused_but_analyze_runs_beside_train(store, key, capsys):
    holder = _hold(store, key, "analyze")
    try:
        assert main(["analyze", TINY_SPEC, "--analyzers", "loss_accuracy", "--store", str(store.root), "--quiet"]) == 2
        assert f"locked for analyze by process {holder.pid}" in capsys.readouterr().err
    finally:
        _release(holder)
    trainer = _hold(store, key, "train")
    try:
        assert main(["analyze", TINY_SPEC, "--analyzers", "loss_accuracy", "--store", str(store.root), "--quiet"]) == 0
    finally:
        _release(trainer)


def test_checkpoint_identity_ignores_metadata_order(tmp_path):
    tensors = {"a": torch.arange(6.0).view(2, 3), "b": torch.ones(4)}
    meta = {f"k{i}": str(i) for i in range(12)}
    save_safetensors(tensors, tmp_path / "x.safetensors", meta)
    save_safetensors(tensors, tmp_path / "y.safetensors", dict(reversed(list(meta.items()))))
    assert checkpoint_identity((tmp_path / "x.safetensors").read_bytes()) == checkpoint_identity((tmp_path / "y.safetensors").read_bytes())
    save_safetensors({**tensors, "b": torch.zeros(4)}, tmp_path / "z.safetensors", meta)
    assert checkpoint_identity((tmp_path / "z.safetensors").read_bytes()) != checkpoint_identity((tmp_path / "x.safetensors").read_bytes())


def test_non_finite_weights_are_reported_as_divergence(store, key):
    last = store.checkpoint_epochs(key)[-1]
    path = store.checkpoint_path(key, last)
    state = load_safetensors(path)
    state["blocks.0.mlp.W_in"][0, 0] = float("nan")
    save_safetensors(state, path, {"epoch": str(last)})
    result = analyze(TINY_SPEC, store, analyzers="effective_dim", force=True, quiet=True)
    assert result.diverged_epoch == last and result.errors == {} and result.failed == []


def test_checkpoint_that_does_not_fit_the_model_is_skipped_and_named(store, key, capsys):
    epoch = store.checkpoint_epochs(key)[1]
    state = store.load_checkpoint(key, epoch)
    state["embed.W_E"] = state["embed.W_E"][:-1]  # wrong shape
    del state["unembed.W_U"]  # missing key
    save_safetensors(state, store.checkpoint_path(key, epoch), {"epoch": str(epoch)})
    result = analyze(TINY_SPEC, store, analyzers="loss_accuracy", force=True, quiet=True)
    assert result.failed == [store.checkpoint_path(key, epoch).name]
    assert result.computed == len(store.checkpoint_epochs(key)) - 1
    assert str(store.checkpoint_path(key, epoch)) in capsys.readouterr().err


def test_a_failing_analyzer_is_named_and_the_others_still_run(store, key, monkeypatch):
    def boom(ctx):
        raise np.linalg.LinAlgError("SVD did not converge")

    spec = _registry.get_analyzer("effective_dim")
    monkeypatch.setitem(_registry._ANALYZERS._entries, "effective_dim", dataclasses.replace(spec, fn=boom))
    result = analyze(TINY_SPEC, store, analyzers="effective_dim,loss_accuracy", force=True, quiet=True)
    assert result.errors == {"effective_dim": "LinAlgError: SVD did not converge"}
    assert result.computed == len(store.checkpoint_epochs(key))  # every loss_accuracy artifact


def test_reference_is_the_final_checkpoints_artifact_and_tracks_it(store, key, monkeypatch):
    seen = []

    def probe(ctx):
        seen.append(int(ctx.reference("loss_accuracy")["train_loss"].size))
        return {"ref_train_loss": np.asarray(ctx.reference("loss_accuracy")["train_loss"], dtype=np.float64)}

    spec = _registry.AnalyzerSpec("ref_probe", "output", "epoch", probe, {"ref_train_loss": ()},
                                  reference=("loss_accuracy",))
    monkeypatch.setitem(_registry._ANALYZERS._entries, "ref_probe", spec)
    ckpts = store.checkpoint_epochs(key)
    final = store.read_artifact(key, "loss_accuracy", ckpts[-1])["train_loss"]
    analyze(TINY_SPEC, store, analyzers="ref_probe", quiet=True)
    for epoch in ckpts:
        assert store.read_artifact(key, "ref_probe", epoch)["ref_train_loss"] == final
    assert analyze(TINY_SPEC, store, analyzers="ref_probe", quiet=True).computed == 0
    train(plan_training(parse_variant(TINY_SPEC), store, extra_epochs=50), store, quiet=True)
    again = analyze(TINY_SPEC, store, analyzers="ref_probe", quiet=True)
    assert again.computed == len(ckpts) + 1 + 1  # a new final reference makes every artifact stale
