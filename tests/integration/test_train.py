"""End to end: `workbench train` on a tiny variant — files, resume after kill -9, extend, bad input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from workbench.cli import main
from workbench.core.variant import parse_variant
from workbench.store import RunKey, Store
from workbench.store._io import load_safetensors, safetensors_metadata

SPEC = "modular_addition:p=17,frac_train=0.5"
KEY = RunKey(*parse_variant(SPEC).key)


def _cli(*args: str, env_store: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    if env_store:
        env["WORKBENCH_STORE"] = str(env_store)
    return subprocess.run([sys.executable, "-m", "workbench", *args], capture_output=True, text=True, env=env, timeout=600)


def test_train_writes_the_documented_files(tmp_path):
    assert main(["train", SPEC, "--epochs", "300", "--schedule", "0:300:50", "--eval-every", "25", "--store", str(tmp_path), "--quiet"]) == 0
    store = Store(tmp_path)
    assert store.checkpoint_epochs(KEY) == [0, 50, 100, 150, 200, 250, 300]
    info = json.loads(store.variant_path(KEY).read_text())
    assert info["family"] == "modular_addition" and info["params"]["p"] == 17 and info["schedule"] == "0:300:50"
    assert {"torch", "transformer_lens", "numpy"} <= set(info["versions"]) and info["recipe"]["weight_decay"] == 1.0
    ckpt = store.checkpoint_path(KEY, 300)
    meta = safetensors_metadata(ckpt)
    assert meta["epoch"] == "300" and json.loads(meta["config"])["p"] == 17
    assert "blocks.0.attn.W_Q" in load_safetensors(ckpt)
    metrics = store.read_metrics(KEY)
    assert metrics["epoch"][0] == 0 and metrics["epoch"][-1] == 300 and len(metrics["epoch"]) == 13  # every 25 + ckpts
    assert metrics["train_acc"][-1] > 0.9  # memorized
    assert not list(store.run_dir(KEY).rglob("*.tmp"))


def test_checkpoint_loads_into_tl_bridge_with_same_logits(tmp_path):
    from transformer_lens.model_bridge.sources.native import boot
    from transformer_lens.utilities.tl_checkpoint_conversion import convert_tl_checkpoint

    from families._gpt import bridge_config

    main(["train", SPEC, "--epochs", "60", "--schedule", "0:60:30", "--store", str(tmp_path), "--quiet"])
    v = parse_variant(SPEC)
    state = Store(tmp_path).load_checkpoint(KEY, 60)
    cfg = bridge_config(v.family.shape(v.params))
    bridge = boot(cfg)
    bridge.load_state_dict(convert_tl_checkpoint(state, cfg), strict=True)
    inputs = v.family.data(v.params).inputs
    with torch.no_grad():
        torch.testing.assert_close(bridge(inputs)[:, -1], v.family.train_module(v.params, state)(inputs), rtol=1e-4, atol=1e-5)


def _final_weights(store: Path, epoch: int) -> dict[str, torch.Tensor]:
    return Store(store).load_checkpoint(KEY, epoch)


def test_resume_after_kill_is_bit_identical(tmp_path):
    args = ["train", SPEC, "--epochs", "400", "--schedule", "0:400:100", "--quiet"]
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    assert _cli(*args, "--store", str(straight)).returncode == 0

    env = dict(os.environ, WORKBENCH_STORE=str(killed))
    proc = subprocess.Popen([sys.executable, "-m", "workbench", *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    target = Store(killed).checkpoint_path(KEY, 200)
    deadline = time.time() + 300
    while not target.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done = Store(killed).checkpoint_epochs(KEY)
    assert 200 in done and 400 not in done, done
    for e in done:  # every file present is complete
        Store(killed).load_checkpoint(KEY, e)

    litter = Store(killed).checkpoint_dir(KEY) / ".epoch_000300.safetensors.abc123.tmp"
    litter.write_bytes(b"half a file")  # what a kill during a write leaves
    resumed = _cli(*args, env_store=killed)
    assert resumed.returncode == 0, resumed.stderr
    a, b = _final_weights(straight, 400), _final_weights(killed, 400)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not litter.exists() and not Store(killed).stale_temp_files(KEY)
    ma, mb = Store(straight).read_metrics(KEY), Store(killed).read_metrics(KEY)
    np.testing.assert_array_equal(ma["epoch"], mb["epoch"])
    np.testing.assert_array_equal(ma["test_loss"], mb["test_loss"])


def test_extra_epochs_extends_a_finished_run(tmp_path):
    base = ["--store", str(tmp_path), "--quiet"]
    assert main(["train", SPEC, "--epochs", "100", "--schedule", "0:100:50", *base]) == 0
    assert main(["train", SPEC, *base]) == 0  # already done: nothing to do
    assert main(["train", SPEC, "--extra-epochs", "50", *base]) == 0
    store = Store(tmp_path)
    assert store.checkpoint_epochs(KEY) == [0, 50, 100, 150]
    assert json.loads(store.variant_path(KEY).read_text())["epochs"] == 150
    # extending equals training 150 straight
    other = tmp_path / "straight"
    main(["train", SPEC, "--epochs", "150", "--schedule", "0:100:50", "--store", str(other), "--quiet"])
    a, b = _final_weights(tmp_path, 150), _final_weights(other, 150)
    assert all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("args, message", [
    (["train", "nonsense"], "unknown family 'nonsense'"),
    (["train", "modular_addition:q=1"], "unknown parameter 'q'"),
    (["train", "modular_addition:p=x"], "parameter 'p'"),
    (["train", "modular_addition:p=15"], "p must be prime"),
    (["train", SPEC, "--epochs", "0"], "must be positive"),
    (["train", SPEC, "--epochs", "-5"], "must be positive"),
    (["train", SPEC, "--epochs", "100", "--schedule", "0:100:0"], "malformed schedule"),
    (["train", SPEC, "--epochs", "100", "--schedule", "0:500:50"], "out-of-range schedule"),
    (["train", SPEC, "--epochs", "100", "--schedule", "1:2"], "malformed schedule"),
    (["train", SPEC, "--epochs", "ten"], "expected an integer"),
    (["train", SPEC, "--no-such-flag"], "unrecognized arguments"),
    (["train", SPEC, "--threads", "0"], "--threads must be positive"),
    (["train", SPEC, "--threads", "-2"], "--threads must be positive"),
    (["train", SPEC, "--threads", "513"], "--threads must be at most 512"),
    (["densify", SPEC, "--threads", "0"], "--threads must be a whole number of threads from 1 to 512"),
])
def test_bad_input_exits_2_with_one_line_and_writes_nothing(tmp_path, args, message):
    store = tmp_path / "store"
    result = _cli(*args, "--store", str(store))
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert not store.exists()


def test_bad_device_exits_2(tmp_path):
    result = _cli("train", SPEC, "--epochs", "10", "--device", "tpu", "--store", str(tmp_path / "s"))
    assert result.returncode == 2 and "cpu, cuda or cuda:N" in result.stderr and not (tmp_path / "s").exists()
    assert len(result.stderr.strip().splitlines()) == 1
    if not torch.cuda.is_available():
        result = _cli("train", SPEC, "--epochs", "10", "--device", "cuda", "--store", str(tmp_path / "s"))
        assert result.returncode == 2 and "no CUDA device" in result.stderr and not (tmp_path / "s").exists()
        assert len(result.stderr.strip().splitlines()) == 1


def test_unwritable_store_exits_2(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = _cli("train", SPEC, "--epochs", "10", "--store", str(blocker / "store"))
    assert result.returncode == 2 and "not writable" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_families_shows_params_and_list_long_the_variants(tmp_path):
    main(["train", SPEC, "--epochs", "20", "--schedule", "0:20:10", "--store", str(tmp_path), "--quiet"])
    families = _cli("families")
    assert families.returncode == 0 and "modular_addition" in families.stdout and "p: int = 113" in families.stdout
    result = _cli("list", "--long", "--store", str(tmp_path))
    assert result.returncode == 0 and "p: int = 113" not in result.stdout
    assert "epochs 20/20  checkpoints 3" in result.stdout and "test acc " in result.stdout
