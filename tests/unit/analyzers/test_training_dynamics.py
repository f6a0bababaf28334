"""training_dynamics against its definition: the recipe's lr at each evaluation and the running sum of lr * wd."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.core.analyzer import get_analyzer
from workbench.core.context import SummaryContext
from workbench.core.recipe import Recipe
from workbench.core.variant import parse_variant


def _ctx(recipe: Recipe, epochs, steps_per_epoch: int, **metrics) -> SummaryContext:
    table = {"epoch": np.asarray(epochs), **{k: np.asarray(v) for k, v in metrics.items()}}
    return SummaryContext(epochs=np.asarray(epochs), metrics=table, artifacts=lambda name: {}, family={},
                          recipe=recipe, steps_per_epoch=steps_per_epoch)


def test_lr_and_budget_follow_the_recipe_step_by_step():
    r = Recipe(lr=2e-3, weight_decay=0.5, lr_schedule="warmup", warmup_steps=4, steps=100)
    out = get_analyzer("training_dynamics").fn(_ctx(r, [0, 1, 2, 5], 3, wnorm=[9.0, 8.0, 7.0, 6.0]))
    np.testing.assert_array_equal(out["steps"], [0, 3, 6, 15])
    # steps 0-3 warm up: 0.5, 1, 1.5, 2 (x 1e-3); an evaluation reports its epoch's last step
    np.testing.assert_allclose(out["lr"], [5e-4, 1.5e-3, 2e-3, 2e-3])
    warm = (0.5 + 1 + 1.5 + 2) * 1e-3
    np.testing.assert_allclose(out["decay_budget"], 0.5 * np.array([0, 3e-3, warm + 2 * 2e-3, warm + 11 * 2e-3]))
    np.testing.assert_array_equal(out["weight_norm"], [9, 8, 7, 6])
    assert bool(out["step_based"]) and int(out["steps_per_epoch"]) == 3
    assert "AdamW" in str(out["decay_kind"])


def test_the_studys_whole_budget_is_5_1_and_passes_1_9_near_step_20_500():
    """0.1 x (2,000 warmup steps at a mean 5e-4 + 100,000 cosine steps at a mean 5e-4) = 5.1."""
    study = parse_variant("modular_arithmetic:p=97")
    epochs = np.arange(0, 10_201, 10)
    out = get_analyzer("training_dynamics").fn(_ctx(study.recipe, epochs, study.steps_per_epoch))
    assert out["decay_budget"][-1] == pytest.approx(5.1, rel=1e-4)
    assert out["steps"][np.searchsorted(out["decay_budget"], 1.9)] == pytest.approx(20_500, abs=100)
    assert out["lr"][-1] < 1e-9 and np.isnan(out["weight_norm"]).all()  # no wnorm column: NaN, not zeros


def test_adam_decay_is_named_as_a_penalty():
    out = get_analyzer("training_dynamics").fn(_ctx(Recipe(optimizer="adam", weight_decay=1.0, epochs=3), [0, 3], 1))
    assert "L2" in str(out["decay_kind"]) and not bool(out["step_based"])
    np.testing.assert_allclose(out["decay_budget"], [0, 3e-3])
