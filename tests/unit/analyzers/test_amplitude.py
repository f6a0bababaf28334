"""Sequence-task analyzers (amplitude, attention_offsets, stream_accuracy) on hand-built
residuals, attention patterns and logits."""

from __future__ import annotations

import types

import numpy as np

from analyzers.attention_offsets import next_mass, offset_profile
from workbench.core.analyzer import get_analyzer

FAMILY = {"sequence": True, "resid_hooks": ["blocks.0.hook_resid_pre", "blocks.0.hook_resid_post"],
          "attention_hooks": ["blocks.0.attn.hook_pattern"]}


def _ctx(**kw):
    return types.SimpleNamespace(family=FAMILY, **kw)


def test_amplitude_and_sigma2_by_hand():
    resid = np.zeros((2, 2, 3), dtype=np.float32)
    resid[..., 0] = 3.0
    resid[0, :, 1], resid[1, :, 1] = 2.0, -2.0  # norms sqrt(13); deviation +-2 in 1 of 3 dims
    spec = get_analyzer("amplitude")
    assert spec.hook_names(FAMILY) == ("blocks.0.hook_resid_post",)
    out = spec.fn(_ctx(cache={"blocks.0.hook_resid_post": resid}))
    np.testing.assert_allclose(out["amplitude"], [13 ** 0.5])
    np.testing.assert_allclose(out["sigma2"], [4 / 3])


def test_offset_profile_of_a_head_that_looks_two_back():
    n = 10
    pattern = np.zeros((1, 2, n, n))
    for q in range(n):
        pattern[0, 0, q, q - 2 if q >= 2 else q] = 1.0  # head 0: two back (itself at q < 2)
        pattern[0, 1, q, : q + 1] = 1.0 / (q + 1)  # head 1: uniform over the causal prefix
    prof = offset_profile(pattern)
    assert prof.shape == (2, 16)  # offsets past the sequence (>= n) have no key and stay 0
    np.testing.assert_allclose(prof[0], np.eye(16)[1])
    k = 3
    np.testing.assert_allclose(prof[1, k - 1], np.mean([1 / (q + 1) for q in range(k, n)]))
    out = get_analyzer("attention_offsets").fn(_ctx(cache={"blocks.0.attn.hook_pattern": pattern}))
    assert out["profile"].shape == (1, 2, 16) and out["offsets"][0] == -1 and out["offsets"][-1] == -16


def test_next_mass_reads_the_leak_to_key_q_plus_1_and_is_zero_under_a_causal_mask():
    n = 8
    pattern = np.zeros((2, 3, n, n))
    for q in range(n):
        pattern[:, 0, q, min(q + 1, n - 1)] = 1.0  # head 0: the next token (the last query: itself)
        pattern[:, 1, q, :] = 1.0 / n  # head 1: uniform over every key, no mask
        pattern[:, 2, q, : q + 1] = 1.0 / (q + 1)  # head 2: uniform over the causal prefix (the null)
    np.testing.assert_allclose(next_mass(pattern), [1.0, 1.0 / n, 0.0])
    out = get_analyzer("attention_offsets").fn(_ctx(cache={"blocks.0.attn.hook_pattern": pattern}))
    np.testing.assert_allclose(out["next_mass"], [[1.0, 1.0 / n, 0.0]], rtol=1e-6)
    np.testing.assert_allclose(out["next_mass_mean"], (1.0 + 1.0 / n) / 3, rtol=1e-6)
    assert get_analyzer("attention_offsets").headlines == {"next_mass_mean": "attn_next"}
    assert next_mass(np.ones((1, 2, 1, 1))).tolist() == [0.0, 0.0]  # one position: no key q + 1


def test_stream_accuracy_by_hand():
    labels = np.array([[-100, 1, 2, 3], [0, -100, 2, 3]])  # positions 0..3 predict tokens 1..4: B A B A
    logits = np.zeros((2, 4, 5))
    pred = np.array([[0, 1, 0, 3], [0, 0, 2, 0]])
    np.put_along_axis(logits, pred[..., None], 1.0, axis=-1)
    train, test = np.array([True, False]), np.array([False, True])
    out = get_analyzer("stream_accuracy").fn(_ctx(labels=labels, logits=logits, train_mask=train, test_mask=test))
    assert out["train_acc"] == 2 / 3  # row 0: scored 1, 2, 3; right on 1 and 3
    assert out["test_acc"] == 2 / 3  # row 1: scored 0, 2, 3; right on 0 and 2
    assert out["last_acc"] == 0.0
    assert out["acc_a"] == 0.0 and out["acc_b"] == 1.0  # A at positions 1, 3 (only 3 scored); B at 0, 2


def test_streams_trajectory_stacks_each_checkpoint_in_epoch_order():
    epochs = np.array([0, 5, 10])
    acc = {k: np.array([0.1, 0.5, 0.9]) + i for i, k in enumerate(("test_acc", "last_acc", "acc_a", "acc_b"))}
    amp = {"amplitude": np.array([[8.0], [9.0], [11.0]]), "sigma2": np.array([[0.6], [1.0], [1.6]])}
    profile = np.arange(3 * 1 * 4 * 8, dtype=np.float32).reshape(3, 1, 4, 8)
    offsets = {"profile": profile, "offsets": np.tile(-np.arange(1, 9), (3, 1))}
    by_name = {"stream_accuracy": acc, "amplitude": amp, "attention_offsets": offsets}
    ctx = types.SimpleNamespace(epochs=epochs, family=FAMILY, artifacts=by_name.__getitem__)
    out = get_analyzer("streams_trajectory").fn(ctx)
    np.testing.assert_array_equal(out["epochs"], epochs)
    for name, values in {**acc, **amp}.items():
        np.testing.assert_array_equal(out[name], values)
    np.testing.assert_array_equal(out["offset_profile"], profile)
    np.testing.assert_array_equal(out["offsets"], -np.arange(1, 9))
