"""Declared nulls against hand-built ground truth: a measure on shuffled or random data sits
inside its null; on planted Fourier structure it sits far outside (workbench.core.nulls).

The permutation null is drawn as the pipeline draws it (workbench.analysis.nulls.permute_context);
the random null's "freshly initialized networks" are Gaussian weights of the same shape (the
measures here are scale-free), one seed per draw. A measure on data exchangeable with the null's
draws lands anywhere among them, so "inside" is checked as within the draws' range, with 64 draws.
"""

from __future__ import annotations

import numpy as np
import pytest
from _helpers import epoch_ctx, random_weights

from workbench.analysis.checkpoint import build_epoch_context
from workbench.analysis.nulls import NULL_DRAWS, RANDOM_SEED0, permute_context
from workbench.core.analyzer import get_analyzer
from workbench.core.variant import parse_variant
from workbench.core.nulls import null_percentile

DRAWS = 64
HOOK = "blocks.0.mlp.hook_post"


def _null(name: str, ctx, contexts=None) -> dict[str, np.ndarray]:
    """{null output: [draw, ...]} of analyzer `name`: over `contexts`, or over DRAWS permutations of `ctx`."""
    spec = get_analyzer(name)
    if contexts is None:
        contexts = (permute_context(ctx, np.random.default_rng([7, d]), spec.kind) for d in range(DRAWS))
    outs = [spec.fn(c) for c in contexts]
    return {o: np.stack([np.asarray(out[o], dtype=np.float64) for out in outs]) for o in spec.null_outputs}


def _inside(value: float, draws: np.ndarray) -> bool:
    return float(np.nanmin(draws)) <= value <= float(np.nanmax(draws))


def _far_outside(value: float, draws: np.ndarray, side: str) -> bool:
    """Beyond every draw by more than the draws' own range."""
    lo, hi = float(np.nanmin(draws)), float(np.nanmax(draws))
    return value > hi + (hi - lo) if side == "above" else value < lo - (hi - lo)


# --------------------------------------------------------------- neuron fits
def _neuron_ctx(p: int, columns: list[np.ndarray]):
    post = np.zeros((p * p, 3, len(columns)), dtype=np.float32)  # [batch, pos, neuron]
    post[:, -1, :] = np.stack(columns, axis=1)
    return epoch_ctx(None, p, cache={HOOK: post})


def _planted_neurons(p: int, rng) -> list[np.ndarray]:
    a, b = np.divmod(np.arange(p * p), p)
    w = 2 * np.pi / p
    return [np.cos(w * k * (a + b) + rng.uniform(0, 2 * np.pi)) + 0.05 * rng.normal(size=p * p)
            for k in rng.integers(1, (p - 1) // 2 + 1, size=8)]


@pytest.mark.parametrize("p", [5, 17])
def test_neuron_fit_on_shuffled_maps_sits_inside_its_null(p):
    rng = np.random.default_rng(1)
    shuffled = [c[rng.permutation(p * p)] for c in _planted_neurons(p, rng)]
    ctx = _neuron_ctx(p, shuffled)
    value = float(get_analyzer("neuron_freq_clusters").fn(ctx)["mean_dominant_frac"])
    null = _null("neuron_freq_clusters", ctx)["mean_dominant_frac"]
    assert _inside(value, null), (value, null.min(), null.max())
    if p == 5:  # few residues: shuffled maps look Fourier-heavy, which only the null shows is chance
        assert value > 0.4


@pytest.mark.parametrize("p", [5, 17])
def test_neuron_fit_on_planted_frequencies_sits_far_above_its_null(p):
    ctx = _neuron_ctx(p, _planted_neurons(p, np.random.default_rng(2)))
    out = get_analyzer("neuron_freq_clusters").fn(ctx)
    null = _null("neuron_freq_clusters", ctx)
    assert out["mean_dominant_frac"] > 0.95 and _far_outside(float(out["mean_dominant_frac"]),
                                                           null["mean_dominant_frac"], "above")
    assert np.all(null_percentile(out["dominant_frac"], null["dominant_frac"]) == 100.0)  # each neuron too


# ------------------------------------------- neuron fits, the random-network null beside it
@pytest.fixture(scope="module")
def random_networks():
    """(the neuron fit's random null as the pipeline draws it, a context of one more random network) at p=17."""
    spec = get_analyzer("neuron_freq_clusters")
    variant = parse_variant("modular_addition:p=17")
    hooks = set(spec.hook_names(variant.family.capabilities(variant.params).as_dict()))

    def ctx(seed: int):
        state = variant.family.init_state(variant.params.model_copy(update={"seed": seed}))
        return build_epoch_context(variant, state, 0, hooks)

    return _null("neuron_freq_clusters", None, (ctx(RANDOM_SEED0 + d) for d in range(NULL_DRAWS))), ctx(7)


def test_neuron_fit_declares_a_random_null_beside_its_permutation_null():
    assert get_analyzer("neuron_freq_clusters").nulls == ("permutation", "random")


def test_an_untrained_network_sits_inside_the_random_null_though_far_above_the_permutation_null(random_networks):
    null, ctx = random_networks
    value = float(get_analyzer("neuron_freq_clusters").fn(ctx)["mean_dominant_frac"])
    assert _inside(value, null["mean_dominant_frac"]), (value, null["mean_dominant_frac"])
    # why the permutation null alone misleads: an untrained network's neurons are already "not noise"
    assert _far_outside(value, _null("neuron_freq_clusters", ctx)["mean_dominant_frac"], "above")


def test_planted_frequencies_sit_far_above_both_nulls(random_networks):
    null, _ = random_networks
    ctx = _neuron_ctx(17, _planted_neurons(17, np.random.default_rng(2)))
    value = float(get_analyzer("neuron_freq_clusters").fn(ctx)["mean_dominant_frac"])
    assert _far_outside(value, null["mean_dominant_frac"], "above")
    assert _far_outside(value, _null("neuron_freq_clusters", ctx)["mean_dominant_frac"], "above")


# ---------------------------------------------------- weight measures, random null
P = 17


def _planted_fourier_weights(seed: int = 3, k: int = 4) -> dict[str, np.ndarray]:
    """Random weights whose W_E and W_L = W_out W_U carry only frequency k of the residue."""
    w = random_weights(P, seed=seed)
    rng = np.random.default_rng(seed)
    wave = np.stack([np.cos(2 * np.pi * k * np.arange(P) / P), np.sin(2 * np.pi * k * np.arange(P) / P)], axis=1)
    w["embed.W_E"][:P] = wave @ rng.normal(size=(2, w["embed.W_E"].shape[1]))  # [p, d_model], rank 2
    w["unembed.W_U"] = rng.normal(size=(w["unembed.W_U"].shape[0], 2)) @ wave.T  # [d_model, p], rank 2
    return {n: a.astype(np.float32) for n, a in w.items()}


def _random_null(name: str) -> dict[str, np.ndarray]:
    return _null(name, None, (epoch_ctx(random_weights(P, seed=1000 + d), P) for d in range(DRAWS)))


def _row(out: dict, matrix: str) -> int:
    return list(out["matrix_names"]).index(matrix)


def test_participation_ratio_of_a_random_network_sits_inside_its_null_and_a_planted_one_far_below():
    spec, null = get_analyzer("effective_dim"), _random_null("effective_dim")["participation_ratio"]
    random_out = spec.fn(epoch_ctx(random_weights(P, seed=99), P))
    planted = spec.fn(epoch_ctx(_planted_fourier_weights(), P))
    for matrix in ("embed.W_E", "unembed.W_U", "blocks.0.mlp.W_in"):
        i = _row(random_out, matrix)
        assert _inside(float(random_out["participation_ratio"][i]), null[:, i]), matrix
    for matrix in ("embed.W_E", "unembed.W_U"):  # rank 2 (W_E's '=' row aside): a ratio near 2
        i = _row(planted, matrix)
        assert _far_outside(float(planted["participation_ratio"][i]), null[:, i], "below"), matrix
        assert null_percentile(planted["participation_ratio"][i], null[:, i]) == 0.0


@pytest.mark.parametrize("output", ["gini_embed", "gini_neuron_logit"])
def test_fourier_gini_of_a_random_network_sits_inside_its_null_and_a_planted_one_far_above(output):
    spec, null = get_analyzer("fourier_gini"), _random_null("fourier_gini")[output]
    assert _inside(float(spec.fn(epoch_ctx(random_weights(P, seed=99), P))[output]), null)
    planted = float(spec.fn(epoch_ctx(_planted_fourier_weights(), P))[output])
    assert planted > 0.85 and _far_outside(planted, null, "above")


# --------------------------------------------------------- restricted loss
def _loss_ctx(logits_ac: np.ndarray):
    full = np.zeros((P * P, 3, P), dtype=np.float32)
    full[:, -1, :] = logits_ac
    return epoch_ctx(None, P, logits=full, options={"key_freqs": [3, 5]})


def _planted_logits() -> np.ndarray:
    """[batch, class] logits that are the key-frequency waves of a + b - c."""
    a, b = np.divmod(np.arange(P * P), P)
    angle = 2 * np.pi * ((a + b)[:, None] - np.arange(P)[None, :]) / P
    return 4.0 * (np.cos(3 * angle) + np.cos(5 * angle))


@pytest.mark.parametrize("output", ["restricted_loss", "excluded_loss"])
def test_restricted_loss_on_shuffled_logits_sits_inside_its_null(output):
    # the loss over shuffles has a long upper tail (one shuffle in ~40 lands beyond 64 others), so
    # several shuffled data sets are read: most must land among their null's draws
    inside = 0
    for seed in range(10):
        ctx = _loss_ctx(_planted_logits()[np.random.default_rng(seed).permutation(P * P)])
        inside += _inside(float(get_analyzer("restricted_loss").fn(ctx)[output]), _null("restricted_loss", ctx)[output])
    assert inside >= 7, inside  # 8 and 9 of 10 here; 9.7 expected of exchangeable draws


def test_restricted_loss_on_planted_key_logits_sits_far_below_its_null():
    ctx = _loss_ctx(_planted_logits())
    out = get_analyzer("restricted_loss").fn(ctx)
    null = _null("restricted_loss", ctx)["restricted_loss"]
    assert _far_outside(float(out["restricted_loss"]), null, "below")
    assert null_percentile(out["restricted_loss"], null) == 0.0
