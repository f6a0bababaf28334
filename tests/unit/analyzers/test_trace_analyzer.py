"""The per-input trace against a hand-built model whose logits, attention and neurons are known."""

from __future__ import annotations

import numpy as np
import pytest

from analyzers.trace_history import emergence
from tests.unit.analyzers._helpers import epoch_ctx
from workbench.core.analyzer import get_analyzer
from workbench.core.fourier import fourier_basis

P, K, D_MLP = 7, 2, 3


def _hand_built():
    """d_model = p and W_U = I: a residual IS its logits. Two rows, (1, 2) and (3, 3).

    resid_pre = 0; resid_mid = 2 * onehot(label); resid_post = resid_mid + 3 * cos_K(x) (the
    basis row) + onehot(label). Neuron n writes basis row 2n+1 (cos of frequency n+1) and is
    active at 1, 2, 3 times the row number + 1.
    """
    basis = fourier_basis(P)
    probe = np.array([(1, 2, P), (3, 3, P)])
    labels = (probe[:, 0] + probe[:, 1]) % P
    onehot = np.eye(P, dtype=np.float32)[labels]  # [row, p]
    resid = {"blocks.0.hook_resid_pre": np.zeros((2, 3, P), np.float32)}
    resid["blocks.0.hook_resid_mid"] = np.zeros((2, 3, P), np.float32)
    resid["blocks.0.hook_resid_mid"][:, 2] = 2 * onehot
    resid["blocks.0.hook_resid_post"] = resid["blocks.0.hook_resid_mid"].copy()
    resid["blocks.0.hook_resid_post"][:, 2] += 3 * basis[2 * K - 1] + onehot
    act = np.zeros((2, 3, D_MLP), np.float32)
    act[:, 2] = np.outer([1, 2], [1, 2, 3])
    pattern = np.random.default_rng(0).dirichlet(np.ones(3), size=(2, 4, 3)).astype(np.float32)
    weights = {"unembed.W_U": np.eye(P, dtype=np.float32), "unembed.b_U": np.zeros(P, np.float32),
               "blocks.0.mlp.W_out": basis[[2 * n + 1 for n in range(D_MLP)]].astype(np.float32)}
    cache = {**resid, "blocks.0.mlp.hook_post": act, "blocks.0.attn.hook_pattern": pattern}
    ctx = epoch_ctx(weights, P, cache=cache, probe=probe, reference={"key_frequencies": {"key_freqs": [K, 3]}})
    return ctx, onehot, act, pattern, basis, labels


def test_the_trace_of_a_hand_built_model_is_its_known_logits_attention_and_neurons():
    ctx, onehot, act, pattern, basis, labels = _hand_built()
    out = get_analyzer("trace").fn(ctx)
    cos_at_label = basis[2 * K - 1][labels]
    np.testing.assert_allclose(out["correct_logit"], np.stack([np.zeros(2), 2 * np.ones(2), 3 + 3 * cos_at_label], 1),
                               atol=1e-5)
    assert out["rank"][:, 0].tolist() == [0, 0] and out["rank"][:, 1].tolist() == [0, 0]  # ties count in its favour
    np.testing.assert_array_equal(out["attention"], pattern[:, :, 2, :])
    assert out["head_names"].tolist() == ["L0H0", "L0H1", "L0H2", "L0H3"] and out["pos_names"].tolist() == ["a", "b", "="]
    assert out["neuron_freq"].tolist() == [1, 2, 3]
    want = act[:, 2] * basis[[1, 3, 5]][:, labels].T  # act[n] * W_out[n] . W_U[:, label]
    np.testing.assert_allclose(out["neuron_contrib"], want, atol=1e-6)
    # the +attn stage is 2 * onehot; the +mlp stage 3 * onehot + 3 * cos K, whose (cos K, sin K)
    # coefficients are 3 * onehot's plus (3, 0); the embed stage is 0
    cos_k, sin_k = (onehot @ basis.T)[:, 2 * K - 1], (onehot @ basis.T)[:, 2 * K]
    np.testing.assert_allclose(out["key_projection"][:, 0], 0, atol=1e-6)
    np.testing.assert_allclose(out["key_projection"][:, 1, 0], 2 * np.hypot(cos_k, sin_k), atol=1e-5)
    np.testing.assert_allclose(out["key_projection"][:, 2, 0], np.hypot(3 + 3 * cos_k, 3 * sin_k), atol=1e-5)
    assert out["inputs"].tolist() == [[1, 2], [3, 3]] and out["labels"].tolist() == labels.tolist()


def test_emergence_is_the_first_checkpoint_at_half_the_largest_key_signal():
    proj = np.zeros((4, 2, 3, 1), np.float32)
    proj[:, 0, -1, 0] = [0, 1, 4, 10]  # half of 10 is first reached at the last checkpoint
    proj[:, 1, -1, 0] = [0, 6, 8, 10]
    assert emergence(np.array([0, 10, 20, 30]), proj).tolist() == [30, 10]
    assert emergence(np.array([0, 10]), np.zeros((2, 2, 3, 0))).tolist() == [-1, -1]
