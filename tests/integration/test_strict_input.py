"""Bounded, strict input (issues 24 and 33): YAML configs and sweep files through a loader with
depth and size limits and strict scalars, sweep options refused before anything is written,
long inline specs, and a config's schedule cut at a shorter --epochs."""

from __future__ import annotations

import time

import pytest

from tests.integration.test_bad_input import _refused
from workbench.cli import main
from workbench.core.strict_yaml import MAX_BYTES
from workbench.core.variant import parse_variant
from workbench.requests import TrainRequest, train_target
from workbench.store import RunKey, Store
from workbench.store._io import load_json
from workbench.training.trainer import plan_training

SPEC = "modular_addition:p=17,frac_train=0.5"


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("WORKBENCH_STORE", raising=False)
    return tmp_path


# ------------------------------------------------------------------ YAML
YAML_CASES = [
    ("epochs: true", "epochs"),  # YAML 1.1 read it as 1
    ("epochs: 1:00", "epochs"),  # sexagesimal 60
    ("epochs: 010", "epochs"),  # octal 8
    ("epochs: 1e23", "epochs"),  # a float where an int is wanted
    ("epochs: 0x1f", "epochs"),
    ("eval_every: yes", "eval_every"),
    ("epochs: 10\nepochs: 20", "given twice"),  # duplicate keys took the last
    ("recipe: &r {lr: 0.001}\ndescription: *r", "aliases"),
    ("epochs: !!int 010", "explicit tags"),
    ("recipe:" + "".join(f"\n{'  ' * i}k{i}:" for i in range(1, 60)) + " 1", "nested more than 20"),
    ("recipe: " + "[" * 5000 + "]" * 5000, "nested more than 20"),  # RecursionError before
    ("epochs: [1, 2\nschedule: x", "(line 3, column 9)"),  # where it is wrong, never the file's text
]


@pytest.mark.parametrize("kind", ["config", "sweep"])
@pytest.mark.parametrize("body, problem", YAML_CASES, ids=[c[1] + str(i) for i, c in enumerate(YAML_CASES)])
def test_yaml_quirks_are_refused_in_configs_and_sweep_files(workdir, capsys, kind, body, problem):
    path = workdir / f"{kind}.yaml"
    path.write_text(f"variant: {SPEC}\n{body}\n")
    argv = ["train", "--config", str(path)] if kind == "config" else ["sweep", str(path)]
    line = _refused([*argv, "--store", "store"], capsys, workdir)
    assert problem in line, line


def test_an_oversized_yaml_file_is_refused_at_once(workdir, capsys):
    path = workdir / "big.yaml"
    with open(path, "w") as f:
        f.write(f"variant: {SPEC}\ndescription: ")
        f.write("x" * (50 * 2**20))  # 50 MB: > 120 s to parse before
    t0 = time.perf_counter()
    for argv in (["train", "--config", str(path)], ["sweep", str(path)]):
        assert "larger than" in _refused([*argv, "--store", "store"], capsys, workdir)
    assert time.perf_counter() - t0 < 20 and MAX_BYTES < 2**20


def test_an_error_never_echoes_a_files_content(workdir, capsys):
    secret = workdir / "credentials"
    secret.write_text("[default]\naws_secret_access_key = AKIAXXSECRETXX\n: : :\n")
    for argv in (["sweep", str(secret)], ["train", "--config", str(secret)]):
        line = _refused([*argv, "--store", "store"], capsys, workdir)
        assert "AKIA" not in line and "aws_secret" not in line, line


def test_the_repository_configs_still_load():
    from workbench.training.config import config_names, load_config

    for name in config_names():
        assert load_config(name).variant


# ------------------------------------------------------------------ sweep
@pytest.mark.parametrize("extra, problem", [
    (["--epochs", "0"], "epochs must be positive"),  # trained the family's 25,000 epochs before
    (["--eval-every", "0"], "eval-every must be positive"),  # was ignored
    (["--analyzers", "foo"], "unknown analyzer 'foo'"),  # trained everything, then failed
    (["--analyzers", ""], "no analyzer named"),  # meant "all"
    (["--device", "cuda"], "no CUDA device"),  # wrote a store and an index row first
])
def test_sweep_options_are_refused_before_anything_is_written(workdir, capsys, extra, problem):
    if "cuda" in extra:
        import torch

        if torch.cuda.is_available():
            pytest.skip("this machine has a CUDA device")
    line = _refused(["sweep", f"{SPEC},seed=0-1", *extra, "--store", "store"], capsys, workdir)
    assert problem in line, line


def test_a_long_inline_sweep_spec_works(workdir, capsys):
    seeds = "|".join(str(s) for s in range(100, 160))  # > 255 bytes: 'File name too long', exit 1, before
    spec = f"{SPEC},seed={seeds}"
    assert len(spec.encode()) > 255
    assert main(["sweep", spec, "--dry-run", "--store", "store"]) == 0
    assert "x60" in capsys.readouterr().out  # one stacked group of 60 seeds
    assert main(["sweep", f"{SPEC},seed={'|'.join(['0'] * 100)}", "--epochs", "4", "--schedule", "0:4:2",
                 "--no-analyze", "--quiet", "--store", "store"]) == 0
    assert len(Store(workdir / "store").runs()) == 1


# ------------------------------------------------------ --epochs under a config's
@pytest.mark.parametrize("config, epochs, schedule_step", [("lal_validate", 200, 100), ("mod97_grok", 40, 20)])
def test_epochs_shorter_than_a_configs_cut_its_schedule(tmp_path, config, epochs, schedule_step):
    store = Store(tmp_path / "store")
    variant, plan_args, name = train_target(TrainRequest(config=config, epochs=epochs), store)
    plan = plan_training(variant, store, config=name, **plan_args)
    assert plan.epochs == epochs and plan.checkpoints == tuple(range(0, epochs + 1, schedule_step))


def test_lal_validate_at_10000_epochs_keeps_its_schedule_up_to_10000(tmp_path):
    # issue 27's case: `train --config lal_validate --epochs 10000` exited 2 (epoch 11000 past 10000)
    store = Store(tmp_path / "store")
    variant, plan_args, name = train_target(TrainRequest(config="lal_validate", epochs=10_000), store)
    plan = plan_training(variant, store, config=name, **plan_args)
    assert plan.checkpoints == (*range(0, 2000, 100), *range(2000, 10_001, 1000))


def test_train_epochs_100_trains_the_demo_to_100(workdir, capsys):
    assert main(["train", "--epochs", "100", "--quiet", "--store", "store"]) == 0  # refused before: the demo's schedule
    store = Store(workdir / "store")
    (key,) = store.runs()
    assert store.checkpoint_epochs(key)[0] == 0 and store.checkpoint_epochs(key)[-1] == 100
    assert load_json(store.variant_path(key))["epochs"] == 100
    capsys.readouterr()


@pytest.mark.parametrize("argv, problem", [
    (["train", "--config", "mod97_grok", "--epochs", "40", "--schedule", "0:100:10"], "past the last epoch 40"),
    (["train", "--config", ""], "config '' is empty"),  # trained the demo before
    (["configs", "save", "past", SPEC, "--epochs", "10", "--schedule", "0:20:5"], "past the last epoch 10"),
])
def test_a_schedule_the_user_passes_past_the_epochs_is_still_refused(workdir, capsys, argv, problem):
    assert problem in _refused([*argv, "--store", "store"], capsys, workdir)


def test_a_config_saved_with_epochs_trains_to_them(workdir, capsys):
    assert main(["configs", "save", "short", SPEC, "--epochs", "20", "--schedule", "0:20:10", "--store", "s"]) == 0
    assert main(["train", "--config", "short", "--epochs", "10", "--quiet", "--store", "s"]) == 0
    key = RunKey(*parse_variant(SPEC).key)
    assert Store(workdir / "s").checkpoint_epochs(key) == [0, 10]
    capsys.readouterr()
