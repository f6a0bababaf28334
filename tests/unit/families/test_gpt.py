"""The multi-layer GPT computes the same function as its TransformerLens 4 bridge, alone or stacked."""

import itertools

import pytest
import torch

from families._gpt import GPT, GPTShape, init_state, param_shapes, to_bridge, weight_norms
from workbench.core.naming import hooked_name


def _shape(**kw) -> GPTShape:
    return GPTShape(**({"d_vocab": 19, "d_vocab_out": 17, "n_ctx": 4} | kw))


def _perturbed(shape: GPTShape, seed: int = 0) -> dict[str, torch.Tensor]:
    """Init plus noise, so no check leans on zero biases or unit LayerNorm scales."""
    gen = torch.Generator().manual_seed(seed)
    return {k: t + 0.02 * torch.randn(t.shape, generator=gen) for k, t in init_state(shape, seed).items()}


def _tokens(shape: GPTShape, n: int = 64, seed: int = 1) -> torch.Tensor:
    return torch.randint(0, shape.d_vocab, (n, shape.n_ctx), generator=torch.Generator().manual_seed(seed))


def test_init_matches_hooked_transformer_scale():
    shape = _shape(d_vocab=114, d_vocab_out=113)
    state = init_state(shape, seed=5)
    expected = 0.8 / shape.d_model**0.5
    assert list(state) == list(param_shapes(shape))
    for name, tensor in state.items():
        leaf = name.rsplit(".", 1)[1]
        assert tuple(tensor.shape) == param_shapes(shape)[name], name
        if leaf.startswith("W_"):
            assert tensor.std().item() == pytest.approx(expected, rel=0.1), name
            assert abs(tensor.mean().item()) < 0.1 * expected, name
        elif leaf == "w":
            assert torch.equal(tensor, torch.ones_like(tensor)), name
        else:
            assert torch.count_nonzero(tensor) == 0, name
    assert {"blocks.1.ln2.w", "ln_final.b", "blocks.1.attn.b_O"} <= set(state)


def test_no_layernorm_shape_has_no_ln_parameters():
    state = init_state(_shape(normalization=None), 0)
    assert not any(".ln" in k or k.startswith("ln_") for k in state)


def test_init_is_seeded_and_leaves_global_rng_alone():
    shape = _shape()
    before = torch.get_rng_state()
    a, b, c = init_state(shape, 1), init_state(shape, 1), init_state(shape, 2)
    assert torch.equal(torch.get_rng_state(), before)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["blocks.1.attn.W_Q"], c["blocks.1.attn.W_Q"])


CASES = list(itertools.product([1, 2], ["LN", None], ["relu", "gelu"], [True, False]))


@pytest.mark.parametrize("n_layers,norm,act,answer_only", CASES)
def test_gpt_equals_transformer_lens_bridge(n_layers, norm, act, answer_only):
    shape = _shape(n_layers=n_layers, normalization=norm, act_fn=act, answer_only=answer_only)
    state = _perturbed(shape)
    x = _tokens(shape)
    with torch.no_grad():
        ours, theirs = GPT(shape, state)(x), to_bridge(shape, state)(x)
    theirs = theirs[:, -1] if answer_only else theirs
    assert ours.shape == ((64, 17) if answer_only else (64, 4, 17))
    assert (ours - theirs).abs().max().item() < 1e-5


@pytest.mark.parametrize("norm", ["LN", None])
def test_causal_mask_in_module_and_bridge(norm):
    shape = _shape(n_layers=2, normalization=norm, answer_only=False)
    state = _perturbed(shape)
    x = _tokens(shape)
    later = x.clone()
    later[:, 2:] = (later[:, 2:] + 1) % shape.d_vocab
    for model in (GPT(shape, state), to_bridge(shape, state)):
        with torch.no_grad():
            a, b = model(x), model(later)
        assert torch.equal(a[:, :2], b[:, :2])  # positions 0, 1 never see 2, 3
        assert not torch.allclose(a[:, 2:], b[:, 2:])


def test_answer_only_is_the_full_models_last_position():
    full, answer = _shape(answer_only=False), _shape(answer_only=True)
    state = _perturbed(full)
    x = _tokens(full)
    with torch.no_grad():
        torch.testing.assert_close(GPT(answer, state)(x), GPT(full, state)(x)[:, -1], rtol=1e-5, atol=1e-6)


def test_shared_prefixes_give_each_row_its_own_answer_and_gradient():
    # [x, op, y] rows share their first two positions p ways; a repeated row must still get its own logits
    # gelu: with relu, a pre-activation within rounding of 0 may take either side in the two
    # paths' differently blocked matmuls, and its whole gradient with it
    p = 7
    shape = _shape(d_vocab=p + 1, d_vocab_out=p, n_ctx=3, answer_only=True, act_fn="gelu")
    full_shape = shape.model_copy(update={"answer_only": False})
    x = torch.arange(p).repeat_interleave(p)
    grid = torch.stack([x, torch.full_like(x, p), torch.arange(p).repeat(p)], dim=1)
    rows = torch.cat([grid, grid[:5]])[torch.randperm(p * p + 5, generator=torch.Generator().manual_seed(0))]
    state = _perturbed(shape)
    fast, full = GPT(shape, state), GPT(full_shape, state)
    a, b = fast(rows), full(rows)[:, -1]
    torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    a.square().mean().backward()
    b.square().mean().backward()
    for (name, pa), (_, pb) in zip(fast.named_parameters(), full.named_parameters()):
        torch.testing.assert_close(pa.grad, pb.grad, rtol=1e-4, atol=1e-6, msg=name)


def test_hooked_state_round_trips_into_the_bridge():
    shape = _shape()
    state = _perturbed(shape)
    module = GPT(shape, state)
    out = module.hooked_state()
    assert list(out) == list(state) and all(torch.equal(out[k], state[k]) for k in state)
    # every parameter trains, biases and LayerNorm included
    assert sorted(hooked_name(n) for n, _ in module.named_parameters()) == sorted(state)
    x = _tokens(shape)
    with torch.no_grad():
        assert (to_bridge(shape, out)(x)[:, -1] - module(x)).abs().max().item() < 1e-5


def test_bridge_exposes_hooks_per_layer():
    shape = _shape(n_layers=2)
    bridge = to_bridge(shape, _perturbed(shape))
    names = ["blocks.1.hook_resid_pre", "blocks.1.hook_resid_mid", "blocks.1.hook_resid_post",
             "blocks.0.attn.hook_pattern", "blocks.1.mlp.hook_post", "ln_final.hook_normalized"]
    _, cache = bridge.run_with_cache(_tokens(shape, 3), names_filter=lambda n: n in names)
    assert set(names) <= set(cache.keys())
    assert tuple(cache["blocks.0.attn.hook_pattern"].shape) == (3, 4, 4, 4)
    assert tuple(cache["blocks.1.mlp.hook_post"].shape) == (3, 4, 512)
    pattern = cache["blocks.0.attn.hook_pattern"]
    assert torch.count_nonzero(pattern.triu(1)) == 0  # no query attends to a later key


def test_site_fn_changes_the_forward_at_each_site_and_gradients_flow():
    shape = _shape(n_layers=2, answer_only=False)
    module = GPT(shape, _perturbed(shape))
    x = _tokens(shape)
    base = module(x)
    seen = []
    module.site_fn = lambda name, r: seen.append((name, tuple(r.shape))) or r
    assert torch.equal(module(x), base)  # the identity at every site changes no bit
    sites = [f"blocks.{i}.hook_{s}" for i in range(2) for s in ("attn_out", "mlp_out", "resid_post")]
    assert seen == [(name, (64, 4, 128)) for name in sites + ["ln_final.hook_normalized"]]
    bridge = to_bridge(shape, module.hooked_state())
    _, cache = bridge.run_with_cache(x, names_filter=lambda n: n in sites)
    assert set(sites) <= set(cache.keys())  # the sites are the bridge's hooks
    for site in sites:
        module.site_fn = lambda name, r, site=site: r + 0.5 if name == site else r  # (a rescale ln_final undoes)
        scaled = module(x)
        assert not torch.allclose(base, scaled), site
    scaled.sum().backward()
    assert module.embed__W_E.grad is not None and module.embed__W_E.grad.abs().sum() > 0
    answer = GPT(_shape(answer_only=True), module.hooked_state())
    answer.site_fn = module.site_fn
    with pytest.raises(ValueError, match="answer_only"):
        answer(x)


def test_recipe_groups_tell_embeddings_biases_and_layernorm_apart():
    from workbench.core.recipe import param_group

    module = GPT(_shape(n_layers=2), init_state(_shape(n_layers=2), 0))
    groups: dict[str, set[str]] = {}
    for name, _ in module.named_parameters():
        groups.setdefault(param_group(name), set()).add(hooked_name(name).rsplit(".", 1)[1])
    assert groups == {"embed": {"W_E", "W_pos"}, "norm": {"w", "b"},
                      "bias": {"b_Q", "b_K", "b_V", "b_O", "b_in", "b_out", "b_U"},
                      "weight": {"W_Q", "W_K", "W_V", "W_O", "W_in", "W_out", "W_U"}}


@pytest.mark.parametrize("answer_only, members", [(True, 3), (False, 3), (True, 1), (False, 1)])
def test_a_stacked_member_computes_exactly_what_it_computes_alone(answer_only, members):
    """Each member of a stack runs the one-model arithmetic on its own slice: forward and
    gradients are bit-identical to the solo module's, and a stack of one is a solo run."""
    shape = _shape(n_layers=2, answer_only=answer_only)
    states = [_perturbed(shape, seed) for seed in range(members)]
    x = torch.stack([_tokens(shape, seed=s) for s in range(members)])  # members see different rows
    stack = GPT(shape, states)
    assert stack.n_members == members and GPT(shape, states[0]).n_members is None
    out = stack(x)
    out.square().mean(tuple(range(1, out.ndim))).sum().backward()
    for k in range(members):
        solo = GPT(shape, states[k])
        alone = solo(x[k])
        assert torch.equal(out[k], alone)
        alone.square().mean().backward()
        grads = dict(stack.named_parameters())
        for name, p in solo.named_parameters():
            assert torch.equal(grads[name].grad[k], p.grad), (k, name)
        assert all(torch.equal(stack.hooked_state(k)[n], solo.hooked_state()[n]) for n in states[k])
    with pytest.raises(ValueError, match="member"):
        stack.hooked_state()


def test_weight_norms_are_per_member():
    shape = _shape()
    states = [_perturbed(shape, seed) for seed in range(2)]
    assert weight_norms(GPT(shape, states)) == [weight_norms(GPT(shape, s))[0] for s in states]
