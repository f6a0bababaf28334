"""GPT's "tables" path (the canonical modular_addition module: one layer from per-(position,
token) tables, frozen biases, seeds on the member axis) computes the same function as the
TransformerLens 4 model."""

from importlib.metadata import version

import pytest
import torch
from packaging.version import Version

from families._gpt import GPT, GPTShape, init_state, to_bridge
from workbench.core.family import get_family
from workbench.core.naming import hooked_name
from workbench.core.variant import parse_variant


def _shape(d_vocab: int, d_vocab_out: int) -> GPTShape:
    return GPTShape(n_layers=1, d_vocab=d_vocab, d_vocab_out=d_vocab_out, n_ctx=3, normalization=None,
                    answer_path="tables", train_biases=False)


def test_transformer_lens_is_at_least_4_3():
    # 4.0-4.2 initialized native models with std 0.02 (TL issue #1568); grokking needs 0.8/sqrt(d_model)
    assert Version(version("transformer-lens")) >= Version("4.3")


def test_init_matches_hooked_transformer_scale():
    shape = _shape(114, 113)
    state = init_state(shape, seed=999)
    expected = 0.8 / shape.d_model**0.5
    for name, tensor in state.items():
        if name.rsplit(".", 1)[1].startswith("W_"):
            assert tensor.std().item() == pytest.approx(expected, rel=0.05), name
            assert abs(tensor.mean().item()) < 0.1 * expected, name
        else:
            assert torch.count_nonzero(tensor) == 0, name


def test_init_is_seeded_and_leaves_global_rng_alone():
    shape = _shape(18, 17)
    before = torch.get_rng_state()
    a, b, c = init_state(shape, 1), init_state(shape, 1), init_state(shape, 2)
    assert torch.equal(torch.get_rng_state(), before)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["embed.W_E"], c["embed.W_E"])


@pytest.mark.parametrize("p", [17, 113])
def test_the_tables_path_equals_transformer_lens_bridge(p):
    v = parse_variant(f"modular_addition:p={p}")
    fam = v.family
    state = fam.init_state(v.params)
    gen = torch.Generator().manual_seed(0)
    # perturb biases and weights so the check does not rely on zero biases
    state = {k: t + 0.05 * torch.randn(t.shape, generator=gen) for k, t in state.items()}
    fast = fam.train_module(v.params, state)
    bridge = fam.tl_model(v.params, state)
    inputs = fam.data(v.params).inputs
    with torch.no_grad():
        ours, theirs = fast(inputs), bridge(inputs)[:, -1]
    assert ours.shape == (p * p, p)
    torch.testing.assert_close(ours, theirs, rtol=1e-4, atol=1e-5)


def test_hooked_state_round_trips():
    shape = _shape(18, 17)
    state = init_state(shape, 3)
    module = GPT(shape, state)
    out = module.hooked_state()
    assert list(out) == list(state)
    assert all(torch.equal(out[k], state[k]) for k in state)
    # biases are frozen (the grokking demo trains weights only)
    assert all(hooked_name(n).rsplit(".", 1)[1].startswith("W_") for n, _ in module.named_parameters())


def test_bridge_exposes_tl_weights_and_hooks():
    shape = _shape(18, 17)
    bridge = to_bridge(shape, init_state(shape, 0))
    assert tuple(bridge.W_E.shape) == (18, 128) and tuple(bridge.W_U.shape) == (128, 17)
    _, cache = bridge.run_with_cache(torch.zeros(2, 3, dtype=torch.long), names_filter=lambda n: n == "blocks.0.mlp.hook_post")
    assert tuple(cache["blocks.0.mlp.hook_post"].shape) == (2, 3, 512)


def test_family_registry_lists_modular_addition():
    fam = get_family("modular_addition")
    assert fam.Params().p == 113 and fam.Params().seed == 999 and fam.Params().data_seed == 598


def test_ensemble_member_forward_is_exact_and_gradients_match_solo():
    v = [parse_variant(f"modular_addition:p=17,seed={s}") for s in (0, 1, 2)]
    fam = v[0].family
    data = fam.data(v[0].params)
    x, y = data.inputs[data.train_mask], data.labels[data.train_mask]
    solo = fam.train_module(v[1].params, fam.init_state(v[1].params))
    ens = fam.train_module(v[0].params, [fam.init_state(m.params) for m in v])
    solo_loss = fam.loss(solo(x), y)
    ens_loss = fam.loss(ens(x.expand(3, -1, -1)), y.expand(3, -1))
    assert torch.equal(solo(x), ens(x.expand(3, -1, -1))[1]) and solo_loss == ens_loss[1]
    solo_loss.backward()
    ens_loss.sum().backward()
    for (name, p_solo), (_, p_ens) in zip(solo.named_parameters(), ens.named_parameters()):
        torch.testing.assert_close(p_solo.grad, p_ens.grad[1], rtol=1e-5, atol=1e-8, msg=name)
    assert all(torch.equal(ens.hooked_state(1)[k], solo.hooked_state()[k]) for k in solo.hooked_state())


def test_backward_is_deterministic_across_threads_at_demo_size():
    # advanced-index gathers back-propagate through a parallel scatter-add whose summation order
    # varies run to run on CPU above torch's grain size (p=17 is below it, p=53 is not)
    v = parse_variant("modular_addition:p=53,frac_train=0.4")
    fam = v.family
    data = fam.data(v.params)
    x, y = data.inputs[data.train_mask], data.labels[data.train_mask]
    state = fam.init_state(v.params)
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        grads = []
        for _ in range(3):
            module = fam.train_module(v.params, state)
            fam.loss(module(x), y).backward()
            grads.append({n: p.grad for n, p in module.named_parameters()})
    finally:
        torch.set_num_threads(threads)
    for name in grads[0]:
        assert all(torch.equal(g[name], grads[0][name]) for g in grads[1:]), name


def test_the_tables_path_needs_one_layer_without_layernorm():
    for bad in ({"n_layers": 2}, {"normalization": "LN"}, {"answer_only": False}):
        with pytest.raises(ValueError, match="tables"):
            GPTShape(**{"d_vocab": 8, "d_vocab_out": 7, "n_ctx": 3, "n_layers": 1, "normalization": None,
                        "answer_path": "tables", **bad})
