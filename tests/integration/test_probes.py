"""Named probes end to end: `probe add|list`, `analyze --probe`, artifacts keyed by probe while
the canonical probe keeps its paths (also on an old store), and one-line refusals."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch

from tests.conftest import TINY_SPEC
from tests.integration.test_compat import OLD_SPEC, _old_store
from workbench.analysis.pipeline import analyze
from workbench.cli import main
from workbench.store import Store


def _err(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("workbench: error:") and "Traceback" not in err
    return err


@pytest.fixture
def store(tiny_store, tmp_path):
    shutil.copytree(tiny_store.root, tmp_path / "s")
    return Store(tmp_path / "s")


def test_a_probe_is_saved_listed_and_analyzed_under_its_name(store, tiny_key, capsys):
    s = ["--store", str(store.root)]
    assert main(["probe", "add", "below", "modular_addition", "a < b", "--description", "upper triangle", *s]) == 0
    assert main(["probe", "list", *s]) == 0
    assert "below" in capsys.readouterr().out
    canonical = store.artifact_path(tiny_key, "loss_accuracy", 200)
    before = canonical.stat().st_mtime_ns if canonical.exists() else None  # the session's store may be analyzed
    assert main(["analyze", TINY_SPEC, "--probe", "below", "--analyzers", "loss_accuracy,logit_lens", "--quiet", *s]) == 0
    probed = store.with_probe("below")
    assert probed.artifact_epochs(tiny_key, "loss_accuracy") == store.checkpoint_epochs(tiny_key)
    assert probed.artifact_path(tiny_key, "loss_accuracy", 200).parent.parent.name == "below"
    assert (canonical.stat().st_mtime_ns if canonical.exists() else None) == before  # the canonical probe's untouched
    # ground truth: a direct forward of the checkpoint over the canonical rows with a < b
    variant = store.read_variant(tiny_key)
    data = variant.family.probe(variant.params)
    model = variant.family.tl_model(variant.params, store.load_checkpoint(tiny_key, 200))
    with torch.inference_mode():
        logits = model(data.inputs)[:, -1, :]
    keep = data.inputs[:, 0] < data.inputs[:, 1]
    right = (logits.argmax(-1) == data.labels)
    part = probed.read_artifact(tiny_key, "loss_accuracy", 200)
    for split, mask in (("train", data.train_mask), ("test", ~data.train_mask)):
        assert float(part[f"{split}_acc"]) == pytest.approx(right[keep & mask].double().mean().item())


def test_the_probe_rows_are_the_ones_the_filter_selects(store, tiny_key):
    from workbench.analysis.probing import add_probe, resolve_probe

    add_probe(store, "pairs", "modular_addition", "3+4, 1+2")
    choice = resolve_probe(store, "pairs", store.read_variant(tiny_key))
    data = store.read_variant(tiny_key).family.probe(store.read_variant(tiny_key).params)
    assert [tuple(r) for r in data.inputs[choice.rows][:, :2].tolist()] == [(1, 2), (3, 4)]


def test_grid_analyzers_do_not_run_on_a_probe_and_say_why(store, capsys):
    s = ["--store", str(store.root)]
    assert main(["probe", "add", "tr", "modular_addition", "train", *s]) == 0
    assert main(["analyze", TINY_SPEC, "--probe", "tr", "--analyzers", "neuron_activations", *s]) == 2
    assert "read the whole canonical probe" in _err(capsys)
    assert main(["analyze", TINY_SPEC, "--probe", "tr", "--epochs", "200", "--quiet", *s]) == 0
    assert "skipped (they read the whole canonical probe" in capsys.readouterr().err


@pytest.mark.parametrize("argv, says", [
    (["probe", "add", "x", "modular_addition", "a <"], "ends too early"),
    (["probe", "add", "x", "modular_addition", "a < q"], "unknown name 'q'"),
    (["probe", "add", "x", "interleaved_streams", "a < b"], "cannot take a probe filter"),
    (["probe", "add", "x", "nosuch", "all"], "unknown family"),
    (["probe", "add", "../x", "modular_addition", "all"], "invalid probe id"),
    (["probe", "add", "canonical", "modular_addition", "all"], "the family's own probe"),
    (["analyze", TINY_SPEC, "--probe", "nosuch"], "no probe 'nosuch'"),
])
def test_bad_probes_are_one_line_exit_2_and_write_nothing(store, capsys, argv, says):
    before = sorted(p.name for p in store.root.rglob("*"))
    assert main([*argv, "--store", str(store.root)]) == 2
    assert says in _err(capsys)
    assert sorted(p.name for p in store.root.rglob("*")) == before


def test_a_probe_of_inputs_the_variant_lacks_is_refused(store, capsys):
    s = ["--store", str(store.root)]
    assert main(["probe", "add", "big", "modular_addition", "100+1", *s]) == 0
    assert main(["analyze", TINY_SPEC, "--probe", "big", *s]) == 2
    assert "is not an input" in _err(capsys)


def test_an_old_store_keeps_its_canonical_paths_and_takes_probes(tmp_path):
    store = _old_store(tmp_path)
    key = store.runs()[0]
    analyze(OLD_SPEC, store, analyzers="loss_accuracy", quiet=True)
    assert store.artifact_epochs(key, "loss_accuracy") == [0, 10]
    assert (store.run_dir(key) / "analysis" / "loss_accuracy").is_dir()
    from workbench.analysis.probing import add_probe

    add_probe(store, "test_only", "modular_addition", "test")
    result = analyze(OLD_SPEC, store, analyzers="loss_accuracy", probe="test_only", quiet=True)
    assert result.errors == {}
    out = store.with_probe("test_only").read_artifact(key, "loss_accuracy", 10)
    full = store.read_artifact(key, "loss_accuracy", 10)
    assert np.isnan(out["train_acc"]) and float(out["test_acc"]) == pytest.approx(float(full["test_acc"]))
