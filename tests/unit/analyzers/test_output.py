"""Output analyzers against logits built by hand, and the logit lens against the real model
(restricted_loss has its own file, test_restricted_loss.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from analyzers._output import stage_logits
from workbench.core.analyzer import get_analyzer

P = 17


def _answer_logits(last):
    """[batch, p] answer-position logits -> the [batch, pos, p] array an EpochContext holds."""
    logits = np.zeros((len(last), 3, P), dtype=np.float32)
    logits[:, -1] = last
    return logits


def test_loss_accuracy_matches_torch_cross_entropy(fake_ctx):
    last = np.random.default_rng(0).standard_normal((P * P, P)).astype(np.float32) * 3
    ctx = fake_ctx(P, logits=_answer_logits(last))
    out = get_analyzer("loss_accuracy").fn(ctx)
    for split, mask in (("train", ctx.train_mask), ("test", ctx.test_mask)):
        ref = torch.nn.functional.cross_entropy(torch.tensor(last[mask], dtype=torch.float64),
                                                torch.tensor(ctx.labels[mask]))
        assert float(out[f"{split}_loss"]) == pytest.approx(float(ref), rel=1e-12)
        assert float(out[f"{split}_acc"]) == pytest.approx(np.mean(last[mask].argmax(-1) == ctx.labels[mask]))


@pytest.fixture(scope="module")
def real_ctx(tiny_store, tiny_key):
    """The tiny run's last checkpoint, through the pipeline's own context builder."""
    from workbench.analysis.checkpoint import build_epoch_context

    epoch = tiny_store.checkpoint_epochs(tiny_key)[-1]
    state = tiny_store.load_checkpoint(tiny_key, epoch)
    variant = tiny_store.read_variant(tiny_key)
    hooks = set(variant.family.capabilities(variant.params).resid_hooks)
    return build_epoch_context(variant, state, epoch, hooks)


def test_logit_lens_final_stage_equals_model_logits(real_ctx):
    lens = stage_logits(real_ctx)  # [stage, batch, p]
    np.testing.assert_allclose(lens[-1], real_ctx.logits[:, -1], rtol=1e-5, atol=1e-5)
    out = get_analyzer("logit_lens").fn(real_ctx)
    overall = get_analyzer("loss_accuracy").fn(real_ctx)
    n_train = real_ctx.train_mask.sum()
    mean_loss = (overall["train_loss"] * n_train + overall["test_loss"] * (~real_ctx.train_mask).sum()) / len(lens[0])
    assert float(out["loss"][-1]) == pytest.approx(float(mean_loss), rel=1e-5)
    assert list(out["stages"]) == ["embed", "+attn", "+mlp"]


def test_input_trace_defaults_and_explicit_inputs(real_ctx):
    out = get_analyzer("input_trace").fn(real_ctx)
    assert out["inputs"].shape == (8, 2) and list(out["is_train"]) == [True] * 4 + [False] * 4
    rows = out["inputs"][:, 0] * P + out["inputs"][:, 1]
    assert np.array_equal(real_ctx.train_mask[rows], out["is_train"])
    final = real_ctx.logits[rows, -1]
    correct = final[np.arange(8), real_ctx.labels[rows]]
    np.testing.assert_allclose(out["correct_logit"][:, -1], correct, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(out["rank"][:, -1], (final > correct[:, None]).sum(-1))

    real_ctx.options = {"trace_inputs": [(3, 4), (16, 16)]}
    try:
        chosen = get_analyzer("input_trace").fn(real_ctx)
    finally:
        real_ctx.options = {}
    np.testing.assert_array_equal(chosen["inputs"], [[3, 4], [16, 16]])
    assert chosen["correct_logit"].shape == chosen["rank"].shape == (2, 3)
