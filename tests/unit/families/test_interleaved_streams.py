"""interleaved_streams: generator, labels, causal mask, clamps, statistics and frozen heads,
each against ground truth built by hand."""

from __future__ import annotations

import pytest
import torch

from families.interleaved_streams import (
    HEAD_SLICED,
    InterleavedParams,
    amplitude,
    centered_variance,
    make_sequences,
    mean_clamp,
    naive_clamp,
    scored,
)
from workbench.core.errors import UserError
from workbench.core.family import IGNORE, get_family
from workbench.core.variant import parse_variant

FAMILY = get_family("interleaved_streams")
TINY = dict(vocab_size=16, seq_len=24, n_train_seqs=40, n_val_seqs=10, d_model=16)


def test_streams_repeat_with_their_drawn_pattern_lengths():
    params = InterleavedParams(**TINY)
    tokens, lengths = make_sequences(params)
    assert tokens.shape == (50, 25) and lengths.shape == (50, 2)
    assert bool(((lengths >= 2) & (lengths <= 8)).all())
    for row, (la, lb) in zip(tokens.tolist(), lengths.tolist()):
        for stream, period in ((row[0::2], la), (row[1::2], lb)):
            assert all(stream[t] == stream[t - period] for t in range(period, len(stream)))
            assert len(set(stream[:period])) == period  # distinct: the period is exactly the length


def test_pattern_lengths_cover_two_to_eight():
    _, lengths = make_sequences(InterleavedParams(**{**TINY, "n_train_seqs": 400}))
    assert set(lengths.flatten().tolist()) == set(range(2, 9))


def test_labels_are_next_tokens_scored_once_the_pattern_was_seen():
    params = InterleavedParams(**TINY)
    tokens, lengths = make_sequences(params)
    data = FAMILY.data(params)
    assert torch.equal(data.inputs, tokens[:, :-1])
    la, lb = lengths[0].tolist()
    for i in range(params.seq_len):
        index, period = (i + 1) // 2, (la, lb)[(i + 1) % 2]
        want = tokens[0, i + 1] if index >= period else IGNORE
        assert int(data.labels[0, i]) == int(want)


def test_scored_by_hand():
    mask = scored(torch.tensor([[2, 3]]), 8)  # labels are tokens 1..8: B0 A1 B1 A2 B2 A3 B3 A4
    assert mask[0].tolist() == [False, False, False, True, False, True, True, True]


def test_train_and_validation_share_no_sequence_and_are_seeded():
    params = InterleavedParams(**{**TINY, "vocab_size": 8, "n_train_seqs": 300, "n_val_seqs": 100})
    data = FAMILY.data(params)
    rows = {tuple(r) for r in data.inputs.tolist()}
    assert len(rows) == 400  # no sequence twice, so none in both splits
    assert int(data.train_mask.sum()) == 300
    assert torch.equal(FAMILY.data(params).inputs, data.inputs)
    assert not torch.equal(FAMILY.data(params.model_copy(update={"data_seed": 1})).inputs, data.inputs)


def test_random_task_has_no_repeats_but_the_same_scored_positions():
    params = InterleavedParams(**{**TINY, "vocab_size": 512})
    rand = FAMILY.data(params.model_copy(update={"task": "random"}))
    pat = FAMILY.data(params)
    assert torch.equal(rand.labels == IGNORE, pat.labels == IGNORE)
    a = rand.inputs[:, 0::2]
    assert float((a[:, 2:] == a[:, :-2]).float().mean()) < 0.05


def test_causal_mask_later_tokens_do_not_change_earlier_logits():
    params = InterleavedParams(**TINY)
    module = FAMILY.train_module(params, FAMILY.init_state(params))
    x = FAMILY.data(params).inputs[:2]
    y = x.clone()
    y[:, 10] = (y[:, 10] + 1) % params.vocab_size
    with torch.no_grad():
        a, b = module(x), module(y)
    assert torch.equal(a[:, :10], b[:, :10])
    assert not torch.allclose(a[:, 10:], b[:, 10:])


def _resid() -> torch.Tensor:
    gen = torch.Generator().manual_seed(0)
    return torch.randn(3, 5, 8, generator=gen) * 2 + torch.arange(8.0)  # [batch, pos, d]: nonzero mean


def test_amplitude_and_variance_by_hand():
    r = torch.zeros(2, 2, 3)
    r[..., 0] = 3.0  # every token has norm 3, and all tokens are equal: no variance
    assert float(amplitude(r)) == 3.0 and float(centered_variance(r)) == 0.0
    r[0, :, 1], r[1, :, 1] = 2.0, -2.0  # per-dim mean 0 in dim 1; deviations +-2 in 1 of 3 dims
    assert abs(float(centered_variance(r)) - 4.0 / 3.0) < 1e-6
    assert abs(float(amplitude(r)) - 13 ** 0.5) < 1e-6


def test_naive_clamp_gives_the_target_norm():
    out = naive_clamp(_resid(), 7.5)
    assert abs(float(amplitude(out)) - 7.5) < 1e-5


def test_mean_clamp_gives_the_target_std_and_keeps_the_mean():
    r = _resid()
    out = mean_clamp(r, 0.3)
    assert abs(float(centered_variance(out)) ** 0.5 - 0.3) < 1e-6
    assert torch.allclose(out.reshape(-1, 8).mean(0), r.reshape(-1, 8).mean(0), atol=1e-5)
    assert float(amplitude(out)) != pytest.approx(float(amplitude(r)))  # amplitude moves with the std only


def test_clamps_pass_gradients():
    r = _resid().requires_grad_()
    (mean_clamp(r, 0.3).sum() + naive_clamp(r, 2.0).pow(2).sum()).backward()
    assert r.grad is not None and bool(r.grad.abs().sum() > 0)


def test_clamped_variant_needs_calibration_and_control_only_takes_none():
    with pytest.raises(UserError, match="calib_norm and calib_std"):
        parse_variant("interleaved_streams:condition=naive_clamp")
    with pytest.raises(UserError, match="apply to clamped conditions only"):
        parse_variant("interleaved_streams:calib_std=1.0")
    with pytest.raises(UserError, match="n_frozen"):
        parse_variant("interleaved_streams:condition=constraint,n_frozen=4")
    v = parse_variant("interleaved_streams:condition=mean_clamp,calib_norm=10.0,calib_std=1.5")
    assert "calib_std=1.5" in v.dir_name


def test_frozen_head_slices_stay_bit_identical_and_the_free_head_moves():
    params = InterleavedParams(**{**TINY, "condition": "constraint", "n_frozen": 3})
    init = FAMILY.init_state(params)
    module = FAMILY.train_module(params, init)
    opt = torch.optim.AdamW(module.parameters(), lr=1e-2, weight_decay=1.0)  # decay would move them
    data = FAMILY.data(params)
    for _ in range(3):
        loss = FAMILY.loss(module(data.inputs[:8]), data.labels[:8])
        opt.zero_grad()
        loss.backward()
        opt.step()
        module.after_step()
    state = module.hooked_state()
    for leaf in HEAD_SLICED:
        name = f"blocks.0.attn.{leaf}"
        assert torch.equal(state[name][:3], init[name][:3]), name
        assert not torch.equal(state[name][3], init[name][3]), name
    assert not torch.equal(state["blocks.0.attn.b_O"], init["blocks.0.attn.b_O"])  # shared: trains


def test_loss_averages_scored_positions_only():
    logits = torch.zeros(1, 2, 3, 4)  # [member, rows, pos, vocab]: uniform, loss log 4 everywhere
    labels = torch.full((1, 2, 3), IGNORE)
    labels[0, 0, 1] = 2
    assert torch.allclose(FAMILY.loss(logits, labels), torch.log(torch.tensor([4.0])))


@pytest.mark.parametrize("condition", ["naive_clamp", "mean_clamp"])
def test_analysis_model_clamps_as_training_does(condition):
    params = InterleavedParams(**TINY, condition=condition, calib_norm=2.0, calib_std=0.5)
    state = FAMILY.init_state(params)
    inputs = FAMILY.data(params).inputs[:8]
    module = FAMILY.train_module(params, state)
    bridge = FAMILY.tl_model(params, state)
    with torch.no_grad():
        ours = module(inputs)
        theirs, cache = bridge.run_with_cache(inputs, names_filter=lambda n: n == "blocks.0.hook_resid_post")
    torch.testing.assert_close(ours, theirs, rtol=1e-4, atol=1e-4)
    resid = cache["blocks.0.hook_resid_post"]  # the cache holds the clamped residual
    if condition == "naive_clamp":
        assert abs(float(amplitude(resid)) - 2.0) < 1e-4
    else:
        assert abs(float(centered_variance(resid)) ** 0.5 - 0.5) < 1e-5


@pytest.mark.parametrize("condition", ["naive_clamp", "mean_clamp"])
def test_clamp_layer_picks_the_block_that_is_clamped(condition):
    params = InterleavedParams(**TINY, n_layers=2, clamp_layer=0, condition=condition, calib_norm=2.0, calib_std=0.5)
    state = FAMILY.init_state(params)
    inputs = FAMILY.data(params).inputs[:8]
    hooks = ("blocks.0.hook_resid_post", "blocks.1.hook_resid_post")
    with torch.no_grad():
        ours = FAMILY.train_module(params, state)(inputs)
        theirs, cache = FAMILY.tl_model(params, state).run_with_cache(inputs, names_filter=lambda n: n in hooks)
    torch.testing.assert_close(ours, theirs, rtol=1e-4, atol=1e-4)
    clamped = amplitude(cache[hooks[0]]) if condition == "naive_clamp" else centered_variance(cache[hooks[0]]).sqrt()
    assert abs(float(clamped) - (2.0 if condition == "naive_clamp" else 0.5)) < 1e-4
    with pytest.raises(ValueError, match="clamp_layer"):
        InterleavedParams(**TINY, clamp_layer=1, condition=condition, calib_norm=2.0, calib_std=0.5)


def test_a_naive_clamp_of_the_last_block_is_invisible_after_the_final_layernorm():
    """Why the last block's naive clamp cannot constrain anything (family docstring): the final
    LayerNorm is invariant to one common rescaling of its input, so the logits do not change."""
    free = InterleavedParams(**TINY)
    clamped = InterleavedParams(**TINY, condition="naive_clamp", calib_norm=50.0, calib_std=1.0)
    state = FAMILY.init_state(free)
    inputs = FAMILY.data(free).inputs[:8]
    with torch.no_grad():
        logits_free = FAMILY.train_module(free, state)(inputs)
        logits_clamped = FAMILY.train_module(clamped, state)(inputs)
    torch.testing.assert_close(logits_clamped, logits_free, rtol=1e-3, atol=1e-3)
    mean_clamped = InterleavedParams(**TINY, condition="mean_clamp", calib_norm=1.0, calib_std=5.0)
    with torch.no_grad():
        logits_mean = FAMILY.train_module(mean_clamped, state)(inputs)
    assert (logits_mean - logits_free).abs().max() > 1e-2  # the mean clamp changes token directions
