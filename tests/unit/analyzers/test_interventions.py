"""Interventions against ground truth: a real (randomly initialized) 1-layer model of the tiny
modular-addition variant, edited by hand where the answer is known without the analyzer."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from analyzers._intervene import Edit, ablate_hook, effect, filter_grid, filter_rows, grid_rows, replace_at_answer
from analyzers.interventions import check_options, head_list, interventions, patch_source
from analyzers.key_frequencies import key_frequencies
from workbench.analysis.checkpoint import build_epoch_context
from workbench.core.fourier import fourier_basis
from workbench.core.variant import parse_variant
from workbench.testing import tiny_variant

VARIANT = tiny_variant("modular_addition")
P = VARIANT.params.p
ALL = list(range(1, (P - 1) // 2 + 1))
NEURONS = "blocks.0.mlp.hook_post"


def _state(seed: int = 0, edit=None) -> dict[str, torch.Tensor]:
    torch.manual_seed(seed)
    state = {k: v + 0.3 * torch.randn_like(v) for k, v in VARIANT.family.init_state(VARIANT.params).items()}
    if edit:
        edit(state)
    return state


def _ctx(state, options=None):
    ctx = build_epoch_context(VARIANT, state, 7, {NEURONS}, options=options)
    refs = {"key_frequencies": key_frequencies(ctx), "patch_source": patch_source(ctx)}
    return dataclasses.replace(ctx, reference=lambda name: refs[name])


@pytest.fixture(scope="module")
def ctx():
    return _ctx(_state())


def _scores(ctx, hooks=(), logits=None):
    return effect(ctx, Edit("x", "test", list(hooks), logits))


def test_ablating_nothing_changes_nothing(ctx):
    base = _scores(ctx)
    for hook, dim in (("blocks.0.attn.hook_z", -2), (NEURONS, -1)):
        for mode in ("zero", "mean"):
            assert _scores(ctx, [(hook, ablate_hook([], mode, dim))]) == pytest.approx(base, rel=1e-6, abs=1e-9)


def test_patching_a_checkpoint_into_itself_changes_nothing(ctx):
    out = interventions(ctx)
    names = list(out["edit_names"])
    patched, none = names.index(next(n for n in names if "patched from epoch 7" in n)), names.index("none")
    for m in ("train_loss", "test_loss", "train_acc", "test_acc"):
        assert out[m][patched] == pytest.approx(out[m][none], rel=1e-6, abs=1e-9)


def test_zero_ablating_a_head_is_the_model_without_its_output_weights(ctx):
    def no_head_1(state):
        state["blocks.0.attn.W_O"][1] = 0.0
    truth = _scores(_ctx(_state(edit=no_head_1)))
    assert _scores(ctx, [("blocks.0.attn.hook_z", ablate_hook([1], "zero", -2))]) == pytest.approx(truth, rel=1e-5)


def test_a_model_whose_answer_one_neuron_carries():
    """W_out zero but for neuron 3: ablating any other neuron changes nothing; zero-ablating
    neuron 3 is the model with no MLP output at all."""
    def only_3(state):
        keep = state["blocks.0.mlp.W_out"][3].clone()
        state["blocks.0.mlp.W_out"].zero_()
        state["blocks.0.mlp.W_out"][3] = 10 * keep
    ctx = _ctx(_state(1, only_3))
    base = _scores(ctx)
    others = [n for n in range(ctx.cache[NEURONS].shape[-1]) if n != 3]
    assert _scores(ctx, [(NEURONS, ablate_hook(others, "zero", -1))]) == pytest.approx(base, rel=1e-5, abs=1e-9)
    truth = _scores(_ctx(_state(1, lambda s: (only_3(s), s["blocks.0.mlp.W_out"].zero_()))))
    assert _scores(ctx, [(NEURONS, ablate_hook([3], "zero", -1))]) == pytest.approx(truth, rel=1e-5)
    assert truth != pytest.approx(base, rel=1e-3)


def test_mean_ablating_a_constant_head_changes_nothing():
    """A head whose values are zero but for its bias-free constant... built as W_V = 0: its z is 0 everywhere."""
    def flat_head_0(state):
        state["blocks.0.attn.W_V"][0] = 0.0
    ctx = _ctx(_state(2, flat_head_0))
    assert _scores(ctx, [("blocks.0.attn.hook_z", ablate_hook([0], "mean", -2))]) == pytest.approx(_scores(ctx), rel=1e-6)


def test_removing_every_frequency_from_the_logits_leaves_each_class_mean(ctx):
    logits = ctx.logits[:, 2, :].astype(np.float64)
    rows, basis = grid_rows(ctx), fourier_basis(P)
    flat = filter_grid(logits, rows, basis, ALL, keep=False)
    np.testing.assert_allclose(flat, np.broadcast_to(logits.mean(axis=0), flat.shape), atol=1e-9)
    np.testing.assert_allclose(filter_grid(logits, rows, basis, ALL, keep=True), logits, atol=1e-9)
    scored = _scores(ctx, logits=lambda lg: filter_grid(lg.astype(np.float64), rows, basis, ALL, False))
    assert scored["test_acc"] == pytest.approx(float(np.mean(np.argmax(logits.mean(0)) == ctx.labels[ctx.test_mask])))


def test_keep_and_remove_split_a_map_into_its_parts(ctx):
    """keep(K) + remove(K) = the map + its constant; a pure key wave survives keep and vanishes under remove."""
    rng = np.random.default_rng(0)
    values, rows, basis = rng.normal(size=(P * P, 5)), grid_rows(ctx), fourier_basis(P)
    kept, removed = (filter_grid(values, rows, basis, [2, 5], keep) for keep in (True, False))
    np.testing.assert_allclose(kept + removed, values + values.mean(axis=0), atol=1e-9)
    a, b = np.divmod(np.arange(P * P), P)
    wave = np.cos(2 * np.pi * 5 * (a + b) / P)[:, None] + 0.5 * np.sin(2 * np.pi * 2 * a / P)[:, None]
    np.testing.assert_allclose(filter_grid(wave, rows, basis, [2, 5], True), wave, atol=1e-9)
    np.testing.assert_allclose(filter_grid(wave, rows, basis, [2, 5], False), 0 * wave, atol=1e-9)


def test_embedding_filter_keeps_everything_or_removes_a_wave():
    basis = fourier_basis(P)
    w = np.random.default_rng(1).normal(size=(P, 4))
    np.testing.assert_allclose(filter_rows(w, basis, ALL, True), w, atol=1e-9)
    wave = np.cos(2 * np.pi * 3 * np.arange(P) / P)[:, None] * np.ones((1, 4))
    np.testing.assert_allclose(filter_rows(wave, basis, [3], False), 0 * wave, atol=1e-9)


def test_keeping_every_frequency_everywhere_changes_nothing():
    ctx = _ctx(_state(), options={"key_freqs": ALL})
    out = interventions(ctx)
    none = list(out["edit_names"]).index("none")
    for name in ("W_E keep only key", "neurons keep only key", "logits keep only key"):
        i = list(out["edit_names"]).index(name)
        assert out["test_loss"][i] == pytest.approx(out["test_loss"][none], rel=1e-4), name


def test_patching_replaces_the_answer_activation(ctx):
    """Patching in zeros is zero-ablating every neuron (at the answer position, the only one a 1-layer model reads)."""
    zeros = np.zeros_like(ctx.cache[NEURONS][:, 2])
    every = list(range(zeros.shape[-1]))
    assert _scores(ctx, [(NEURONS, replace_at_answer(ctx, zeros))]) == pytest.approx(
        _scores(ctx, [(NEURONS, ablate_hook(every, "zero", -1))]), rel=1e-6)


@pytest.mark.parametrize("options, match", [
    ({"ablate_heads": ["7"]}, "no head '7'"), ({"ablate_heads": ["1.0"]}, "no head '1.0'"),
    ({"ablate_neurons": [10_000]}, "no neuron 10000"), ({"key_freqs": [P]}, f"no frequency {P}"),
    ({"ablate_mode": "half"}, "ablate_mode must be"),
])
def test_unknown_heads_neurons_and_frequencies_are_refused(ctx, options, match):
    shapes = {k: tuple(v.shape) for k, v in ctx.weights.items()}
    with pytest.raises(ValueError, match=match):
        check_options(options, ctx.family, shapes)


def test_head_list_reads_layer_dot_head():
    caps = {"n_layers": 2, "n_heads": 4}
    assert head_list(caps, ["1.3", "0.0"]) == [(1, 3), (0, 0)]
    assert len(head_list(caps)) == 8


def _embed_rows(variant) -> int | None:
    """Rows of hook_embed for one probe input (None: the model has no hook_embed)."""
    params = variant.params
    model = variant.family.tl_model(params, variant.family.init_state(params), "cpu")
    if "hook_embed" not in model.hook_dict:
        return None
    shapes = []
    with torch.no_grad():
        model.run_with_hooks(variant.family.probe(params).inputs[:1],
                             fwd_hooks=[("hook_embed", lambda act, hook: shapes.append(tuple(act.shape)))])
    return shapes[0][1] if len(shapes[0]) == 3 else 1


@pytest.mark.parametrize("variant", [tiny_variant("modular_addition"), tiny_variant("modular_arithmetic"),
                                     *(parse_variant("least_action:p=7,hidden_dim=16,n_heads=2,d_model=16", {"model": m})
                                       for m in ("mlp", "routed", "routed_study", "transformer"))],
                         ids=lambda v: v.spec)
def test_the_joint_embed_declaration_matches_the_model(variant):
    """The capability the W_E edit reads says what the model's hook_embed holds: one row per token
    position (W_E[token] at each operand) unless the family declares the operands embedded together."""
    caps = variant.family.capabilities(variant.params).as_dict()
    rows = _embed_rows(variant)
    per_operand = rows is not None and rows > max(caps["modular"]["operands"])
    assert bool(caps.get("joint_embed")) == (rows is not None and not per_operand), (rows, caps.get("joint_embed"))


def test_a_joint_embedding_has_no_w_e_edit():
    routed = parse_variant("least_action:p=7,model=routed_study,hidden_dim=16")
    state = routed.family.init_state(routed.params)
    names = list(interventions(_ctx_of(routed, state, {"key_freqs": [1]}))["edit_names"])
    assert not any(n.startswith("W_E") for n in names) and "neurons keep only key" in names, names
    assert any(n.startswith("W_E") for n in interventions(_ctx(_state(), options={"key_freqs": [1]}))["edit_names"])


def _ctx_of(variant, state, options):
    hooks = set(variant.family.capabilities(variant.params).neuron_hooks)
    ctx = build_epoch_context(variant, state, 7, hooks, options=options)
    refs = {"key_frequencies": key_frequencies(ctx), "patch_source": patch_source(ctx)}
    return dataclasses.replace(ctx, reference=lambda name: refs[name])
