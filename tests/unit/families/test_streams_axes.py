"""interleaved_streams (issue 29): condition axes, clamp sites that act, the refused inert site,
the study's model against an independent re-implementation, fresh data and the study's statistics."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from families._streams_data import FRESH_ROWS, eval_sequences, fresh_draw
from families._streams_sites import inert_reason, sigma2_token
from families.interleaved_streams import InterleavedParams, amplitude, centered_variance
from workbench.core.errors import UserError
from workbench.core.family import IGNORE, get_family
from workbench.core.train_module import DATA_STREAM, step_generator
from workbench.core.variant import parse_variant

FAMILY = get_family("interleaved_streams")
TINY = dict(vocab_size=16, seq_len=24, n_train_seqs=40, n_val_seqs=10, d_model=16)
CAL = dict(calib_norm=1.0, calib_std=1.0)


# ----------------------------------------------------------------------------- axes and identity
@pytest.mark.parametrize("axes, condition, frozen, kind", [
    ({}, "control", False, None), ({"constraint": "frozen"}, "constraint", True, None),
    ({"constraint": "frozen", "clamp": "naive", **CAL}, "constraint_naive_clamp", True, "naive"),
    ({"constraint": "frozen", "clamp": "mean", **CAL}, "constraint_mean_clamp", True, "mean"),
    ({"clamp": "naive", **CAL}, "naive_clamp", False, "naive")])
def test_axes_fold_into_one_stored_condition(axes, condition, frozen, kind):
    params = InterleavedParams(**TINY, **axes)
    assert (params.condition, params.frozen, params.clamp_kind) == (condition, frozen, kind)
    assert (params.constraint, params.clamp) == (None, None)
    assert InterleavedParams.model_validate(params.model_dump()) == params


def test_new_axes_keep_old_names_and_one_spelling():
    old = parse_variant("interleaved_streams:condition=constraint,n_frozen=3")
    assert old.dir_name.startswith("vocab_size=512,") and "arch" not in old.dir_name and "clamp" not in old.dir_name
    assert parse_variant("interleaved_streams:constraint=frozen").dir_name == old.dir_name
    assert parse_variant("interleaved_streams:arch=causal,data=fixed,scoring=predictable").dir_name == \
        parse_variant("interleaved_streams").dir_name
    cal = ",calib_norm=1.0,calib_std=1.0"
    study_site = parse_variant("interleaved_streams:constraint=frozen,clamp=mean,clamp_site=final_ln_out" + cal)
    assert study_site.dir_name == parse_variant("interleaved_streams:constraint=frozen,clamp=mean" + cal).dir_name
    assert study_site.params.site == "final_ln_out" and "clamp_site" not in study_site.dir_name
    assert parse_variant("interleaved_streams:clamp=mean" + cal).params.site == "resid_post"
    legacy = parse_variant("interleaved_streams:condition=naive_clamp,calib_norm=1.0,calib_std=1.0").params
    assert not legacy.frozen and legacy.clamp_kind == "naive" and legacy.arch is None
    with pytest.raises(UserError, match="contradicts"):
        parse_variant("interleaved_streams:condition=control,constraint=frozen")


@pytest.mark.parametrize("spec, message", [
    ("constraint=frozen,clamp=naive", "calib_norm and calib_std"),
    ("constraint=frozen,n_frozen=4", "n_frozen"),
    ("constraint=frozen,clamp=mean,clamp_site=nowhere,calib_norm=1.0,calib_std=1.0", "clamp_site"),
    ("clamp_site=attn_out", "clamped conditions only"),
    ("constraint=frozen,clamp=mean,clamp_site=final_ln_out,clamp_layer=0,calib_norm=1.0,calib_std=1.0", "clamp_layer"),
])
def test_bad_combinations_are_refused(spec, message):
    with pytest.raises(UserError, match=message):
        parse_variant(f"interleaved_streams:{spec}")


def test_the_inert_site_is_refused_for_new_runs_only():
    inert = InterleavedParams(**TINY, constraint="frozen", clamp="naive", clamp_site="resid_post", **CAL)
    assert "ln_final divides out" in inert_reason(inert)
    assert inert_reason(InterleavedParams(**TINY, clamp="naive", **CAL))  # issue 14's default site
    assert inert_reason(InterleavedParams(**TINY, constraint="frozen", clamp="naive", **CAL)) is None  # final_ln_out
    with pytest.raises(ValueError, match="cannot change the output"):
        FAMILY.check_new_run(inert)
    for site in ("final_ln_out", "attn_out", "mlp_out"):
        FAMILY.check_new_run(InterleavedParams(**TINY, constraint="frozen", clamp="naive", clamp_site=site, **CAL))
    FAMILY.check_new_run(InterleavedParams(**TINY, clamp="mean", **CAL))  # the mean clamp acts at resid_post


# ----------------------------------------------------------------------------- sites act
def _trained(params: InterleavedParams, steps: int = 60) -> dict[str, torch.Tensor]:
    """A tiny control trained a few dozen Adam steps (enough to move away from init)."""
    module = FAMILY.train_module(params, FAMILY.init_state(params))
    data = FAMILY.data(params)
    opt = torch.optim.Adam(module.parameters(), lr=1e-2)
    for _ in range(steps):
        opt.zero_grad()
        FAMILY.loss(module(data.inputs[:32]), data.labels[:32]).backward()
        opt.step()
    return module.hooked_state()


def _loss_and_logits(params, state, data):
    with torch.no_grad():
        logits = FAMILY.train_module(params, state)(data.inputs[-16:])
    return float(FAMILY.loss(logits, data.labels[-16:])), logits


@pytest.mark.parametrize("arch", [None, "study"])
def test_every_offered_site_changes_the_loss_and_the_inert_one_does_not(arch):
    base = InterleavedParams(**TINY, n_layers=2, arch=arch)
    state, data = _trained(base), FAMILY.data(base)
    free_loss, free_logits = _loss_and_logits(base, state, data)
    probe = FAMILY.train_module(base, state)
    probe.capture = True
    with torch.no_grad():
        probe(data.inputs[-16:])
    for site, layer in (("final_ln_out", None), ("attn_out", 1), ("mlp_out", 1), ("attn_out", 0), ("resid_post", 0)):
        name = "ln_final.hook_normalized" if site == "final_ln_out" else f"blocks.{layer}.hook_{site}"
        x = probe.captured[name]
        norm, std = float(amplitude(x)), float(centered_variance(x).sqrt())
        for kind in ("naive", "mean"):
            for factor in (0.5, 2.0):
                params = InterleavedParams(**{**base.model_dump(), "condition": f"{kind}_clamp", "clamp_site": site,
                                              "clamp_layer": layer, "calib_norm": factor * norm,
                                              "calib_std": factor * std})
                loss, _ = _loss_and_logits(params, state, data)
                assert abs(loss - free_loss) > 1e-3, (site, layer, kind, factor)
    x = probe.captured["blocks.1.hook_resid_post"]
    for factor in (0.5, 2.0):  # the last block's resid_post feeds ln_final only: a rescaling vanishes
        inert = InterleavedParams(**{**base.model_dump(), "condition": "naive_clamp",
                                     "calib_norm": factor * float(amplitude(x)), "calib_std": 1.0})
        loss, logits = _loss_and_logits(inert, state, data)  # only LayerNorm's eps and rounding remain
        assert abs(loss - free_loss) < 1e-4 and (logits - free_logits).abs().max() < 1e-3


# ----------------------------------------------------------------------------- the study's model
class _Reference(nn.Module):
    """The study's block as its notes describe it, from torch layers (eval: no dropout)."""

    def __init__(self, vocab: int, d: int, heads: int, n_ctx: int):
        super().__init__()
        self.tok, self.pos = nn.Embedding(vocab, d), nn.Embedding(n_ctx, d)
        self.attn = nn.MultiheadAttention(d, heads, dropout=0.1, batch_first=True)
        self.ln1, self.ln2, self.lnf = nn.LayerNorm(d), nn.LayerNorm(d), nn.LayerNorm(d)
        self.ff = nn.Sequential(nn.Linear(d, d), nn.ReLU(), nn.Dropout(0.1), nn.Linear(d, d), nn.Dropout(0.1))
        self.head = nn.Linear(d, vocab)

    def forward(self, x, mask=None):
        h = self.tok(x) + self.pos(torch.arange(x.shape[1]))
        u = self.ln1(h + self.attn(h, h, h, attn_mask=mask, need_weights=False)[0])
        return self.head(self.lnf(self.ln2(u + self.ff(u))))


def _load_reference(state: dict[str, torch.Tensor], p: InterleavedParams) -> _Reference:
    ref = _Reference(p.vocab_size, p.d_model, p.n_heads, p.seq_len).eval()
    b = "blocks.0"
    per_head = lambda c: state[f"{b}.attn.W_{c}"].permute(0, 2, 1).reshape(p.d_model, p.d_model)  # noqa: E731
    with torch.no_grad():
        ref.tok.weight.copy_(state["embed.W_E"])
        ref.pos.weight.copy_(state["pos_embed.W_pos"])
        ref.attn.in_proj_weight.copy_(torch.cat([per_head(c) for c in "QKV"]))
        ref.attn.in_proj_bias.copy_(torch.cat([state[f"{b}.attn.b_{c}"].reshape(-1) for c in "QKV"]))
        ref.attn.out_proj.weight.copy_(state[f"{b}.attn.W_O"].reshape(p.d_model, p.d_model).T)
        ref.attn.out_proj.bias.copy_(state[f"{b}.attn.b_O"])
        for ln, name in ((ref.ln1, f"{b}.ln1"), (ref.ln2, f"{b}.ln2"), (ref.lnf, "ln_final")):
            ln.weight.copy_(state[f"{name}.w"])
            ln.bias.copy_(state[f"{name}.b"])
        ref.ff[0].weight.copy_(state[f"{b}.mlp.W_in"].T)
        ref.ff[0].bias.copy_(state[f"{b}.mlp.b_in"])
        ref.ff[3].weight.copy_(state[f"{b}.mlp.W_out"].T)
        ref.ff[3].bias.copy_(state[f"{b}.mlp.b_out"])
        ref.head.weight.copy_(state["unembed.W_U"].T)
        ref.head.bias.copy_(state["unembed.b_U"])
    return ref


def test_study_model_equals_torch_layers_and_leaks_the_next_token_without_a_mask():
    params = InterleavedParams(**TINY, arch="study")
    state = FAMILY.init_state(params)
    tokens = FAMILY.data(params).inputs[:4]
    ours, ref = FAMILY.train_module(params, state).eval(), _load_reference(state, params)
    with torch.no_grad():
        torch.testing.assert_close(ours(tokens), ref(tokens), rtol=1e-5, atol=1e-5)
        changed = tokens.clone()
        changed[:, 6] = (changed[:, 6] + 1) % params.vocab_size
        assert (ours(changed)[:, 5] - ours(tokens)[:, 5]).abs().max() > 1e-4  # position 5 sees its target
        masked = FAMILY.train_module(InterleavedParams(**TINY, arch="study", attn_mask="causal"), state)
        torch.testing.assert_close(masked(changed)[:, :6], masked(tokens)[:, :6])
        causal = torch.ones(params.seq_len, params.seq_len, dtype=torch.bool).triu(1)
        torch.testing.assert_close(masked(tokens), ref(tokens, causal), rtol=1e-5, atol=1e-5)
    assert FAMILY.shape(params).d_mlp == params.d_model


def test_study_dropout_only_in_a_training_forward_and_the_whole_layer_freezes():
    params = InterleavedParams(**TINY, arch="study", constraint="frozen")
    init = FAMILY.init_state(params)
    module = FAMILY.train_module(params, init)
    data = FAMILY.data(params)
    with torch.no_grad():
        a, b = module(data.inputs[:4]), module(data.inputs[:4])
    assert torch.equal(a, b)
    opt = torch.optim.AdamW(module.parameters(), lr=1e-2, weight_decay=0.5)
    for step in range(3):
        module.before_step(step, step_generator(0, step, DATA_STREAM))
        dropped = module(data.inputs[:4])
        assert not torch.allclose(dropped, a)
        opt.zero_grad()
        FAMILY.loss(dropped, data.labels[:4]).backward()
        opt.step()
        module.after_step()
    after = module.hooked_state()
    assert all(torch.equal(after[k], init[k]) for k in init if ".attn." in k)  # b_O included
    assert not torch.equal(after["blocks.0.mlp.W_in"], init["blocks.0.mlp.W_in"])


# ----------------------------------------------------------------------------- fresh data and statistics
def test_fresh_batches_are_a_pure_function_of_the_step_with_the_studys_law():
    params = InterleavedParams(**TINY, data="fresh", patterns="study_2_7", scoring="all")
    one = fresh_draw(params)
    seq = [one(k, step_generator(0, k, DATA_STREAM)) for k in range(3)]
    again = one(2, step_generator(0, 2, DATA_STREAM))
    assert torch.equal(seq[2][0], again[0]) and not torch.equal(seq[1][0], seq[2][0])
    assert seq[0][0].shape == (FRESH_ROWS, params.seq_len) and not bool((seq[0][1] == IGNORE).any())
    assert torch.equal(seq[0][1][:, :-1], seq[0][0][:, 1:])  # labels are the next tokens
    other = fresh_draw(params.model_copy(update={"data_seed": 1}))(2, step_generator(0, 2, DATA_STREAM))
    assert not torch.equal(other[0], again[0])
    tokens, lengths = eval_sequences(params.model_copy(update={"n_val_seqs": 400}))
    assert set(lengths.flatten().tolist()) == set(range(2, 8))
    repeats = [len(set(row[0:2 * la:2])) < la for row, (la, _) in zip(tokens.tolist(), lengths.tolist())]
    assert any(repeats)  # tokens with replacement: a pattern can repeat a token at vocab 16
    data = FAMILY.data(params)
    assert len(data.inputs) == 2 * params.n_val_seqs and int(data.train_mask.sum()) == params.n_val_seqs


def test_the_two_sigma2_by_hand():
    x = torch.tensor([[1.0, 1.0, 1.0], [3.0, 3.0, 3.0]])  # each token constant: per-token std 0
    assert float(sigma2_token(x)) == 0.0 and float(centered_variance(x)) == pytest.approx(1.0)
    y = torch.tensor([[0.0, 2.0, 4.0]])  # unbiased std across features is 2
    assert float(sigma2_token(y)) == pytest.approx(4.0) and float(amplitude(y)) == pytest.approx(math.sqrt(20))
