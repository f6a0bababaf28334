"""restricted_loss against Nanda et al.'s formula, computed here independently on a hand-built logit cube."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from analyzers._keyfreq import KEY_RULE
from analyzers.restricted_loss import GIVEN_RULE
from workbench.core.analyzer import get_analyzer

P = 17
KEYS = [2, 5]


def _cube(seed=0):
    """[a, b, c] logits: class biases, per-class key and non-key (a+b) waves, and noise."""
    rng = np.random.default_rng(seed)
    a, b = np.meshgrid(np.arange(P), np.arange(P), indexing="ij")
    cube = rng.normal(size=(1, 1, P)) * 2 + rng.normal(size=(P, P, P))  # class biases + noise
    for k, scale in ((2, 3.0), (5, 2.0), (7, 4.0), (1, 1.0)):
        w = 2 * np.pi * k * (a + b) / P  # [a, b]
        cube += scale * (np.cos(w)[..., None] * rng.normal(size=P) + np.sin(w)[..., None] * rng.normal(size=P))
    cube += 3 * np.cos(2 * np.pi * 2 * (a[..., None] + b[..., None] - np.arange(P)) / P)  # the algorithm's form
    return cube


def _paper_restricted_logits(cube, keys):
    """The notebook's trig_loss logits, written out: per class c, the projection of L_c[a, b]
    on each normalized cos/sin(w_k(a+b)) plus L_c's mean (bias_correction)."""
    a, b = np.meshgrid(np.arange(P), np.arange(P), indexing="ij")
    out = np.zeros_like(cube)
    for c in range(P):
        out[:, :, c] = cube[:, :, c].mean()
        for k in keys:
            for wave in (np.cos(2 * np.pi * k * (a + b) / P), np.sin(2 * np.pi * k * (a + b) / P)):
                unit = wave / np.sqrt(np.einsum("ab,ab->", wave, wave))
                out[:, :, c] += np.einsum("ab,ab->", cube[:, :, c], unit) * unit
    return out


def _cross_entropy(logits, labels):
    return float(torch.nn.functional.cross_entropy(torch.tensor(logits), torch.tensor(labels)))


def _ctx(fake_ctx, cube, perm=None, **kwargs):
    logits = np.zeros((P * P, 3, P))
    logits[:, -1] = cube.reshape(P * P, P)
    a, b = np.divmod(np.arange(P * P), P)
    probe = np.stack([a, b, np.full_like(a, P)], axis=1)
    if perm is not None:
        logits, probe = logits[perm], probe[perm]
    return fake_ctx(P, logits=logits, probe=probe, **kwargs)


@pytest.mark.parametrize("shuffle", [False, True])
def test_restricted_and_excluded_loss_match_the_papers_formula(fake_ctx, shuffle):
    cube = _cube()
    perm = np.random.default_rng(1).permutation(P * P) if shuffle else None
    ctx = _ctx(fake_ctx, cube, perm, options={"key_freqs": KEYS})
    out = get_analyzer("restricted_loss").fn(ctx)

    labels = (np.add.outer(np.arange(P), np.arange(P)) % P).reshape(-1)
    restricted = _paper_restricted_logits(cube, KEYS).reshape(P * P, P)
    key_only = restricted - cube.reshape(P * P, P).mean(axis=0)  # the components, without the means
    train = np.zeros(P * P, dtype=bool)
    train[(perm if perm is not None else np.arange(P * P))[::2]] = True  # epoch_ctx trains every other probe row
    excluded = cube.reshape(P * P, P) - key_only

    assert float(out["restricted_loss"]) == pytest.approx(_cross_entropy(restricted, labels), rel=1e-10)
    assert float(out["excluded_loss"]) == pytest.approx(_cross_entropy(excluded[train], labels[train]), rel=1e-10)
    assert float(out["train_loss"]) == pytest.approx(_cross_entropy(cube.reshape(P * P, P)[train], labels[train]))
    np.testing.assert_array_equal(out["key_freqs"], KEYS)
    assert str(out["key_rule"]) == GIVEN_RULE


def test_keys_come_from_the_final_checkpoints_clusters(fake_ctx):
    n = 200  # 163 live: a key cluster needs ceil(2% of 163) = 4 clean neurons
    freq = np.array([2] * 100 + [5] * 60 + [7] * 3 + [-1] * 37)  # 7: too few neurons; -1: dead
    frac = np.where(freq > 0, 0.95, np.nan)
    final = {"dominant_freq": freq, "dominant_frac": frac, "frac_explained": np.zeros((n, (P - 1) // 2))}
    ctx = _ctx(fake_ctx, _cube(), reference={"neuron_freq_clusters": final})
    out = get_analyzer("restricted_loss").fn(ctx)
    np.testing.assert_array_equal(out["key_freqs"], [2, 5])
    assert str(out["key_rule"]) == KEY_RULE
    given = get_analyzer("restricted_loss").fn(_ctx(fake_ctx, _cube(), options={"key_freqs": [2, 5]}))
    assert float(out["restricted_loss"]) == float(given["restricted_loss"])


def test_logits_of_key_frequencies_alone_survive_restriction_and_vanish_when_excluded(fake_ctx):
    a, b, c = np.meshgrid(np.arange(P), np.arange(P), np.arange(P), indexing="ij")
    cube = 4 * np.cos(2 * np.pi * 2 * (a + b - c) / P) + 3 * np.sin(2 * np.pi * 5 * (a + b) / P) * np.cos(c)
    out = get_analyzer("restricted_loss").fn(_ctx(fake_ctx, cube, options={"key_freqs": KEYS}))
    labels = (np.add.outer(np.arange(P), np.arange(P)) % P).reshape(-1)
    assert float(out["restricted_loss"]) == pytest.approx(_cross_entropy(cube.reshape(P * P, P), labels), rel=1e-10)
    assert float(out["excluded_loss"]) == pytest.approx(np.log(P), abs=1e-10)  # nothing left: uniform


def test_no_key_frequency_keeps_only_the_class_means(fake_ctx):
    cube = _cube()
    out = get_analyzer("restricted_loss").fn(_ctx(fake_ctx, cube, options={"key_freqs": []}))
    labels = (np.add.outer(np.arange(P), np.arange(P)) % P).reshape(-1)
    means = np.broadcast_to(cube.reshape(P * P, P).mean(axis=0), (P * P, P))
    assert out["key_freqs"].shape == (0,)
    assert float(out["restricted_loss"]) == pytest.approx(_cross_entropy(means.copy(), labels), rel=1e-10)
    assert float(out["excluded_loss"]) == pytest.approx(float(out["train_loss"]), rel=1e-12)


def test_out_of_range_key_frequency_is_refused(fake_ctx):
    with pytest.raises(ValueError, match="1..8"):
        get_analyzer("restricted_loss").fn(_ctx(fake_ctx, _cube(), options={"key_freqs": [9]}))
