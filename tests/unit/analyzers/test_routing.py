"""Ground truth for the routing analyzers (least-action study): hand-built gate
distributions (uniform, one-hot by a rule over (a, b), a known mixture) and what the
per-checkpoint `routing` and the `routing_trajectory` summary must report for them."""

from __future__ import annotations

import math

import numpy as np
import pytest
from _helpers import modular_family, per_epoch_stack

from analyzers.routing import gate_entropy
from workbench.core.analyzer import get_analyzer
from workbench.core.context import SummaryContext

P, HEADS = 7, 4
HOOKS = ["blocks.0.hook_gate", "blocks.1.hook_gate"]


def _family() -> dict:
    """A routed MLP's analysis context: probe rows [a, b], logits at position 0, two gated blocks."""
    return modular_family(P, operands=(0, 1), answer=0, transformer=False, mlp=True, n_layers=2,
                          routing={"n_heads": HEADS, "gate_hooks": HOOKS})


def _run(fake_ctx, gates_by_layer: list[np.ndarray], shuffle: bool = False) -> dict:
    """The routing analyzer on gates [p*p, head] per layer given in (a*p + b) row order."""
    a, b = np.divmod(np.arange(P * P), P)
    order = np.random.default_rng(0).permutation(P * P) if shuffle else np.arange(P * P)
    probe = np.stack([a, b], 1)[order]
    cache = {h: g[order][:, None, :] for h, g in zip(HOOKS, gates_by_layer)}  # [batch, pos=1, head]
    return get_analyzer("routing").fn(fake_ctx(P, probe=probe, cache=cache, family=_family()))


def test_entropy_of_uniform_and_one_hot_gates():
    assert gate_entropy(np.full(HEADS, 1 / HEADS)) == pytest.approx(math.log(HEADS))
    assert gate_entropy(np.eye(HEADS)).tolist() == [0.0] * HEADS
    assert gate_entropy(np.array([0.5, 0.5, 0, 0])) == pytest.approx(math.log(2))


@pytest.mark.parametrize("shuffle", [False, True])
def test_uniform_and_rule_based_one_hot_gates(fake_ctx, shuffle):
    a, b = np.divmod(np.arange(P * P), P)
    rule = (a + 2 * b) % HEADS  # input (a, b) goes to head (a + 2b) mod 4
    uniform, one_hot = np.full((P * P, HEADS), 1 / HEADS), np.eye(HEADS)[rule]
    out = _run(fake_ctx, [uniform, one_hot], shuffle)
    assert out["gates"].shape == (2, HEADS, P, P)
    np.testing.assert_allclose(out["entropy"], [math.log(HEADS), 0.0], atol=1e-12)
    np.testing.assert_allclose(out["usage"][0], 1 / HEADS)
    want_share = np.bincount(rule, minlength=HEADS) / (P * P)
    np.testing.assert_allclose(out["usage"][1], want_share)
    np.testing.assert_allclose(out["dominant_share"][1], want_share)
    grid_a, grid_b = np.meshgrid(np.arange(P), np.arange(P), indexing="ij")
    assert np.array_equal(out["dominant"][1], (grid_a + 2 * grid_b) % HEADS)  # [a, b] layout, whatever the row order
    assert np.array_equal(out["gates"][1, 3], ((grid_a + 2 * grid_b) % HEADS == 3).astype(np.float32))


def test_a_known_mixture(fake_ctx):
    mix = np.tile([0.7, 0.1, 0.1, 0.1], (P * P, 1))
    out = _run(fake_ctx, [mix, mix[:, ::-1]])
    want = -(0.7 * math.log(0.7) + 3 * 0.1 * math.log(0.1))
    np.testing.assert_allclose(out["entropy"], [want, want])
    np.testing.assert_allclose(out["usage"], [[0.7, 0.1, 0.1, 0.1], [0.1, 0.1, 0.1, 0.7]])
    np.testing.assert_array_equal(out["dominant_share"], [[1, 0, 0, 0], [0, 0, 0, 1]])


def test_trajectory_stacks_entropy_and_usage(fake_ctx):
    a, b = np.divmod(np.arange(P * P), P)
    uniform, one_hot = np.full((P * P, HEADS), 1 / HEADS), np.eye(HEADS)[a % HEADS]
    epochs = [0, 100, 200]
    outs = [_run(fake_ctx, [uniform, uniform]), _run(fake_ctx, [uniform, one_hot]), _run(fake_ctx, [one_hot, one_hot])]
    ctx = SummaryContext(epochs=np.array(epochs), metrics={}, artifacts=lambda name: per_epoch_stack(outs),
                         family=_family())
    traj = get_analyzer("routing_trajectory").fn(ctx)
    assert traj["epochs"].tolist() == epochs
    np.testing.assert_allclose(traj["entropy"], [[math.log(4)] * 2, [math.log(4), 0], [0, 0]], atol=1e-12)
    assert float(traj["max_entropy"]) == pytest.approx(math.log(HEADS))
    assert traj["usage"].shape == (3, 2, HEADS)
    np.testing.assert_allclose(traj["usage"].sum(-1), 1.0)
