"""The x op y mod p family (after Power et al. 2022): task, recipe, capabilities, model twin."""

import math

import pytest
import torch

from workbench.core.errors import UserError
from workbench.core.family import get_family
from workbench.core.recipe import build_optimizer, epoch_batches, lr_at, steps_per_epoch, total_epochs
from workbench.core.schedule import checkpoint_epochs
from workbench.core.variant import parse_variant

FAMILY = get_family("modular_arithmetic")


def _variant(spec: str = ""):
    return parse_variant(f"modular_arithmetic:{spec}")


def test_defaults_are_the_study():
    params = FAMILY.Params()
    assert (params.p, params.operation, params.frac_train) == (97, "add", 0.5)
    assert (params.n_layers, params.n_heads, params.d_model, params.d_mlp) == (2, 4, 128, 512)
    assert params.normalization == "LN" and params.act_fn == "relu"
    assert FAMILY.stackable is True  # seeds stack on GPT's member axis


@pytest.mark.parametrize("operation,expected", [("add", lambda a, b: a + b), ("subtract", lambda a, b: a - b),
                                                ("multiply", lambda a, b: a * b)])
def test_data_is_x_op_y_with_the_op_token_p(operation, expected):
    v = _variant(f"p=13,operation={operation}")
    data = v.family.data(v.params)
    x, op, y = data.inputs.unbind(1)
    assert data.inputs.shape == (169, 3) and torch.all(op == 13)
    assert sorted(zip(x.tolist(), y.tolist())) == [(a, b) for a in range(13) for b in range(13)]
    assert torch.equal(data.labels, expected(x, y) % 13)


def test_split_is_half_the_pairs_and_follows_data_seed():
    masks = [FAMILY.data(_variant(f"p=13,data_seed={s}").params).train_mask for s in (0, 0, 1)]
    assert int(masks[0].sum()) == int(0.5 * 169)
    assert torch.equal(masks[0], masks[1]) and not torch.equal(masks[0], masks[2])


@pytest.mark.parametrize("spec,needle", [("p=91", "prime"), ("p=1009", "1000"), ("n_heads=3", "multiple"),
                                         ("p=3,frac_train=0.1", "frac_train"), ("operation=divide", "operation"),
                                         ("normalization=RMS", "normalization")])
def test_bad_params_are_one_line_user_errors(spec, needle):
    with pytest.raises(UserError, match=needle):
        _variant(spec)


def test_recipe_is_the_failing_study_recipe():
    params = FAMILY.Params()
    r = FAMILY.recipe(params)
    n_train = int(0.5 * 97 * 97)
    assert (r.optimizer, r.lr, r.weight_decay, r.betas) == ("adamw", 1e-3, 0.1, (0.9, 0.98))
    assert r.batch_size == 512 == min(512, n_train // 2) and r.no_decay == ()
    assert steps_per_epoch(r, n_train) == 10 and r.eval_every == 10  # metrics every 100 steps
    assert total_epochs(r, n_train) * 10 == 102_000
    assert lr_at(r, 1_999) == pytest.approx(1e-3) and lr_at(r, 52_000) == pytest.approx(5e-4)
    assert lr_at(r, 102_000) == 0.0


def test_recipe_batch_follows_the_training_rows_at_a_small_prime():
    r = FAMILY.recipe(_variant("p=7").params)  # 24 training rows
    assert r.batch_size == 12 and r.eval_every == 50  # 2 steps an epoch, eval every 100 steps


@pytest.mark.parametrize("p", [97, 17])
def test_schedule_fits_the_budget_and_is_dense_early(p):
    params = _variant(f"p={p}").params
    r = FAMILY.recipe(params)
    n_train = int(0.5 * p * p)
    epochs = checkpoint_epochs(FAMILY.schedule(params), total_epochs(r, n_train))
    per_epoch = steps_per_epoch(r, n_train)
    steps = [e * per_epoch for e in epochs]
    assert steps[0] == 0 and steps[-1] >= 102_000
    assert sum(s <= 2_000 for s in steps) >= 10 and len(epochs) < 80


def test_capabilities_name_hooks_the_analysis_model_has():
    v = _variant("p=7,d_model=32,d_mlp=64")
    caps = v.family.capabilities(v.params).as_dict()
    assert caps["modular"] == {"p": 7, "operation": "add", "operands": (0, 2), "answer": 2}
    assert caps["n_layers"] == 2 and caps["final_ln"] is True and caps["transformer"] is True
    names = caps["neuron_hooks"] + caps["attention_hooks"] + caps["resid_hooks"]
    assert caps["resid_hooks"][0] == "blocks.0.hook_resid_pre" and caps["resid_hooks"][-1] == "blocks.1.hook_resid_post"
    bridge = v.family.tl_model(v.params, v.family.init_state(v.params))
    _, cache = bridge.run_with_cache(v.family.data(v.params).inputs[:4], names_filter=lambda n: n in names)
    assert set(names) <= set(cache.keys())
    assert not v.family.capabilities(_variant("p=7,normalization=none").params).final_ln


@pytest.mark.parametrize("spec", ["p=17", "p=17,normalization=none,act_fn=gelu,n_layers=1"])
def test_train_module_equals_analysis_model_on_the_grid(spec):
    v = _variant(spec)
    state = v.family.init_state(v.params)
    gen = torch.Generator().manual_seed(0)
    state = {k: t + 0.02 * torch.randn(t.shape, generator=gen) for k, t in state.items()}
    inputs = v.family.data(v.params).inputs
    with torch.no_grad():
        ours, theirs = v.family.train_module(v.params, state)(inputs), v.family.tl_model(v.params, state)(inputs)[:, -1]
    assert ours.shape == (289, 17) and (ours - theirs).abs().max().item() < 1e-5


def test_init_is_deterministic_from_seed():
    a, b, c = (FAMILY.init_state(_variant(f"p=7,seed={s}").params) for s in (3, 3, 4))
    assert all(torch.equal(a[k], b[k]) for k in a) and not torch.equal(a["embed.W_E"], c["embed.W_E"])


def test_wnorm_is_the_l2_norm_of_every_parameter():
    v = _variant("p=7")
    module = v.family.train_module(v.params, v.family.init_state(v.params))
    expected = math.sqrt(sum(float(t.double().square().sum()) for t in module.hooked_state().values()))
    [row] = v.family.extra_metrics(module, None, v.family.data(v.params))
    assert row["wnorm"] == pytest.approx(expected, rel=1e-9)


def test_a_few_recipe_steps_lower_the_training_loss():
    v = _variant("p=7,d_model=32,d_mlp=64")
    fam, recipe = v.family, v.recipe.model_copy(update={"warmup_steps": 1})
    data = fam.data(v.params)
    x, y = data.inputs[data.train_mask], data.labels[data.train_mask]
    module = fam.train_module(v.params, fam.init_state(v.params))
    opt = build_optimizer(recipe, dict(module.named_parameters()))
    with torch.no_grad():
        start, step = float(fam.loss(module(x), y)), 0
    for epoch in range(1, 16):
        for rows in epoch_batches(recipe, len(x), epoch):
            for group in opt.param_groups:
                group["lr"] = lr_at(recipe, step)
            opt.zero_grad()
            fam.loss(module(x[rows]), y[rows]).backward()
            opt.step()
            step += 1
    with torch.no_grad():
        assert float(fam.loss(module(x), y)) < 0.5 * start
