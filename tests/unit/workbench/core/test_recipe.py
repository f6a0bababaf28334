"""Recipes as data (issue 11): schedules at given steps, parameter groups, batches, identity."""

from __future__ import annotations

import math

import pytest
import torch

from workbench.core.errors import UserError
from workbench.core.recipe import Recipe, build_optimizer, epoch_batches, lr_at, param_group, total_epochs
from workbench.core.variant import parse_variant


def test_constant_schedule_is_the_peak_lr_at_every_step():
    r = Recipe(lr=3e-3, epochs=1)
    assert [lr_at(r, s) for s in (0, 1, 10**6)] == [3e-3] * 3


def test_linear_warmup_then_constant():
    r = Recipe(lr=1e-3, lr_schedule="warmup", warmup_steps=4, epochs=1)
    assert [lr_at(r, s) for s in range(6)] == pytest.approx([2.5e-4, 5e-4, 7.5e-4, 1e-3, 1e-3, 1e-3])


def test_warmup_cosine_hits_peak_half_and_floor():
    r = Recipe(lr=1e-3, lr_schedule="warmup_cosine", warmup_steps=2000, decay_steps=100_000, min_lr_ratio=0.1, steps=1)
    assert lr_at(r, 0) == pytest.approx(1e-3 / 2000)
    assert lr_at(r, 1999) == pytest.approx(1e-3)
    assert lr_at(r, 2000 + 50_000) == pytest.approx(1e-3 * (0.1 + 0.9 * 0.5))
    assert lr_at(r, 2000 + 100_000) == pytest.approx(1e-4) == lr_at(r, 10**7)
    mid = 2000 + 25_000
    assert lr_at(r, mid) == pytest.approx(1e-3 * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi / 4))))


def test_step_decay():
    r = Recipe(lr=1.0, lr_schedule="step", step_every=10, gamma=0.5, epochs=1)
    assert [lr_at(r, s) for s in (0, 9, 10, 25)] == [1.0, 1.0, 0.5, 0.25]


@pytest.mark.parametrize("bad", [dict(lr=float("inf")), dict(lr=0), dict(weight_decay=float("nan")),
                                 dict(lr_schedule="warmup_cosine"), dict(lr_schedule="step"),
                                 dict(epochs=5, steps=5), dict(betas=(0.9, 1.0))])
def test_bad_recipes_are_refused(bad):
    with pytest.raises(ValueError):
        Recipe(**({"epochs": 1} | bad))


def test_param_groups_by_name():
    assert [param_group(n) for n in ("embed.W_E", "pos_embed.W_pos", "blocks.0.attn.b_Q", "blocks.1.ln1.w",
                                     "ln_final.b", "blocks.0.mlp.W_in", "unembed.W_U", "router.gate_W",
                                     "layers.0.bias")] == \
        ["embed", "embed", "bias", "norm", "norm", "weight", "weight", "gate", "bias"]


def test_no_decay_groups_really_skip_weight_decay():
    named = {"embed.W_E": torch.nn.Parameter(torch.ones(3)), "blocks.0.mlp.W_in": torch.nn.Parameter(torch.ones(3)),
             "blocks.0.mlp.b_in": torch.nn.Parameter(torch.ones(3))}
    opt = build_optimizer(Recipe(lr=0.1, weight_decay=0.5, no_decay=("embed", "bias"), epochs=1), named)
    for p in named.values():
        p.grad = torch.zeros(3)  # no gradient: only decay moves a weight
    opt.step()
    assert torch.equal(named["embed.W_E"], torch.ones(3)) and torch.equal(named["blocks.0.mlp.b_in"], torch.ones(3))
    assert torch.allclose(named["blocks.0.mlp.W_in"], torch.full((3,), 1 - 0.1 * 0.5))


def test_without_no_decay_there_is_one_param_group():
    named = {"a": torch.nn.Parameter(torch.ones(2)), "b": torch.nn.Parameter(torch.ones(2))}
    assert len(build_optimizer(Recipe(lr=0.1, epochs=1), named).param_groups) == 1


def test_batches_cover_every_row_once_and_depend_only_on_seed_and_epoch():
    r = Recipe(lr=1e-3, batch_size=32, epochs=1)
    batches = epoch_batches(r, 100, epoch=3)
    assert [len(b) for b in batches] == [32, 32, 32, 4]
    assert sorted(torch.cat(batches).tolist()) == list(range(100))
    assert all(torch.equal(a, b) for a, b in zip(batches, epoch_batches(r, 100, epoch=3)))
    assert not torch.equal(torch.cat(batches), torch.cat(epoch_batches(r, 100, epoch=4)))
    assert epoch_batches(Recipe(lr=1e-3, epochs=1), 100, 3) is None  # full batch


def test_a_steps_budget_rounds_up_to_whole_epochs():
    assert total_epochs(Recipe(lr=1e-3, batch_size=512, steps=102_000), 4704) == math.ceil(102_000 / 10)


def test_a_recipe_override_changes_the_run_identity_and_round_trips():
    base = parse_variant("modular_addition:p=53")
    over = parse_variant("modular_addition:p=53,r.weight_decay=0.5,r.batch_size=64")
    assert over.key != base.key and over.dir_name.endswith(",r.weight_decay=0.5,r.batch_size=64")
    assert over.recipe.batch_size == 64 and over.recipe.weight_decay == 0.5
    assert parse_variant(over.spec) == over
    # restating the family's own value is no override: same run
    assert parse_variant("modular_addition:p=53,r.eval_every=100").key == base.key


@pytest.mark.parametrize("spec", ["modular_addition:r.nope=1", "modular_addition:r.lr=-1",
                                  "modular_addition:r.lr_schedule=cosine", "modular_addition:r.batch_size=x"])
def test_bad_overrides_are_one_line_user_errors(spec):
    with pytest.raises(UserError):
        parse_variant(spec)


@pytest.mark.parametrize("recipe", [
    Recipe(lr=3e-3, epochs=1),
    Recipe(lr=1e-3, lr_schedule="warmup", warmup_steps=7, epochs=1),
    Recipe(lr=1e-3, lr_schedule="warmup_cosine", warmup_steps=20, decay_steps=300, min_lr_ratio=0.1, steps=1),
    Recipe(lr=1.0, lr_schedule="step", warmup_steps=3, step_every=10, gamma=0.5, epochs=1),
])
def test_lr_steps_is_lr_at_for_every_step(recipe):
    from workbench.core.recipe import lr_steps

    assert lr_steps(recipe, 400).tolist() == pytest.approx([lr_at(recipe, s) for s in range(400)], rel=1e-12)


def test_decay_integral_sums_lr_times_weight_decay_over_the_steps_done():
    from workbench.core.recipe import decay_integral

    r = Recipe(lr=1e-3, weight_decay=0.5, lr_schedule="warmup", warmup_steps=4, epochs=1)
    # steps 0..3 warm up (2.5e-4 .. 1e-3, sum 2.5e-3), then 1e-3 a step
    assert decay_integral(r, [0, 4, 10]).tolist() == pytest.approx([0.0, 0.5 * 2.5e-3, 0.5 * (2.5e-3 + 6e-3)])
    study = parse_variant("modular_arithmetic:p=97").recipe  # the study's 102k steps: 0.1 * (1 + 50) = 5.1
    assert decay_integral(study, [102_000])[0] == pytest.approx(5.1, rel=1e-4)
