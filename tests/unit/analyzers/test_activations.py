"""Activation and attention analyzers against maps built by hand."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.core.analyzer import get_analyzer

P = 17
A, B = np.divmod(np.arange(P * P), P)  # probe row r is (a, b) = (r // p, r % p)
W = 2 * np.pi / P


def _mlp_cache(columns):
    """hook_post cache [batch, pos, neuron] whose answer position holds `columns` ([batch] each)."""
    post = np.zeros((P * P, 3, len(columns)), dtype=np.float32)
    post[:, -1, :] = np.stack(columns, axis=1)
    return {"blocks.0.mlp.hook_post": post}


def _run(name, ctx):
    return get_analyzer(name).fn(ctx)


def test_neuron_activations_grid_layout(fake_ctx):
    ctx = fake_ctx(P, cache=_mlp_cache([A - B, 2.0 * A]))
    acts = _run("neuron_activations", ctx)["acts"]
    assert acts.shape == (2, P, P) and acts.dtype == np.float16
    a, b = np.meshgrid(np.arange(P), np.arange(P), indexing="ij")
    np.testing.assert_array_equal(acts[0], a - b)
    np.testing.assert_array_equal(acts[1], 2 * a)


def test_neuron_activations_shuffled_probe_lands_on_the_grid(fake_ctx):
    perm = np.random.default_rng(0).permutation(P * P)
    probe = np.stack([A, B, np.full_like(A, P)], axis=1)[perm]
    ctx = fake_ctx(P, cache=_mlp_cache([(probe[:, 0] * 3 + probe[:, 1]).astype(np.float32)]), probe=probe)
    a, b = np.meshgrid(np.arange(P), np.arange(P), indexing="ij")
    np.testing.assert_array_equal(_run("neuron_activations", ctx)["acts"][0], 3 * a + b)


@pytest.mark.parametrize("k", [1, 3, 8])
def test_pure_cos_a_plus_b_neuron_reports_its_frequency(fake_ctx, k):
    ctx = fake_ctx(P, cache=_mlp_cache([np.cos(W * k * (A + B)), 1 + np.sin(W * k * A) * np.cos(W * k * B)]))
    out = _run("neuron_freq_clusters", ctx)
    assert out["frac_explained"].shape == (2, (P - 1) // 2)
    np.testing.assert_array_equal(out["dominant_freq"], [k, k])
    np.testing.assert_allclose(out["dominant_frac"], [1, 1], atol=1e-5)


def test_mixed_neuron_splits_variance_between_frequencies(fake_ctx):
    # variance of c*cos(.) over the grid is c^2/2: 1/2 at freq 2 (pure a), 1/8 at freq 5 (pure b)
    ctx = fake_ctx(P, cache=_mlp_cache([np.cos(W * 2 * A) + 0.5 * np.cos(W * 5 * B), np.zeros(P * P)]))
    out = _run("neuron_freq_clusters", ctx)
    np.testing.assert_allclose(out["frac_explained"][0, [1, 4]], [0.8, 0.2], atol=1e-5)
    assert out["dominant_freq"][0] == 2
    # a dead (constant) neuron has nothing to explain: no fractions, no dominant frequency
    assert np.all(np.isnan(out["frac_explained"][1]))
    assert out["dominant_freq"][1] == -1 and np.isnan(out["dominant_frac"][1])


def test_dead_neurons_are_not_filed_under_any_frequency(fake_ctx):
    relu_dead = np.zeros(P * P)  # ReLU never fires
    stuck = np.full(P * P, 0.3)  # fires, but the same for every input
    out = _run("neuron_freq_clusters", fake_ctx(P, cache=_mlp_cache([relu_dead, stuck, np.cos(W * 4 * (A + B))])))
    np.testing.assert_array_equal(out["dominant_freq"], [-1, -1, 4])
    assert np.isnan(out["dominant_frac"][:2]).all() and out["dominant_frac"][2] == pytest.approx(1, abs=1e-5)


def test_smooth_map_is_coarser_than_white_noise_on_all_three_measures(fake_ctx):
    rng = np.random.default_rng(0)
    p = 53
    a, b = np.divmod(np.arange(p * p), p)
    smooth = np.exp(-((a - 20) ** 2 + (b - 30) ** 2) / (2 * 10.0**2))  # one wide blob
    noise = rng.standard_normal(p * p)
    post = np.zeros((p * p, 3, 3), dtype=np.float32)
    post[:, -1, 0], post[:, -1, 1] = smooth, noise
    out = _run("coarseness", fake_ctx(p, cache={"blocks.0.mlp.hook_post": post}))
    assert out["fft_low_ratio"][0] > 0.9 > 0.2 > out["fft_low_ratio"][1]
    assert out["grad_magnitude"][0] < 0.2 < 0.5 < out["grad_magnitude"][1]
    assert out["downsample_preserved"][0] > 0.95 > 0.2 > out["downsample_preserved"][1]
    assert np.isnan(out["fft_low_ratio"][2]) and np.isnan(out["grad_magnitude"][2])  # the dead neuron


def _pattern_cache(to_a):
    """hook_pattern [batch, head, q, k]; the answer query puts `to_a[h]` on position 0, the rest evenly."""
    to_a = np.stack(to_a, axis=1)  # [batch, head]
    pattern = np.full((P * P, to_a.shape[1], 3, 3), 1 / 3, dtype=np.float32)
    pattern[:, :, -1, 0] = to_a
    pattern[:, :, -1, 1] = pattern[:, :, -1, 2] = (1 - to_a) / 2
    return {"blocks.0.attn.hook_pattern": pattern}


def test_attention_patterns_layout(fake_ctx):
    ctx = fake_ctx(P, cache=_pattern_cache([0.5 + 0.01 * A, 0.5 + 0.01 * B]))
    pattern = _run("attention_patterns", ctx)["pattern"]
    assert pattern.shape == (2, 3, P, P)
    np.testing.assert_allclose(pattern[0, 0, 3, :], 0.53, atol=1e-6)
    np.testing.assert_allclose(pattern[1, 0, :, 4], 0.54, atol=1e-6)
    np.testing.assert_allclose(pattern.sum(axis=1), 1, atol=1e-6)


def test_head_specialization_on_constructed_patterns(fake_ctx):
    heads = [0.5 + 0.3 * np.cos(W * 3 * (A + B)),  # pure freq 3
             0.5 + 0.2 * np.sin(W * 7 * A),  # pure freq 7, a only
             0.5 + 0.2 * np.cos(W * 2 * A) + 0.1 * np.cos(W * 6 * B),  # 80% freq 2, 20% freq 6
             np.full(P * P, 0.4)]  # constant: nothing to explain
    out = _run("head_freq_specialization", fake_ctx(P, cache=_pattern_cache(heads)))
    np.testing.assert_array_equal(out["dominant_freq"], [3, 7, 2, -1])  # the constant head has none
    np.testing.assert_allclose(out["purity"], [1, 1, 0.8, np.nan], atol=1e-5)
    np.testing.assert_allclose(out["frac_explained"][2, 5], 0.2, atol=1e-5)
