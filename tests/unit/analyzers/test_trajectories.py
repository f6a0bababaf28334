"""Cross-epoch (summary) analyzers against ground truth built by hand."""

from __future__ import annotations

import numpy as np
import pytest
from _helpers import per_epoch_stack, summary_ctx

from analyzers.dimensionality_trajectory import dimensionality_trajectory
from analyzers.loss_decomposition import loss_decomposition
from analyzers.param_pca import count_self_intersections, param_pca, pca_scores
from analyzers.specialization_trajectory import freq_counts, specialization_trajectory
from analyzers.turn import ONSET_FRAC, estimate_turn, turn
from analyzers.weight_trajectory import param_velocity, weight_trajectory
from workbench.core.analyzer import get_analyzer

EPOCHS = np.arange(0, 10_001, 50)


def sigmoid_loss(epochs, center, width=200.0, decades=6.0, top=0.5):
    """Synthetic grokking curve: test loss collapses from 10**top to 10**(top - decades),
    a sigmoid in the loss itself whose steepest point is `center`."""
    hi, lo = 10**top, 10 ** (top - decades)
    return lo + (hi - lo) / (1 + np.exp((epochs - center) / width))


def logistic_onset(center, width):
    """Where a logistic collapse first falls at ONSET_FRAC of its peak rate, computed by hand:
    the rate is proportional to sech^2((t - center) / 2w), so sech^2(u/2) = ONSET_FRAC."""
    return center - 2 * width * np.arccosh(1 / np.sqrt(ONSET_FRAC))


# ---- turn ---------------------------------------------------------------------------------

@pytest.mark.parametrize("center", [2000, 6000, 8500])
@pytest.mark.parametrize("width", [150.0, 300.0])
def test_onset_and_midpoint_of_a_sigmoid(center, width):
    t = estimate_turn(EPOCHS, sigmoid_loss(EPOCHS, center, width))
    assert t.midpoint == center  # the steepest point, an evaluation epoch
    # within one evaluation (50 epochs) of the analytic onset: smoothing widens the collapse a little
    assert t.onset == pytest.approx(logistic_onset(center, width), abs=50) and t.onset % 50 == 0


def test_onset_and_midpoint_snap_to_evaluation_epochs():
    epochs = np.arange(0, 10_001, 70)  # no evaluation at the true midpoint 5000 or onset ~3908
    t = estimate_turn(epochs, sigmoid_loss(epochs, 5000, 300.0))
    assert t.midpoint in epochs and t.onset in epochs and float(t.onset).is_integer()
    assert abs(t.midpoint - 5000) <= 35 and abs(t.onset - logistic_onset(5000, 300.0)) <= 70


@pytest.mark.parametrize("ends", [(4000, 6000, 10_000), (3000, 9000, 10_000)])
def test_turn_is_stable_when_the_run_is_extended_past_the_collapse(ends):
    loss = sigmoid_loss(EPOCHS, 2000) * 10 ** (0.03 * np.sin(EPOCHS / 170))  # wiggles, so no symmetry helps
    turns = {estimate_turn(EPOCHS[EPOCHS <= end], loss[EPOCHS <= end])[:2] for end in ends}
    assert len(turns) == 1 and not np.isnan(turns.pop()[0])


def test_dense_evaluations_inside_the_collapse_do_not_change_the_smoothing():
    dense = np.union1d(EPOCHS, np.arange(1500, 2500, 10))  # e.g. extra evaluations at dense checkpoints
    regular = estimate_turn(EPOCHS, sigmoid_loss(EPOCHS, 2000))
    assert estimate_turn(dense, sigmoid_loss(dense, 2000))[:2] == regular[:2] == (1250, 2000)


def test_turn_after_memorization_bump_and_noise():
    rng = np.random.default_rng(0)
    bump = 0.8 * np.exp(-(((EPOCHS - 800) / 300) ** 2))  # test loss rises while memorizing
    loss = sigmoid_loss(EPOCHS, 5000) * 10 ** (bump + 0.05 * rng.normal(size=EPOCHS.size))
    t = estimate_turn(EPOCHS, loss)
    assert t.midpoint == pytest.approx(5000, abs=150) and t.onset == pytest.approx(logistic_onset(5000, 200), abs=150)


def test_recovery_from_loss_spike_is_not_the_turn():
    log_loss = np.log10(sigmoid_loss(EPOCHS, 3000)) + 5 * np.exp(-(((EPOCHS - 7000) / 150) ** 2))
    assert estimate_turn(EPOCHS, 10**log_loss).midpoint == 3000


RISE_AND_RETURN = 10 ** (-3 + 4.5 / (1 + np.exp(-(EPOCHS - 2000) / 200)) - 1.2 / (1 + np.exp(-(EPOCHS - 6000) / 200)))


@pytest.mark.parametrize("loss", [np.full(EPOCHS.size, 4.7), sigmoid_loss(EPOCHS, 5000, decades=0.5), RISE_AND_RETURN])
def test_no_turn_when_test_loss_never_drops(loss):
    assert all(np.isnan(v) for v in estimate_turn(EPOCHS, loss))


@pytest.mark.parametrize("fast", [3000, 7000])
def test_velocity_picks_between_equally_steep_drops(fast):
    # two equally steep collapses of the loss, at 3000 and at 7000
    log_loss = np.log10(1e-3 + 1.5 / (1 + np.exp((EPOCHS - 3000) / 200)) + 1.5 / (1 + np.exp((EPOCHS - 7000) / 200)))
    ckpt = np.arange(0, 10_001, 500)
    velocity = np.where(np.abs(ckpt - fast) <= 250, 5.0, 1.0)
    velocity[0] = np.nan
    t = estimate_turn(EPOCHS, 10**log_loss, ckpt, velocity)
    assert t.midpoint == pytest.approx(fast, abs=50) and t.velocity_peak == pytest.approx(fast, abs=300)
    assert t.onset == pytest.approx(logistic_onset(fast, 200), abs=50)


def test_turn_analyzer_from_contexts():
    ckpt = np.arange(0, 10_001, 500)
    flat = np.outer(np.sqrt(ckpt), np.ones(20)).astype(np.float32)  # [epoch, param]
    metrics = {"epoch": EPOCHS, "test_loss": sigmoid_loss(EPOCHS, 4000), "train_loss": np.full(EPOCHS.size, 1e-3)}
    out = turn(summary_ctx(ckpt, {"param_snapshot": {"flat": flat}}, metrics))
    assert float(out["turn_midpoint_epoch"]) == 4000 and float(out["turn_onset_epoch"]) == 3250
    assert float(out["turn_epoch"]) == float(out["turn_onset_epoch"])  # the old name, kept for views
    assert np.isfinite(out["velocity_peak_epoch"]) and all(v.shape == () for v in out.values())
    assert get_analyzer("turn").markers == ("turn_onset_epoch", "turn_midpoint_epoch")
    metrics["test_loss"] = np.full(EPOCHS.size, 4.0)
    assert all(np.isnan(v) for v in turn(summary_ctx(ckpt, {"param_snapshot": {"flat": flat}}, metrics)).values())


# ---- param_pca ---------------------------------------------------------------------------

def figure_eight(n=101, offset=0.013):
    t = offset + np.linspace(0, 2 * np.pi, n)  # closed: last point = first point
    return np.stack([np.sin(t), np.sin(2 * t) / 2], axis=1)


def test_figure_eight_and_returning_loop_self_intersect():
    assert count_self_intersections(figure_eight()) == 1
    assert count_self_intersections(np.array([[-1, -1], [1, 1], [1, -1], [-1, 1], [-1, -1]])) == 1  # bow tie
    t = np.linspace(0, 2 * np.pi + 0.7, 80)  # goes round and crosses its own start
    assert count_self_intersections(np.stack([np.cos(t), np.sin(t)], axis=1)) >= 1


def test_straight_spiral_and_exactly_closed_paths_do_not_self_intersect():
    s = np.linspace(0, 1, 50)
    assert count_self_intersections(np.stack([s, 2 * s], axis=1)) == 0
    t = np.linspace(0.5, 6 * np.pi, 300)
    assert count_self_intersections(np.stack([t * np.cos(t), t * np.sin(t)], axis=1)) == 0
    t = np.linspace(0, 2 * np.pi, 40)  # a circle that only touches its start point
    assert count_self_intersections(np.stack([np.cos(t), np.sin(t)], axis=1)) == 0
    assert count_self_intersections(np.zeros((2, 2))) == 0


def test_pca_finds_embedded_figure_eight_in_pc2_pc3():
    t = 0.013 + np.linspace(0, 2 * np.pi, 101)
    low = np.stack([5 * np.cos(3 * t), np.sin(t), np.sin(2 * t) / 2], axis=1)  # variances 12.5 > 0.5 > 0.125
    q, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(40, 3)))
    flat = (low @ q.T + 1.0).astype(np.float32)  # [epoch, param]
    scores, ratio = pca_scores(flat)
    assert ratio[0] == pytest.approx(12.5 / 13.125, rel=1e-3) and ratio.sum() == pytest.approx(1.0, abs=1e-4)
    np.testing.assert_allclose(np.abs(scores[:, 0]), np.abs(low[:, 0] - low[:, 0].mean()), atol=1e-3)
    out = param_pca(summary_ctx(np.arange(101), {"param_snapshot": {"flat": flat}}))
    assert bool(out["self_intersects"]) and int(out["n_intersections"]) == 1
    drift = np.outer(np.arange(30.0), q[:, 0]) + 0.01 * np.outer(np.arange(30.0) ** 2, q[:, 1])
    out = param_pca(summary_ctx(np.arange(30), {"param_snapshot": {"flat": drift.astype(np.float32)}}))
    assert not bool(out["self_intersects"]) and out["pcs"].shape == (30, 3)


def test_pca_with_fewer_epochs_than_components():
    scores, ratio = pca_scores(np.array([[0.0, 1.0], [2.0, 1.0]]))
    assert scores.shape == (2, 3) and ratio[0] == pytest.approx(1.0) and np.all(scores[:, 1:] == 0)


# ---- stacked trajectories ----------------------------------------------------------------

def test_weight_trajectory_velocity_and_norms():
    v = np.array([3.0, 4.0])  # |v| = 5: v / 5 moves at unit speed
    ep = np.array([0, 10, 30])
    flat = np.outer(ep, v / 5).astype(np.float32)
    np.testing.assert_allclose(param_velocity(flat, ep), [np.nan, 1.0, 1.0], rtol=1e-6)
    snap = {"flat": flat, "matrix_names": np.array([["a", "b"]] * 3),
            "weight_norms": np.array([[3, 4]] * 3, np.float32)}
    out = weight_trajectory(summary_ctx(ep, {"param_snapshot": snap}))
    assert list(out["matrix_names"]) == ["a", "b"] and np.allclose(out["total_norm"], 5.0)
    assert np.isnan(out["velocity"][0]) and out["weight_norms"].shape == (3, 2)


def test_dimensionality_trajectory_and_loss_decomposition_stack_per_epoch_arrays():
    per = [{"matrix_names": np.array(["x", "y"]), "participation_ratio": np.array([e, 2 * e], np.float32),
            "spectral_gap": np.array([0.1, e], np.float32)} for e in (1.0, 2.0)]
    out = dimensionality_trajectory(summary_ctx([0, 5], {"effective_dim": per_epoch_stack(per)}))
    np.testing.assert_array_equal(out["participation_ratio"], [[1, 2], [2, 4]])
    assert list(out["matrix_names"]) == ["x", "y"] and out["spectral_gap"].shape == (2, 2)
    names = ("restricted_loss", "excluded_loss", "train_loss", "test_loss")
    fixed = {"key_freqs": np.array([4, 6]), "key_rule": np.array("paper: ..."), "key_source": np.array("logits")}
    losses = [{**{k: np.array(i + j) for j, k in enumerate(names)}, **fixed} for i in (0.0, 10.0)]
    out = loss_decomposition(summary_ctx([0, 5], {"restricted_loss": per_epoch_stack(losses)}))
    np.testing.assert_array_equal(out["excluded_loss"], [1, 11])
    np.testing.assert_array_equal(out["epochs"], [0, 5])
    np.testing.assert_array_equal(out["key_freqs"], [4, 6])  # fixed once per run: the last checkpoint's say it
    assert str(out["key_source"]) == "logits" and str(out["key_rule"]).startswith("paper")


def test_specialization_trajectory_counts_dominant_frequencies():
    dom = np.array([[1, 1, 3, 0], [8, 8, 8, 2]])  # 0 (none) is not counted
    np.testing.assert_array_equal(freq_counts(dom, 8), [[2, 0, 1, 0, 0, 0, 0, 0], [0, 1, 0, 0, 0, 0, 0, 3]])
    arts = {"embedding_fourier": {"freq_norms": np.ones((2, 8), np.float32)},
            "neuron_freq_clusters": {"dominant_freq": dom},
            "head_freq_specialization": {"dominant_freq": np.array([[1, 2], [3, 3]]),
                                         "purity": np.full((2, 2), 0.9)}}
    out = specialization_trajectory(summary_ctx([0, 5], arts, p=17))
    assert out["neuron_freq_counts"].shape == (2, 8) and out["neuron_freq_counts"][1, 7] == 3
    np.testing.assert_array_equal(out["head_dominant_freq"], [[1, 2], [3, 3]])
