"""`workbench densify`: a replay from a kept training state writes the checkpoints (and metric
rows) a run trained straight through with the dense schedule has, bit for bit; a changed
checkpoint makes it refuse; bad input is one line, exit 2, nothing written."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from workbench.analysis.pipeline import analyze
from workbench.core.errors import UserError
from workbench.core.variant import parse_variant
from workbench.store import RunKey, Store
from workbench.store._io import load_npz, load_safetensors, save_npz, save_safetensors
from workbench.store.lock import run_lock
from workbench.training.densify import default_every, densify, plan_densify, turn_window
from workbench.training.trainer import plan_training, train

SPEC = "modular_addition:p=17,frac_train=0.5"
KEY = RunKey(*parse_variant(SPEC).key)
SPARSE = "0:200:50"


def _train(root: Path, schedule: str = SPARSE, epochs: int = 200, state_every: int = 50) -> Store:
    store = Store(root)
    train(plan_training(parse_variant(SPEC), store, epochs=epochs, schedule=schedule, eval_every=20,
                        state_every=state_every), store, quiet=True)
    return store


def _densify(store: Store, around: str, every: int | None = None) -> list[int]:
    return densify(plan_densify(SPEC, store, around=around, every=every), store, quiet=True)


def _snapshot(root: Path) -> dict[str, str]:
    """Every file under `root` -> the hash of its bytes."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _assert_same_checkpoints(a: Store, b: Store) -> None:
    assert a.checkpoint_epochs(KEY) == b.checkpoint_epochs(KEY)
    for epoch in a.checkpoint_epochs(KEY):
        x, y = a.load_checkpoint(KEY, epoch), b.load_checkpoint(KEY, epoch)
        assert set(x) == set(y) and all(torch.equal(x[k], y[k]) for k in x), epoch


def _assert_same_metrics(a: Store, b: Store) -> None:
    ma, mb = a.read_metrics(KEY), b.read_metrics(KEY)
    assert set(ma) == set(mb)
    for k in ma:
        np.testing.assert_array_equal(ma[k], mb[k], err_msg=k)
        assert ma[k].dtype == mb[k].dtype


@pytest.fixture(scope="module")
def sparse(tmp_path_factory) -> Path:
    """A run checkpointed every 50 epochs, with a training state kept at each."""
    root = tmp_path_factory.mktemp("sparse")
    _train(root)
    return root


@pytest.fixture
def run(sparse, tmp_path) -> Store:
    shutil.copytree(sparse, tmp_path / "run")
    return Store(tmp_path / "run")


def test_states_are_kept_at_multiples_of_state_every(sparse):
    store = Store(sparse)
    assert store.state_epochs(KEY) == [0, 50, 100, 150, 200]
    assert json.loads(store.variant_path(KEY).read_text())["state_every"] == 50
    state, resume = store.load_state(KEY, 200), store.load_resume(KEY)
    assert set(state) == set(resume) and all(torch.equal(state[k], resume[k]) for k in state)
    assert any(k.startswith("optim.") for k in store.load_state(KEY, 100))


def test_densify_equals_a_run_trained_with_the_dense_schedule(run, tmp_path):
    untouched = {name: digest for name, digest in _snapshot(run.run_dir(KEY)).items()
                 if name.startswith(("states/", "checkpoints/", "resume", "status"))}
    written = _densify(run, "60:90", every=10)
    assert written == [60, 70, 80, 90]
    straight = _train(tmp_path / "straight", schedule=f"{SPARSE},60:91:10")
    _assert_same_checkpoints(run, straight)
    _assert_same_metrics(run, straight)  # the new epochs' rows, merged as training writes them
    after = _snapshot(run.run_dir(KEY))
    assert all(after[name] == digest for name, digest in untouched.items())  # resume, states, old checkpoints
    info = json.loads(run.variant_path(KEY).read_text())
    assert info["densified"] == [{"window": [60, 90], "every": 10, "from_state": 50, "replayed_to": 100,
                                  "epochs": written, "threads": info["threads"]}]  # replayed at the run's count
    assert info["checkpoint_epochs"] == [0, 50, 100, 150, 200] and info["schedule"] == SPARSE
    assert not list(run.run_dir(KEY).rglob("*.tmp"))
    # a resumed run keeps the record of what was densified
    train(plan_training(parse_variant(SPEC), run, extra_epochs=10), run, quiet=True)
    assert json.loads(run.variant_path(KEY).read_text())["densified"][0]["epochs"] == written


def test_densify_is_idempotent_and_finishes_a_killed_one(run, tmp_path):
    written = _densify(run, "60:190", every=20)
    assert written == [60, 80, 120, 140, 160, 180]
    assert _densify(run, "60:190", every=20) == []  # nothing left to do
    # what a kill -9 between a checkpoint and its metric rows leaves: files without rows
    metrics, meta = load_npz(run.metrics_path(KEY), with_metadata=True)
    keep = ~np.isin(metrics["epoch"], written)
    save_npz({k: v[keep] for k, v in metrics.items()}, run.metrics_path(KEY), meta)
    for epoch in (160, 180):
        run.checkpoint_path(KEY, epoch).unlink()
    assert _densify(run, "60:190", every=20) == [160, 180]
    straight = _train(tmp_path / "straight", schedule=f"{SPARSE},60:181:20")
    _assert_same_checkpoints(run, straight)
    _assert_same_metrics(run, straight)


def test_a_changed_checkpoint_makes_densify_refuse(run):
    path = run.checkpoint_path(KEY, 100)
    weights = load_safetensors(path)
    weights["unembed.W_U"][0, 0] += 1e-6  # one number, a little
    save_safetensors(weights, path, {"epoch": "100"})
    before = _snapshot(run.run_dir(KEY))
    with pytest.raises(UserError, match=r"densify refused: .* checkpoint at epoch 100 \(unembed.W_U differs\)"):
        _densify(run, "60:90", every=10)
    after = _snapshot(run.run_dir(KEY))
    assert {k: v for k, v in after.items() if not k.startswith(".train.lock")} == \
           {k: v for k, v in before.items() if not k.startswith(".train.lock")}


def test_a_refusal_keeps_what_earlier_matches_vouched_for(run):
    path = run.checkpoint_path(KEY, 200)
    weights = load_safetensors(path)
    weights["embed.W_E"] = weights["embed.W_E"] * 1.0001
    save_safetensors(weights, path, {"epoch": "200"})
    with pytest.raises(UserError, match=r"epoch 200 .* 4 new checkpoints matched before it were kept"):
        _densify(run, "60:190", every=20)
    assert run.checkpoint_epochs(KEY) == [0, 50, 60, 80, 100, 120, 140, 150, 200]  # 160, 180 never written
    assert load_safetensors(path)["embed.W_E"].equal(weights["embed.W_E"])  # nothing that existed is removed
    assert json.loads(run.variant_path(KEY).read_text())["densified"][0]["epochs"] == [60, 80, 120, 140]


def test_a_changed_state_epoch_checkpoint_makes_densify_refuse(run):
    path = run.checkpoint_path(KEY, 50)
    weights = load_safetensors(path)
    weights["blocks.0.mlp.W_in"] = torch.zeros_like(weights["blocks.0.mlp.W_in"])
    save_safetensors(weights, path, {"epoch": "50"})
    with pytest.raises(UserError, match=r"checkpoint at epoch 50 \(blocks.0.mlp.W_in differs\)"):
        _densify(run, "60:90", every=10)
    assert run.checkpoint_epochs(KEY) == [0, 50, 100, 150, 200]


def test_analyze_after_densify_computes_only_the_new_epochs(run):
    names = "effective_dim,param_snapshot"
    analyze(SPEC, run, analyzers=names, quiet=True)
    written = _densify(run, "75:125", every=25)
    assert written == [75, 125]
    again = analyze(SPEC, run, analyzers=names, quiet=True)
    assert again.computed == 2 * len(written) and again.skipped == 2 * 5
    assert run.artifact_epochs(KEY, "effective_dim") == run.checkpoint_epochs(KEY)


def test_around_turn_pads_onset_to_midpoint_by_its_width(run):
    # the turn analyzer's summary, written by hand to pin the markers
    save_npz({"turn_onset_epoch": np.array(60.0), "turn_midpoint_epoch": np.array(90.0)},
             run.summary_path(KEY, "turn"), {"analyzer": "turn"})
    plan = plan_densify(SPEC, run, around="turn", every=10)
    assert plan.window == (30, 120) and plan.start == 0 and plan.stop == 150
    assert plan.new == (30, 40, 60, 70, 80, 90, 110, 120)
    assert "onset 60" in plan.how and "midpoint 90" in plan.how
    assert plan_densify(SPEC, run, around="turn").every == 2  # 90 wide: 5 gives only 18 checkpoints
    # a collapse narrower than the evaluation cadence (20 here) is padded by the cadence
    save_npz({"turn_onset_epoch": np.array(60.0), "turn_midpoint_epoch": np.array(60.0)},
             run.summary_path(KEY, "turn"), {"analyzer": "turn"})
    assert plan_densify(SPEC, run, around="turn", every=10).window == (40, 80)


def test_window_and_default_step_rules():
    assert turn_window(1000, 1200, 50) == (800, 1400)
    assert turn_window(1000, 1000, 50) == (950, 1050)  # a one-evaluation collapse: pad by the cadence
    assert turn_window(100, 400, 10) == (0, 700)
    assert [default_every(w) for w in (0, 19, 20, 40, 100, 1500, 3000)] == [1, 1, 1, 2, 5, 50, 100]
    assert default_every(2250, spacing=100) == 50  # at least twice as dense as the checkpoints already there
    assert default_every(1500, spacing=500) == 50 and default_every(400, spacing=3) == 1


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "workbench", "densify", *args], capture_output=True, text=True,
                          env=dict(os.environ, PYTHONUNBUFFERED="1"), timeout=300)


def _refused(store: Store, message: str, *args: str) -> None:
    before = _snapshot(store.root)
    result = _cli(*args, "--store", str(store.root))
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1 and message in lines[0], result.stderr
    assert _snapshot(store.root) == before


@pytest.mark.parametrize("args, message", [
    ((SPEC, "--around", "120:400"), "trained epochs 0..200"),
    ((SPEC, "--around", "200:100"), "or reversed"),
    ((SPEC, "--around", "1e3:2000"), "expects an analyzer that marks a transition (turn) or E1:E2"),
    ((SPEC, "--around", "loss_accuracy"), "expects an analyzer that marks a transition (turn) or E1:E2"),
    ((SPEC, "--around", "100:200", "--every", "0"), "--every must be positive"),
    ((SPEC, "--around", "100:200", "--every", "-5"), "--every must be positive"),
    ((SPEC,), "no turn detected"),
    (("modular_addition:p=19",), "no trained run"),
])
def test_bad_input_is_one_line_exit_2_nothing_written(run, args, message):
    _refused(run, message, *args)


def test_no_state_before_the_window_is_refused(run):
    run.state_path(KEY, 0).unlink()
    _refused(run, "kept at or before epoch 20 (kept at [50, 100, 150, 200])",
             SPEC, "--around", "20:40")


def test_a_run_being_trained_is_refused(run):
    with run_lock(run, KEY, "train"):
        before = _snapshot(run.run_dir(KEY))
        result = _cli(SPEC, "--around", "60:90", "--store", str(run.root))
        assert result.returncode == 2 and "is locked for train" in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1 and _snapshot(run.run_dir(KEY)) == before


def test_runs_trained_before_states_get_one_line(tmp_path):
    shutil.copytree(Path(__file__).parents[1] / "fixtures" / "store_v1", tmp_path / "store")
    store = Store(tmp_path / "store")
    _refused(store, "was trained before training states were kept", "modular_addition:p=7,frac_train=0.5",
             "--around", "0:10")


def test_cli_densify_writes_and_says_what_it_did(run):
    result = _cli(SPEC, "--around", "60:90", "--every", "30", "--store", str(run.root), "--quiet")
    assert result.returncode == 0, result.stderr
    assert "2 new checkpoints (60, 90)" in result.stdout and "from the state at epoch 50" in result.stdout
    assert run.checkpoint_epochs(KEY) == [0, 50, 60, 90, 100, 150, 200]


def test_a_run_killed_and_resumed_keeps_the_same_states_and_densifies(sparse, tmp_path):
    root = tmp_path / "killed"
    code = ("import sys; from workbench.store import Store; from workbench.training.trainer import plan_training, train; "
            "from workbench.core.variant import parse_variant; s = Store(sys.argv[1]); "
            f"train(plan_training(parse_variant({SPEC!r}), s, epochs=200, schedule={SPARSE!r}, eval_every=20, "
            "state_every=50), s, quiet=True)")
    proc = subprocess.Popen([sys.executable, "-c", code, str(root)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    target, deadline = Store(root).state_path(KEY, 100), time.time() + 300
    while not target.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert 200 not in Store(root).checkpoint_epochs(KEY)
    resumed = _train(root)  # resumes from its last checkpoint
    for epoch in Store(sparse).state_epochs(KEY):
        a, b = Store(sparse).load_state(KEY, epoch), resumed.load_state(KEY, epoch)
        assert set(a) == set(b) and all(torch.equal(a[k], b[k]) for k in a), epoch
    assert _densify(resumed, "110:140", every=10) == [110, 120, 130, 140]
