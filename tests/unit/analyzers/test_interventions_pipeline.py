"""Interventions through the pipeline: the patch source read at the checkpoint `patch_from` names,
options checked before anything is written, and the reference-only source never run on its own."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.analysis.pipeline import analyze
from workbench.api import train
from workbench.core.errors import UserError
from workbench.store import RunKey, Store
from workbench.testing import tiny_variant

VARIANT = tiny_variant("modular_addition")
WANT = "interventions,intervention_trajectory"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    store = Store(tmp_path_factory.mktemp("interv"))
    train(VARIANT.spec, epochs=60, schedule="0:60:20", store=store, quiet=True)
    return store, RunKey(*VARIANT.key)


def test_patch_from_reads_the_source_at_that_checkpoint(run):
    store, key = run
    analyze(VARIANT.spec, store, analyzers=WANT, options={"patch_from": 20}, quiet=True)
    assert store.artifact_epochs(key, "patch_source") == [20]
    out = store.read_artifact(key, "interventions", 20)
    names = list(out["edit_names"])
    patched = names.index("blocks.0.mlp.hook_post patched from epoch 20")
    assert out["test_loss"][patched] == pytest.approx(out["test_loss"][names.index("none")], rel=1e-6)
    later = store.read_artifact(key, "interventions", 60)
    assert later["test_loss"][patched] != pytest.approx(later["test_loss"][names.index("none")], rel=1e-6)
    summary = store.read_summary(key, "intervention_trajectory")
    assert summary["test_acc"].shape == (4, len(names)) and list(summary["epochs"]) == [0, 20, 40, 60]


@pytest.mark.parametrize("options, match", [
    ({"ablate_heads": ["9"]}, "interventions: no head '9'"),
    ({"ablate_neurons": [100_000]}, "interventions: no neuron 100000"),
    ({"key_freqs": [99]}, "interventions: no frequency 99"),
    ({"patch_from": 30}, "patch_from=30 is not a checkpoint"),
])
def test_bad_options_are_one_line_before_anything_is_written(run, options, match):
    store, key = run
    before = {e: store.artifact_path(key, "interventions", e).stat().st_mtime_ns
              for e in store.artifact_epochs(key, "interventions")}
    with pytest.raises(UserError, match=match):
        analyze(VARIANT.spec, store, analyzers=WANT, options=options, quiet=True, force=True)
    assert {e: store.artifact_path(key, "interventions", e).stat().st_mtime_ns for e in before} == before


def test_the_patch_source_is_not_run_on_its_own(run):
    store, _ = run
    with pytest.raises(UserError, match="patch_source is computed only as the reference"):
        analyze(VARIANT.spec, store, analyzers="patch_source", quiet=True)


@pytest.mark.parametrize("option, word", [("ablate_heads=0,9", "no head '9'"), ("ablate_neurons=x", "no neuron x"),
                                          ("key_freqs=4,99", "no frequency 99"), ("ablate_heads", "expected NAME=VALUE")])
def test_the_command_line_refuses_a_bad_option_in_one_line(run, capsys, option, word):
    from workbench.cli import main

    store, _ = run
    capsys.readouterr()
    code = main(["analyze", VARIANT.spec, "--analyzers", WANT, "--option", option, "--store", str(store.root), "--quiet"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and word in err and "Traceback" not in err


def test_the_command_line_passes_options_through(run):
    from workbench.cli import main

    store, key = run
    assert main(["analyze", VARIANT.spec, "--analyzers", "interventions", "--option", "ablate_heads=1",
                 "--option", "ablate_neurons=0,3", "--option", "ablate_mode=zero", "--store", str(store.root),
                 "--quiet"]) == 0
    names = list(store.read_artifact(key, "interventions", 60)["edit_names"])
    assert "head 1 zero-ablated" in names and "2 neurons zero-ablated" in names and "head 0 zero-ablated" not in names
