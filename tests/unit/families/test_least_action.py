"""The least-action study family: task, discrete log and bases, smoothness, routing
regularizers, models (hook names, causal mask), recipe and the study's log line."""

import math

import numpy as np
import pytest
import torch

from analyzers._maps import fourier_fractions, to_grid
from families.least_action import format_log_line, routing_penalty
from workbench.core.errors import UserError
from workbench.core.family import get_family
from workbench.core.modular import (
    discrete_log_table,
    low_frequency_mask,
    multiplicative_basis,
    operation_basis,
    phasor_grid,
    power_table,
    primitive_root,
    smoothness,
)
from workbench.core.recipe import build_optimizer
from workbench.core.variant import parse_variant

FAMILY = get_family("least_action")
PRIMES = [5, 7, 13, 17, 31, 113]


def _variant(spec: str):
    return parse_variant(f"least_action:{spec}")


def _built(spec: str):
    v = _variant(spec)
    state = v.family.init_state(v.params)
    return v, state, v.family.train_module(v.params, state), v.family.data(v.params)


# ----------------------------------------------------------------------------- task
@pytest.mark.parametrize("model,width", [("mlp", 2), ("routed", 2), ("transformer", 4)])
@pytest.mark.parametrize("operation", ["add", "multiply"])
def test_data_covers_the_grid_and_multiply_keeps_zero(model, width, operation):
    v = _variant(f"p=7,model={model},operation={operation}")
    data = v.family.data(v.params)
    a, b = (data.inputs[:, k] for k in v.family.operands(v.params))
    assert data.inputs.shape == (49, width)
    assert sorted(zip(a.tolist(), b.tolist())) == [(x, y) for x in range(7) for y in range(7)]
    assert torch.equal(data.labels, (a + b) % 7 if operation == "add" else (a * b) % 7)
    if operation == "multiply":
        assert torch.all(data.labels[(a == 0) | (b == 0)] == 0)
    if model == "transformer":
        assert torch.all(data.inputs[:, 1] == 7) and torch.all(data.inputs[:, 3] == 8)
    assert int(data.train_mask.sum()) == int(0.3 * 49)


@pytest.mark.parametrize("spec", ["p=15", "p=3", "p=17,model=mlp,routing=entropy", "p=17,model=transformer,n_heads=3",
                                  "p=17,frac_train=0.001", "p=17,model=routed,routing=l2"])
def test_bad_params_are_one_line_errors(spec):
    with pytest.raises(UserError):
        _variant(spec)


# ----------------------------------------------------------------------------- discrete log and bases
@pytest.mark.parametrize("p", PRIMES)
def test_discrete_log_round_trips(p):
    g, log, power = primitive_root(p), discrete_log_table(p), power_table(p)
    assert len({pow(g, e, p) for e in range(p - 1)}) == p - 1  # g generates (Z/p)^*
    assert np.array_equal(power[log[1:]], np.arange(1, p))
    assert np.array_equal(log[power], np.arange(p - 1))
    a, b = np.meshgrid(np.arange(1, p), np.arange(1, p))
    assert np.array_equal(log[a * b % p], (log[a] + log[b]) % (p - 1))  # multiplication is addition of logs


@pytest.mark.parametrize("p", PRIMES)
def test_multiplicative_basis_is_orthonormal(p):
    basis = multiplicative_basis(p)
    np.testing.assert_allclose(basis @ basis.T, np.eye(p), atol=1e-10)


def _key_frequency_logits(p: int, operation: str, keys=(2, 5)) -> np.ndarray:
    """[p*p, p] logits of a model computing the exact target with a few key frequencies
    (Nanda et al.'s algorithm; through the discrete log for multiply, 0 handled apart)."""
    a, b = np.arange(p).repeat(p), np.tile(np.arange(p), p)
    c = np.arange(p)
    if operation == "add":
        d = (a + b)[:, None] - c[None, :]
        return sum(np.cos(2 * np.pi * k * d / p) for k in keys)
    log = discrete_log_table(p)
    zero = (a == 0) | (b == 0)
    d = (log[np.where(zero, 1, a)] + log[np.where(zero, 1, b)])[:, None] - log[np.maximum(c, 1)][None, :]
    logits = sum(np.cos(2 * np.pi * k * d / (p - 1)) for k in keys)
    logits[zero] = 0.0
    logits[:, 0] = np.where(zero, 3.0, -3.0)
    return logits


@pytest.mark.parametrize("operation", ["add", "multiply"])
def test_exact_target_has_a_sparse_spectrum_in_its_operations_basis(operation):
    p, keys = 17, (2, 5)
    logits = _key_frequency_logits(p, operation, keys)
    probe = np.stack([np.arange(p).repeat(p), np.tile(np.arange(p), p)], 1)
    labels = (probe[:, 0] + probe[:, 1]) % p if operation == "add" else probe[:, 0] * probe[:, 1] % p
    assert np.array_equal(logits.argmax(-1), labels)  # the model computes the target
    maps = to_grid(logits[:, 1:], probe, p)  # class maps c = 1..p-1 [class, a, b]
    right = fourier_fractions(maps, operation_basis(p, operation))
    np.testing.assert_allclose(right[:, [k - 1 for k in keys]].sum(1), 1.0, atol=1e-5)
    other = fourier_fractions(maps, operation_basis(p, "multiply" if operation == "add" else "add"))
    assert np.nanmax(other[:, [k - 1 for k in keys]].sum(1)) < 0.6  # the wrong basis spreads it


# ----------------------------------------------------------------------------- smoothness
def _one_hot_grid(p: int, labels: np.ndarray, operation: str) -> np.ndarray:
    a, b = np.arange(p).repeat(p), np.tile(np.arange(p), p)
    return phasor_grid(np.eye(p)[labels], a, b, p, operation)


@pytest.mark.parametrize("p", [17, 31, 113])
@pytest.mark.parametrize("operation", ["add", "multiply"])
def test_exact_target_is_perfectly_smooth_and_random_labels_are_not(p, operation):
    a, b = np.arange(p).repeat(p), np.tile(np.arange(p), p)
    target = (a + b) % p if operation == "add" else a * b % p
    score, power = smoothness(_one_hot_grid(p, target, operation))
    assert score == pytest.approx(1.0, abs=1e-12)
    n = len(power)
    chance = low_frequency_mask(n).sum() / (n * n - 1)  # random labels spread power evenly
    noise = [smoothness(_one_hot_grid(p, np.random.default_rng(s).integers(0, p, p * p), operation))[0]
             for s in range(5)]
    assert np.mean(noise) == pytest.approx(chance, abs=0.05) and max(noise) < 0.25


def test_multiply_is_not_smooth_without_the_discrete_log():
    p = 31
    a, b = np.arange(p).repeat(p), np.tile(np.arange(p), p)
    assert smoothness(_one_hot_grid(p, a * b % p, "add"))[0] < 0.25


def test_a_constant_output_has_no_smoothness():
    assert math.isnan(smoothness(np.ones((17, 17), dtype=complex))[0])


# ----------------------------------------------------------------------------- routing regularizers
@pytest.mark.parametrize("kind", ["entropy", "sparsity", "gini"])
def test_routing_penalty_is_one_for_uniform_and_zero_for_one_hot_gates(kind):
    uniform, one_hot = torch.full((3, 4), 0.25), torch.eye(4)[[0, 2, 3]]
    assert float(routing_penalty(uniform, kind)) == pytest.approx(1.0, abs=1e-6)
    assert float(routing_penalty(one_hot, kind)) == pytest.approx(0.0, abs=1e-5)
    assert float(routing_penalty(uniform, "none")) == 0.0


@pytest.mark.parametrize("kind,value", [("entropy", 0.5), ("sparsity", math.sqrt(2) - 1), ("gini", 1 / 3)])
def test_routing_penalty_of_a_half_half_gate(kind, value):
    assert float(routing_penalty(torch.tensor([[0.5, 0.5, 0.0, 0.0]]), kind)) == pytest.approx(value, abs=1e-5)


def test_routed_objective_adds_lambda_times_the_penalty():
    v, state, module, data = _built("p=7,model=routed,routing=entropy,lambda_routing=0.5")
    logits = module(data.inputs)[None]
    extra = (FAMILY.objective(logits, data.labels[None], torch.Generator()) - FAMILY.loss(logits, data.labels[None]))
    _, cache = FAMILY.tl_model(v.params, state).run_with_cache(data.inputs, names_filter=lambda n: "hook_gate" in n)
    one_hot = torch.cat([torch.nn.functional.one_hot(data.inputs[:, k], 7) for k in (0, 1)], -1).float()
    by_hand = torch.softmax(one_hot @ state["blocks.0.gate.W_gate"] + state["blocks.0.gate.b_gate"], -1)
    torch.testing.assert_close(cache["blocks.0.hook_gate"][:, 0], by_hand)  # the hook holds the gate probabilities
    want = 0.5 * torch.stack([routing_penalty(cache[f"blocks.{i}.hook_gate"], "entropy") for i in range(2)]).mean()
    assert float(want) > 0.5 * 0.9  # a fresh gate is nearly uniform
    assert float(extra.detach()) == pytest.approx(float(want), rel=1e-6)


# ----------------------------------------------------------------------------- models
@pytest.mark.parametrize("model", ["mlp", "routed", "transformer"])
def test_init_is_deterministic_and_the_analysis_model_computes_the_training_model(model):
    v, state, module, data = _built(f"p=7,model={model}")
    again = v.family.init_state(v.params)
    assert all(torch.equal(state[k], again[k]) for k in state)
    assert {k: t.shape for k, t in module.hooked_state().items()} == {k: t.shape for k, t in state.items()}
    analysis = v.family.tl_model(v.params, state)
    with torch.no_grad():
        torch.testing.assert_close(analysis(data.inputs)[:, -1], module(data.inputs), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("model", ["mlp", "routed"])
def test_declared_hooks_are_in_the_cache(model):
    v, state, _, data = _built(f"p=7,model={model}")
    caps = v.family.capabilities(v.params).as_dict()
    hooks = caps["neuron_hooks"] + caps.get("routing", {}).get("gate_hooks", [])
    _, cache = v.family.tl_model(v.params, state).run_with_cache(data.inputs, names_filter=lambda n: n in hooks)
    assert sorted(cache.keys()) == sorted(hooks)
    assert cache["blocks.1.mlp.hook_post"].shape == (49, 1, 256)
    if model == "routed":
        gate = cache["blocks.0.hook_gate"]
        assert gate.shape == (49, 1, 4) and torch.allclose(gate.sum(-1), torch.ones(49, 1))


def test_routed_gates_and_biases_skip_weight_decay():
    v, _, module, _ = _built("p=7,model=routed")
    named = dict(module.named_parameters())
    opt = build_optimizer(v.recipe, named)
    kept = {id(q) for q in opt.param_groups[1]["params"]}
    assert opt.param_groups[1]["weight_decay"] == 0.0 and opt.param_groups[0]["weight_decay"] == 1.0
    assert {n for n, q in named.items() if id(q) in kept} == {
        n for n in named if "gate" in n or n.endswith(("b_in", "b_U"))}


def test_transformer_attention_is_causal():
    v, state, _, data = _built("p=7,model=transformer")
    bridge = v.family.tl_model(v.params, state)
    hooks = ("blocks.0.attn.hook_pattern", "blocks.1.attn.hook_pattern", "blocks.1.hook_resid_post")
    _, cache = bridge.run_with_cache(data.inputs, names_filter=lambda n: n in hooks)
    for name in hooks[:2]:
        pattern = cache[name]  # [batch, head, q, k]
        assert float(pattern.triu(1).abs().max()) == 0.0  # position i never attends to j > i
    changed = data.inputs.clone()
    changed[:, 2] = (changed[:, 2] + 1) % 7  # change b: positions 0 and 1 must not see it
    _, cache2 = bridge.run_with_cache(changed, names_filter=lambda n: n in hooks)
    torch.testing.assert_close(cache2["blocks.1.hook_resid_post"][:, :2], cache["blocks.1.hook_resid_post"][:, :2])
    assert not torch.allclose(cache2["blocks.1.hook_resid_post"][:, 2:], cache["blocks.1.hook_resid_post"][:, 2:])


@pytest.mark.parametrize("model", ["mlp", "routed", "transformer"])
def test_recipe_is_the_studys(model):
    r = _variant(f"p=17,model={model}").recipe
    assert (r.optimizer, r.lr, r.weight_decay, r.grad_clip, r.batch_size) == ("adamw", 1e-3, 1.0, 1.0, None)
    assert set(r.no_decay) == {"embed", "bias", "norm", "gate"}
    assert r.lr_schedule == ("warmup" if model == "transformer" else "constant")


def test_run_name_lists_routing_params_only_when_set():
    assert "routing" not in _variant("p=17").dir_name
    assert "routing=gini,lambda_routing=0.1" in _variant("p=17,model=routed,routing=gini,lambda_routing=0.1").dir_name


# ----------------------------------------------------------------------------- metrics
def test_extra_metrics_are_weight_norm_and_output_smoothness():
    v, state, module, data = _built("p=17,model=mlp")
    with torch.no_grad():
        logits = module(data.inputs)[None]
    row, = FAMILY.extra_metrics(module, logits, data)
    assert row["wnorm"] == pytest.approx(math.sqrt(sum(float(t.double().pow(2).sum()) for t in state.values())))
    assert 0 <= row["smooth"] <= 1
    chunked, = FAMILY.extra_metrics(module, None, data)
    assert chunked["smooth"] == pytest.approx(row["smooth"], abs=1e-6)


def test_log_line_is_the_studys_format():
    metrics = {"train_acc": 1.0, "test_acc": 0.471, "train_loss": 1.234e-4, "wnorm": 45.21, "smooth": 0.2341}
    assert format_log_line(12300, metrics) == \
        "Epoch  12300 | Train: 100.0% | Test:  47.1% | Loss: 1.23e-04, wnorm=45.2, smooth=0.234"


# ----------------------------------------------------------------------------- the spectral_smoothness analyzer
@pytest.mark.parametrize("operation", ["add", "multiply"])
def test_spectral_smoothness_analyzer_scores_a_confident_exact_model_one(operation):
    from workbench.core.analyzer import get_analyzer
    from workbench.core.context import EpochContext

    v = _variant(f"p=17,model=mlp,operation={operation}")
    data = v.family.data(v.params)
    labels = data.labels.numpy()
    logits = 30.0 * np.eye(17)[labels][:, None, :]  # [batch, 1, p]: an exact, confident model
    ctx = EpochContext(epoch=0, model=None, weights={}, cache={}, logits=logits, probe=data.inputs.numpy(),
                       labels=labels, train_mask=data.train_mask.numpy(), test_mask=~data.train_mask.numpy(),
                       family=v.family.analysis_context(v.params), options={})
    out = get_analyzer("spectral_smoothness").fn(ctx)
    assert float(out["target"]) == pytest.approx(1.0) and float(out["smoothness"]) == pytest.approx(1.0, abs=1e-6)
    assert float(out["chance"]) == pytest.approx(24 / (16 * 16 - 1) if operation == "multiply" else 24 / 288)
    assert int(out["cutoff"]) == 2 and str(out["indexing"]) == ("log a, log b" if operation == "multiply" else "a, b")
    ctx.logits = np.random.default_rng(0).normal(size=logits.shape)
    assert float(get_analyzer("spectral_smoothness").fn(ctx)["smoothness"]) < 0.3



# ----------------------------------------------------------------------------- memorization scores below chance
def test_an_additive_memorizer_scores_exactly_zero_on_held_out_pairs():
    """Why lal_validate's memorizing MLP shows test accuracy 0.0 (chance is 1/17), not a bug: in
    (a + b) mod p each answer occurs once per row and per column, so a held-out pair's answer
    occurs in none of its row's or column's training pairs. A model whose logits are additive
    in a and b (logit_c = U[a, c] + V[b, c]) is pushed away from exactly that answer, so it
    ranks it near last on every held-out pair."""
    v = _variant("p=17,model=mlp,frac_train=0.5")
    data, p = v.family.data(v.params), 17
    a, b, train = data.inputs[:, 0], data.inputs[:, 1], data.train_mask
    for row in range(p * p):  # the combinatorial fact, for every held-out pair
        if not train[row]:
            seen = train & ((a == a[row]) | (b == b[row]))
            assert data.labels[row] not in data.labels[seen]
    gen = torch.Generator().manual_seed(0)
    u, w = (torch.randn(p, p, generator=gen).mul(0.01).requires_grad_() for _ in range(2))
    opt = torch.optim.Adam([u, w], lr=0.1)
    for _ in range(300):
        loss = torch.nn.functional.cross_entropy((u[a] + w[b])[train], data.labels[train])
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        logits = u[a] + w[b]
        rank = (logits > logits.gather(1, data.labels[:, None])).sum(1)
    assert float((logits.argmax(-1) == data.labels)[train].float().mean()) > 1 / p  # it fits some training pairs
    assert int(rank[~train].min()) >= 1 and float((logits.argmax(-1) == data.labels)[~train].float().mean()) == 0.0


# ----------------------------------------------------------------------------- the spectral regularizer
@pytest.mark.parametrize("operation", ["add", "multiply"])
def test_differentiable_smoothness_is_the_metric_and_has_gradients(operation):
    from workbench.core.modular import differentiable_smoothness, grid_layout

    p = 13
    a, b = np.arange(p).repeat(p), np.tile(np.arange(p), p)
    order = np.random.default_rng(1).permutation(p * p)  # any row order
    logits = torch.randn(p * p, p, generator=torch.Generator().manual_seed(0), dtype=torch.float64, requires_grad=True)
    probs = logits.softmax(-1)
    score = differentiable_smoothness(probs[order], grid_layout(a[order], b[order], p, operation))
    want, _ = smoothness(phasor_grid(probs.detach().numpy(), a, b, p, operation))
    assert float(score.detach()) == pytest.approx(want, rel=1e-10)
    score.backward()
    assert logits.grad is not None and float(logits.grad.abs().sum()) > 0
    target = (a + b) % p if operation == "add" else a * b % p
    exact = torch.as_tensor(np.eye(p)[target])
    assert float(differentiable_smoothness(exact, grid_layout(a, b, p, operation))) == pytest.approx(1.0)


def test_spectral_penalty_adds_lambda_times_one_minus_the_grid_smoothness():
    v, state, module, data = _built("p=7,model=mlp,lambda_spectral=0.5")
    train = data.train_mask
    logits = module(data.inputs[train])[None]
    extra = v.family.objective(logits, data.labels[train][None], torch.Generator()) - v.family.loss(
        logits, data.labels[train][None])
    with torch.no_grad():
        grid = module(data.inputs)
    want, _ = smoothness(phasor_grid(grid.softmax(-1).double().numpy(), data.inputs[:, 0].numpy(),
                                     data.inputs[:, 1].numpy(), 7, "add"))
    assert float(extra.detach()) == pytest.approx(0.5 * (1 - want), rel=1e-6)
    extra.sum().backward()  # the penalty reaches the weights
    assert float(module.blocks[0].mlp.W_in.grad.abs().sum()) > 0
    plain = _built("p=7,model=mlp")[2]
    assert plain.spectral is None and "lambda_spectral" not in _variant("p=7").dir_name
