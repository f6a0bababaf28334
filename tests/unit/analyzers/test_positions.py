"""Ground truth for what analyzers read from the family's capabilities: operand and answer
positions, every layer's attention, the chosen layer's neurons, the residual hooks, and a
final LayerNorm before the logit lens's unembedding.

The hand-built family below lays its probe out as [a, op, b, =] (operands at 0 and 2,
the answer at 3, rows shuffled) with two layers; every value an analyzer should read is
planted at those places and noise everywhere else.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from _helpers import epoch_ctx, modular_family

from analyzers._output import stage_logits, stage_names
from workbench.core.analyzer import get_analyzer

P, N_HEADS, D_MLP, D_MODEL = 7, 2, 3, 5
LAYERS = ("blocks.0", "blocks.1")
RESID = ["blocks.0.hook_resid_pre"] + [f"{b}.hook_resid_{s}" for b in LAYERS for s in ("mid", "post")]


def _family(**caps) -> dict:
    return modular_family(P, operands=(0, 2), answer=3, n_layers=2, neuron_hooks=[f"{b}.mlp.hook_post" for b in LAYERS],
                          attention_hooks=[f"{b}.attn.hook_pattern" for b in LAYERS], resid_hooks=RESID, **caps)


@pytest.fixture
def layout():
    """(probe [p², 4] in shuffled order, a, b, rng)."""
    rng = np.random.default_rng(0)
    order = rng.permutation(P * P)
    a, b = (x[order] for x in np.divmod(np.arange(P * P), P))
    probe = np.stack([a, np.full_like(a, P), b, np.full_like(a, P + 1)], axis=1)
    return probe, a, b, rng


def _noise(rng, *shape) -> np.ndarray:
    return (rng.standard_normal(shape) * 50).astype(np.float32)


@pytest.mark.parametrize("chosen", [0, 1])
def test_neurons_are_the_chosen_layers_at_the_answer_position(layout, chosen):
    """The layer whose neurons key_frequencies ranks first at the final checkpoint, at the answer position."""
    probe, a, b, rng = layout
    cache = {f"{blk}.mlp.hook_post": _noise(rng, P * P, 4, D_MLP) for blk in LAYERS}
    want = (a * 10 + b)[:, None] + np.arange(D_MLP)  # [batch, neuron]: exact in float16
    cache[f"blocks.{chosen}.mlp.hook_post"][:, 3, :] = want
    explained = [0.2, 0.2, 0.1, 0.05]
    explained[chosen] = 0.9
    final = {"source_names": np.array([*(f"{blk}.mlp.hook_post" for blk in LAYERS), "embed.W_E", "logits"]),
             "explained": np.array(explained)}
    ctx = epoch_ctx(None, P, probe=probe, cache=cache, family=_family(), reference={"key_frequencies": final})
    out = get_analyzer("neuron_activations").fn(ctx)  # [neuron, a, b]
    grid_a, grid_b = np.meshgrid(np.arange(P), np.arange(P), indexing="ij")
    for n in range(D_MLP):
        np.testing.assert_array_equal(out["acts"][n], grid_a * 10 + grid_b + n)
    assert str(out["layer"]) == f"blocks.{chosen}.mlp.hook_post"
    assert get_analyzer("neuron_activations").hook_names(ctx.family) == tuple(f"{b}.mlp.hook_post" for b in LAYERS)


def test_attention_of_every_layer_from_the_answer_query(layout):
    probe, a, b, rng = layout
    cache = {f"{blk}.attn.hook_pattern": _noise(rng, P * P, N_HEADS, 4, 4) for blk in LAYERS}
    for layer, blk in enumerate(LAYERS):
        for h in range(N_HEADS):
            for k in range(4):
                cache[f"{blk}.attn.hook_pattern"][:, h, 3, k] = a + 2 * b + 10 * k + 100 * h + 1000 * layer
            # the attention to a: a pure cos of frequency 1 + head + 2 * layer in a
            freq = 1 + h + N_HEADS * layer
            cache[f"{blk}.attn.hook_pattern"][:, h, 3, 0] = np.cos(2 * np.pi * freq * a / P)
    ctx = epoch_ctx(None, P, probe=probe, cache=cache, family=_family())
    out = get_analyzer("attention_patterns").fn(ctx)
    assert out["pattern"].shape == (2 * N_HEADS, 4, P, P)
    np.testing.assert_array_equal(out["layer"], [0, 0, 1, 1])
    assert list(out["key_names"]) == ["a", "pos 1", "b", "="]
    ga, gb = np.meshgrid(np.arange(P), np.arange(P), indexing="ij")
    for head, (layer, h) in enumerate([(0, 0), (0, 1), (1, 0), (1, 1)]):
        np.testing.assert_allclose(out["pattern"][head, 2], ga + 2 * gb + 20 + 100 * h + 1000 * layer)
    spec = get_analyzer("head_freq_specialization").fn(ctx)
    np.testing.assert_array_equal(spec["dominant_freq"], [1, 2, 3, 3])  # 1 + h + 2 layer; 4 aliases to 3 at p=7
    np.testing.assert_allclose(spec["purity"], 1.0, atol=1e-6)
    np.testing.assert_array_equal(spec["layer"], [0, 0, 1, 1])


def _answer_logits(probe, labels, rng) -> np.ndarray:
    """Logits right (by a margin that grows with a) at position 3, wrong at every other position."""
    logits = _noise(rng, len(probe), 4, P)
    logits[:, 3] = np.eye(P, dtype=np.float32)[labels] * (1 + probe[:, 0:1])
    return logits


def test_output_analyzers_read_the_answer_position(layout):
    probe, a, b, rng = layout
    ctx = epoch_ctx(None, P, probe=probe, family=_family())
    np.testing.assert_array_equal(ctx.labels, (a + b) % P)
    ctx.logits = _answer_logits(probe, ctx.labels, rng)
    out = get_analyzer("loss_accuracy").fn(ctx)
    assert float(out["train_acc"]) == float(out["test_acc"]) == 1.0


def test_restricted_loss_is_the_same_whatever_the_layout(layout):
    probe, a, b, rng = layout
    moved = epoch_ctx(None, P, probe=probe, family=_family(), options={"key_freqs": [1, 3]})
    moved.logits = _answer_logits(probe, moved.labels, rng)
    # the canonical layout [a, b, =] with the same logits for each (a, b), answer last
    canon = epoch_ctx(None, P, probe=np.stack([a, b, np.full_like(a, P)], axis=1), options={"key_freqs": [1, 3]})
    canon.train_mask, canon.test_mask = moved.train_mask, moved.test_mask
    canon.logits = moved.logits[:, 1:]  # positions 1..3: the answer lands last
    ours, theirs = get_analyzer("restricted_loss").fn(moved), get_analyzer("restricted_loss").fn(canon)
    for key in ("restricted_loss", "excluded_loss", "train_loss", "test_loss"):
        assert float(ours[key]) == pytest.approx(float(theirs[key]), rel=1e-12), key


def _lens_weights(rng, final_ln: bool) -> dict:
    w = {"unembed.W_U": rng.standard_normal((D_MODEL, P)).astype(np.float32),
         "unembed.b_U": rng.standard_normal(P).astype(np.float32)}
    if final_ln:
        w |= {"ln_final.w": rng.uniform(0.5, 2, D_MODEL).astype(np.float32),
              "ln_final.b": rng.standard_normal(D_MODEL).astype(np.float32)}
    return w


@pytest.mark.parametrize("final_ln", [False, True])
def test_logit_lens_unembeds_every_residual_hook_through_the_final_layernorm(layout, final_ln):
    probe, a, b, rng = layout
    cache = {h: _noise(rng, P * P, 4, D_MODEL) for h in RESID}
    weights = _lens_weights(rng, final_ln)
    ctx = epoch_ctx(weights, P, probe=probe, cache=cache, family=_family(final_ln=final_ln),
                    options={"trace_inputs": [(3, 4)]})
    got = stage_logits(ctx)  # [stage, row, p]
    for s, hook in enumerate(RESID):
        x = torch.tensor(cache[hook][:, 3])
        if final_ln:
            x = torch.nn.functional.layer_norm(x, (D_MODEL,), torch.tensor(weights["ln_final.w"]),
                                               torch.tensor(weights["ln_final.b"]), 1e-5)
        want = x @ torch.tensor(weights["unembed.W_U"]) + torch.tensor(weights["unembed.b_U"])
        np.testing.assert_allclose(got[s], want.numpy(), rtol=1e-4, atol=1e-3)
    assert list(get_analyzer("logit_lens").fn(ctx)["stages"]) == ["embed", "L0 +attn", "L0 +mlp", "L1 +attn", "L1 +mlp"]
    trace = get_analyzer("input_trace").fn(ctx)
    np.testing.assert_array_equal(trace["inputs"], [[3, 4]])
    row = int(np.flatnonzero((probe[:, 0] == 3) & (probe[:, 2] == 4))[0])
    np.testing.assert_allclose(trace["correct_logit"][0], got[:, row, (3 + 4) % P], rtol=1e-6)


def test_stage_names_of_a_one_layer_model_are_unchanged():
    assert list(stage_names(RESID[:3])) == ["embed", "+attn", "+mlp"]
    assert list(stage_names(["embed.hook_out"])) == ["embed.hook_out"]  # a name it does not parse stands as is


def test_logit_lens_last_stage_is_the_logits_of_a_final_layernorm_model(family_run):
    """modular_arithmetic (2-layer pre-LN, ln_final) through the real pipeline: the last stage
    equals the model's answer logits, which the residual without ln_final does not give."""
    from workbench.analysis.checkpoint import build_epoch_context

    run = family_run("modular_arithmetic")
    assert run.caps["final_ln"] and run.caps["n_layers"] == 2
    epoch = run.store.checkpoint_epochs(run.key)[-1]
    state = run.store.load_checkpoint(run.key, epoch)
    ctx = build_epoch_context(run.variant, state, epoch, set(run.caps["resid_hooks"]))
    answer = run.caps["modular"]["answer"]
    lens = stage_logits(ctx)
    np.testing.assert_allclose(lens[-1], ctx.logits[:, answer], rtol=1e-4, atol=1e-4)
    raw = ctx.cache[run.caps["resid_hooks"][-1]][:, answer] @ ctx.weights["unembed.W_U"] + ctx.weights["unembed.b_U"]
    assert np.abs(raw - ctx.logits[:, answer]).max() > 100 * np.abs(lens[-1] - ctx.logits[:, answer]).max()
    out = get_analyzer("logit_lens").fn(ctx)
    assert len(out["stages"]) == 5 and out["stages"][-1] == "L1 +mlp"
    assert float(out["accuracy"][-1]) == pytest.approx(float((ctx.logits[:, answer].argmax(-1) == ctx.labels).mean()))
