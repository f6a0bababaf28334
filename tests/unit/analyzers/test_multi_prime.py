"""Multi-prime analyzers (issue 13) against hand-built ground truth: an exact model's sweep,
pure cos(2 pi k (a + b) / p) neurons, and a hand-written accuracy history."""

from __future__ import annotations

import numpy as np
import pytest

from analyzers._multi_prime import fit_sinusoid, prime_blocks
from analyzers.prime_regressions import regressions
from families._universal import MASKED
from workbench.core.analyzer import get_analyzer
from workbench.core.context import EpochContext, SummaryContext
from workbench.core.family import get_family
from workbench.core.variant import parse_variant

SPEC = "universal_modular:max_p=23,train_min=3,train_max=13,n_unseen=1,d_mlp=4"
FAMILY = get_family("universal_modular")
K = 2  # every hand-built oscillator has frequency 2 for every p


def _context(neurons, logits=None) -> EpochContext:
    """An EpochContext over the family's probe; `neurons(p, a, b)` -> [rows, n] activations."""
    params = parse_variant(SPEC).params
    probe = FAMILY.probe(params)
    x, y = probe.inputs.numpy(), probe.labels.numpy()
    p, a, b = x[:, 0], x[:, 1], x[:, 2]
    if logits is None:  # the exact model: one-hot (a + b) mod p, classes >= p masked
        logits = np.where(np.arange(23) >= p[:, None], MASKED, 0.0)
        logits[np.arange(len(y)), y] = 10.0
    caps = FAMILY.analysis_context(params)
    acts = neurons(p, a, b)[:, None, :].astype(np.float32)  # [rows, 1, n]: the answer position
    return EpochContext(epoch=0, model=None, weights={}, cache={caps["multi_prime"]["answer_neuron_hook"]: acts},
                        logits=logits[:, None].astype(np.float32), probe=x, labels=y, train_mask=probe.train_mask.numpy(),
                        test_mask=~probe.train_mask.numpy(), family=caps, options={})


def _oscillators(p, a, b):
    s = 2 * np.pi * K * (a + b) / p
    rng = np.random.default_rng(0)
    return np.stack([np.cos(s), 3 + 2 * np.sin(s), np.cos(2 * np.pi * K * a / p) + np.cos(2 * np.pi * (K + 1) * b / p),
                     rng.normal(size=len(p))], axis=1)


def test_sweep_of_an_exact_model_is_one_for_every_prime():
    out = get_analyzer("prime_sweep").fn(_context(_oscillators))
    assert list(out["primes"]) == [2, 3, 5, 7, 11, 13, 17, 19, 23]
    assert (out["accuracy"] == 1.0).all() and (out["loss"] < 1e-3).all()
    assert list(out["group"][:1]) == [3] and list(out["group"][-3:]) == [2, 2, 2] and (out["group"] == 1).sum() == 1
    np.testing.assert_array_equal(out["group_accuracy"], [1, 1, 1, 1])


def test_sweep_of_a_model_that_always_answers_zero_is_one_over_p():
    ctx = _context(_oscillators)
    logits = np.where(np.arange(23) >= ctx.probe[:, :1], MASKED, 0.0)
    logits[:, 0] = 5.0
    out = get_analyzer("prime_sweep").fn(_context(_oscillators, logits))
    np.testing.assert_allclose(out["accuracy"], 1 / out["primes"], rtol=1e-6)


def test_modular_sum_signal_of_a_pure_cosine_neuron_is_that_cosine():
    out = get_analyzer("modular_sum_signal").fn(_context(_oscillators))
    primes = out["primes"]
    big = primes >= 5
    np.testing.assert_array_equal(out["fit_freq"][big, 0], K)
    np.testing.assert_allclose(out["fit_amp"][big, 0], 1, atol=1e-5)
    np.testing.assert_allclose(out["fit_r2"][big, 0], 1, atol=1e-5)
    np.testing.assert_allclose(out["fit_phase"][big, 0], 0, atol=1e-5)
    # 3 + 2 sin(x) = 3 + 2 cos(x - pi/2)
    np.testing.assert_allclose(out["fit_offset"][big, 1], 3, atol=1e-5)
    np.testing.assert_allclose(out["fit_amp"][big, 1], 2, atol=1e-5)
    np.testing.assert_allclose(out["fit_phase"][big, 1], -np.pi / 2, atol=1e-5)
    assert (out["fit_freq"][~big] == -1).all() and np.isnan(out["fit_r2"][~big]).all()
    # the stored curve of neuron 0 is cos(2 pi K s / p), NaN past p
    row = out["neurons"].tolist().index(0)
    for i, p in enumerate(primes):
        np.testing.assert_allclose(out["signal"][i, row, :p], np.cos(2 * np.pi * K * np.arange(p) / p), atol=1e-5)
        assert np.isnan(out["signal"][i, row, p:]).all()


def test_fit_of_a_constant_signal_has_no_frequency():
    fit = fit_sinusoid(np.ones((7, 1)))
    assert fit["freq"][0] == -1 and np.isnan(fit["r2"][0]) and fit["offset"][0] == pytest.approx(1)


def test_prime_fourier_purity_of_pure_and_mixed_neurons():
    out = get_analyzer("prime_fourier").fn(_context(_oscillators))
    big = out["primes"] >= 5
    np.testing.assert_allclose(out["purity"][big, :2], 1, atol=1e-6)
    np.testing.assert_array_equal(out["best_freq"][big, :2], K)
    # cos(K a) + cos((K+1) b): two frequencies of equal power, half each (from p = 7: at p = 5, 3 = -2)
    mixed = out["primes"] >= 7
    np.testing.assert_allclose(out["purity"][mixed, 2], 0.5, atol=1e-6)
    np.testing.assert_allclose(out["snr"][mixed, 2], 1, atol=1e-4)
    assert (out["purity"][big, 3] < 0.6).all()  # noise spreads over every frequency
    assert np.isnan(out["purity"][~big]).all() and (out["best_freq"][~big] == -1).all()


def test_neuron_adaptation_ranks_constant_frequency_oscillators_first():
    ctx = _context(_oscillators)
    out = get_analyzer("neuron_adaptation").fn(ctx)
    # neuron 2 (cos K a + cos (K+1) b) has no (a + b) signal at all: score 0, last
    assert set(out["neurons"][:2].tolist()) == {0, 1} and out["neurons"].tolist()[2:] == [3, 2]
    np.testing.assert_allclose(out["score"][:2], 1, atol=1e-5)
    np.testing.assert_array_equal(out["constancy"][:2], 1)
    assert out["score"][3] < 0.5 and out["score"][2] == 0
    unseen = out["primes"][np.array(ctx.family["multi_prime"]["groups"]) == 1].tolist()
    assert out["show_primes"].tolist()[1:] == [13, *unseen, 17]
    blocks = {b.p: b for b in prime_blocks(ctx)}
    for j, p in enumerate(out["show_primes"]):
        i = out["neurons"].tolist().index(0)
        a, b = np.meshgrid(np.arange(p), np.arange(p), indexing="ij")
        np.testing.assert_allclose(out["patterns"][i, j, :p, :p], np.cos(2 * np.pi * K * (a + b) / p), atol=1e-5)
        assert out["pattern_freq"][i, j] == K and p in blocks


def test_regressions_flag_a_reached_prime_that_falls_by_at_least_the_threshold():
    epochs = np.array([0, 10, 20, 30, 40])
    acc = np.array([[0.1, 0.5, 0.7, 0.9, 0.95],  # prime 0 only improves
                    [0.1, 0.76, 0.6, 0.46, 0.70],  # prime 1: reaches 0.76, falls to 0.46 (0.30), recovers
                    [0.1, 0.65, 0.55, 0.50, 0.52],  # prime 2: falls only 0.15 below its 0.65
                    [0.1, 0.55, 0.30, 0.58, 0.59],  # prime 3 falls 0.25 but never reached 0.6
                    [0.1, 0.80, 0.60, 0.70, 0.70]]).T  # prime 4 falls exactly 0.2: counts
    found = regressions(acc, epochs)
    np.testing.assert_array_equal(found["alert"], [False, True, False, False, True])
    np.testing.assert_allclose(found["drop"], [0.0, 0.30, 0.15, 0.0, 0.2], atol=1e-9)
    assert found["peak_epoch"][1] == 10 and found["trough_epoch"][1] == 30 and found["alert_epoch"][1] == 30
    assert found["alert_epoch"][4] == 20 and np.isnan(found["peak_epoch"][0]) and np.isnan(found["alert_epoch"][3])


def test_regressions_find_the_studys_p37_case_on_its_checkpoint_schedule():
    """The study's README: p = 37 fell from 76% (40k) to 46% (90k) while p = 71 improved; checkpoints every 5k."""
    epochs = np.arange(0, 100_001, 5_000)
    p37 = np.interp(epochs, [0, 40_000, 90_000, 100_000], [0.05, 0.76, 0.46, 0.47])
    p71 = np.interp(epochs, [0, 100_000], [0.02, 0.675])
    jitter = 0.9 + 0.05 * np.cos(epochs / 5_000 * np.pi)  # a mastered prime wobbling by 0.1: under the threshold
    found = regressions(np.stack([p37, p71, jitter], 1), epochs)
    np.testing.assert_array_equal(found["alert"], [True, False, False])
    assert found["drop"][0] == pytest.approx(0.30) and found["peak_epoch"][0] == 40_000
    assert found["trough_epoch"][0] == 90_000 and found["alert_epoch"][0] == 75_000  # falls 0.006 per 1k: 0.18 at 70k, 0.21 at 75k


def test_prime_regressions_summary_lists_alerted_primes_and_marks_the_first():
    acc = np.array([[0.2, 0.8], [0.7, 0.5], [0.9, 0.4]], dtype=np.float32)
    sweep = {"primes": np.array([[5, 7]] * 3), "group": np.array([[0, 1]] * 3), "accuracy": acc,
             "group_accuracy": np.zeros((3, 4), dtype=np.float32)}
    ctx = SummaryContext(epochs=np.array([0, 100, 200]), metrics={}, artifacts=lambda name: sweep, family={})
    out = get_analyzer("prime_regressions").fn(ctx)
    assert out["alerted_primes"].tolist() == [7] and float(out["regression_epoch"]) == 100
    assert float(out["reach"]) == 0.6 and float(out["drop_threshold"]) == 0.2


def _zp_and_raw(p, a, b):
    """Neuron 0 a Z_p Fourier neuron, neuron 1 a wave in the raw sum (period 4), 2 and 3 noise."""
    rng = np.random.default_rng(3)
    return np.stack([np.cos(2 * np.pi * K * (a + b) / p), np.cos(2 * np.pi * (a + b) / 4),
                     *rng.normal(size=(2, len(p)))], axis=1)


def test_modular_sum_signal_tells_a_zp_neuron_from_a_raw_sum_wave():
    out = get_analyzer("modular_sum_signal").fn(_context(_zp_and_raw))
    primes = out["primes"]
    decided = primes >= 11
    assert (out["fit_r2"][primes >= 13, 1] > 0.9).all()  # the raw-sum wave fits well (from 13: enough residues)
    np.testing.assert_array_equal(out["zp_fourier"][decided, 0], 1)
    np.testing.assert_array_equal(out["zp_fourier"][decided, 1], 0)
    np.testing.assert_array_equal(out["zp_fourier"][decided, 2:], 0)
    assert np.isnan(out["zp_fourier"][~decided]).all()
    np.testing.assert_allclose(out["wrap"][decided, 0], 1, atol=1e-5)
    # wrap of the period-4 wave is cos(2 pi p / 4): 0 for odd p
    np.testing.assert_allclose(out["wrap"][decided, 1], 0, atol=0.1)
    assert (out["fit_r2_null_q50"][decided] < out["fit_r2_null_q99"][decided]).all()
    assert (out["fit_p_fw"][decided, 0] <= 0.01).all() and (out["fit_p"][decided, 2:] > 0.001).all()
    # the wrap curves of the Z_p neuron are the same on both sides of the wrap
    i, row = int(np.flatnonzero(primes == 23)[0]), out["neurons"].tolist().index(0)
    np.testing.assert_allclose(out["signal_nowrap"][i, row, :22], out["signal_wrap"][i, row, :22], atol=1e-5)
    assert np.isnan(out["signal_wrap"][i, row, 22:]).all()


def test_neuron_adaptation_reports_the_share_of_primes_with_a_zp_verdict():
    out = get_analyzer("neuron_adaptation").fn(_context(_zp_and_raw))
    np.testing.assert_allclose(out["zp_share"], [1, 0, 0, 0])
    assert out["zp_fourier"].shape == out["wrap"].shape == out["p_fw"].shape == (len(out["primes"]), 4)
