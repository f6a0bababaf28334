"""`trace(variant, inputs)`: each checkpoint's trace equals a direct forward of that checkpoint,
it is computed once per checkpoint and then read from the store, and bad inputs are one line."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch

import workbench
from tests.conftest import TINY_SPEC
from workbench.analysis.pipeline import analyze
from workbench.core.errors import UserError
from workbench.store import Store

PAIRS = [(3, 4), (1, 2), (16, 0)]


@pytest.fixture
def store(tiny_store, tmp_path):
    shutil.copytree(tiny_store.root, tmp_path / "s")
    return Store(tmp_path / "s")


def _forward(store, key, epoch, rows):
    variant = store.read_variant(key)
    data = variant.family.probe(variant.params)
    model = variant.family.tl_model(variant.params, store.load_checkpoint(key, epoch))
    with torch.inference_mode():
        logits, cache = model.run_with_cache(data.inputs[rows])
    return logits.numpy(), cache, data.labels[rows].numpy(), model


def test_each_checkpoints_trace_equals_a_direct_forward(store, tiny_key):
    t = workbench.trace(TINY_SPEC, "3+4, 1+2, 16+0", store=store)
    assert sorted(map(tuple, t["inputs"].tolist())) == sorted(PAIRS)
    assert t["epochs"].tolist() == store.checkpoint_epochs(tiny_key)
    rows = [a * 17 + b for a, b in t["inputs"].tolist()]  # the grid's a * p + b order
    for e, epoch in enumerate(t["epochs"]):
        logits, cache, labels, model = _forward(store, tiny_key, int(epoch), rows)
        final = logits[:, -1, :]
        correct = final[np.arange(len(rows)), labels]
        np.testing.assert_allclose(t["correct_logit"][e, :, -1], correct, rtol=1e-4, atol=1e-4)
        np.testing.assert_array_equal(t["rank"][e, :, -1], (final > correct[:, None]).sum(-1))
        np.testing.assert_allclose(t["attention"][e], cache["blocks.0.attn.hook_pattern"][:, :, -1, :].numpy(),
                                   atol=1e-6)
        mlp_path = cache["blocks.0.mlp.hook_post"][:, -1, :].numpy() * \
            (model.W_out[0] @ model.W_U).detach().numpy()[:, labels].T  # [row, neuron]
        np.testing.assert_allclose(t["neuron_contrib"][e], mlp_path, rtol=1e-4, atol=1e-5)


def test_a_trace_is_computed_once_per_checkpoint_then_read(store, tiny_key):
    first = workbench.trace(TINY_SPEC, [(3, 4)], store=store)
    again = analyze(TINY_SPEC, store, analyzers="trace", probe=str(first["probe"]), quiet=True)
    assert again.computed == 0 and again.skipped == len(store.checkpoint_epochs(tiny_key))
    second = workbench.trace(TINY_SPEC, "(3, 4)", store=store)
    assert str(second["probe"]) == str(first["probe"])
    np.testing.assert_array_equal(first["neuron_contrib"], second["neuron_contrib"])
    fig = second.figure(input=0)
    assert "Trace of 3+4" in fig.layout.title.text
    handle = workbench.load_variant(TINY_SPEC, store=store)  # the API reads a probe's artifacts by its name
    probe = str(first["probe"])
    np.testing.assert_array_equal(handle.summary("trace_history", probe=probe)["neuron_contrib"],
                                  first["neuron_contrib"])
    np.testing.assert_array_equal(handle.at(200).arrays("trace", probe=probe)["inputs"], [[3, 4]])
    with pytest.raises(UserError, match="--probe nosuch"):
        handle.at(200).arrays("trace", probe="nosuch")


@pytest.mark.parametrize("inputs, says", [("99+1", "is not an input"), ("a <", "ends too early"),
                                          ("a < b", "a trace follows at most 64")])
def test_bad_trace_inputs_are_one_line(store, inputs, says):
    with pytest.raises(UserError) as err:
        workbench.trace(TINY_SPEC, inputs, store=store)
    assert says in str(err.value) and "\n" not in str(err.value)


def test_the_trace_view_renders_a_probe_from_the_command_line(store, tmp_path, capsys):
    from workbench.cli import main

    name = str(workbench.trace(TINY_SPEC, "3+4, 16+0", store=store)["probe"])
    out = tmp_path / "trace.html"
    assert main(["render", TINY_SPEC, "--view", "trace", "--probe", name, "--input", "1", "--out", str(out),
                 "--store", str(store.root)]) == 0
    page = out.read_text().replace("\\u003cbr\\u003e", " ").replace("<br>", " ")  # titles wrap (renderers/_text.py)
    assert "Trace of 16+0" in page or "Trace of 3+4" in page
    assert "(2 inputs traced)" in page
    # without --probe the view reads the canonical probe's trace (input_trace's 4 + 4 default pairs), or
    # names the command that makes it where the session's store is not analyzed
    assert main(["render", TINY_SPEC, "--view", "trace", "--out", str(out), "--store", str(store.root)]) == 0
    canonical = out.read_text().replace("\\u003cbr\\u003e", " ").replace("<br>", " ")
    # the canonical probe's trace (its count depends on the tiny family's split and on whether an
    # earlier test analyzed the shared store), never the named probe's page
    assert canonical != page and ("workbench analyze" in canonical or "inputs traced" in canonical)
