"""Ground truth for `routing_mechanism` (issue 27): a hand-built gate routes each pair by a
rule over (a, b), the model answers right exactly where head 0 routes; the shares per
split, the entropies and the per-head test accuracy are counted by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from _helpers import epoch_ctx, modular_family

from workbench.core.analyzer import get_analyzer

P, HEADS = 7, 4
HOOKS = ["blocks.0.hook_gate", "blocks.1.hook_gate"]


def _ctx():
    a, b = np.divmod(np.arange(P * P), P)
    probe = np.stack([a, b], 1)
    head = a % HEADS  # block 0 routes by a: heads 0..3 get rows a = {0,4}, {1,5}, {2,6}, {3}
    gates0 = np.eye(HEADS)[head]
    gates1 = np.full((P * P, HEADS), 1 / HEADS)
    labels = (a + b) % P
    logits = np.zeros((P * P, 1, P))
    logits[np.arange(P * P), 0, np.where(head == 0, labels, (labels + 1) % P)] = 5.0  # right only where head 0 routes
    family = modular_family(P, operands=(0, 1), answer=0, transformer=False, mlp=True, n_layers=2,
                            routing={"n_heads": HEADS, "gate_hooks": HOOKS})
    cache = {HOOKS[0]: gates0[:, None], HOOKS[1]: gates1[:, None]}
    return epoch_ctx(None, P, probe=probe, cache=cache, logits=logits, family=family), head


def test_shares_entropies_and_per_head_test_accuracy_match_the_hand_count():
    ctx, head = _ctx()
    out = get_analyzer("routing_mechanism").fn(ctx)
    train, test = ctx.train_mask, ctx.test_mask  # every other row trains
    expect_train = np.bincount(head[train], minlength=HEADS) / train.sum()
    expect_n_test = np.bincount(head[test], minlength=HEADS)
    np.testing.assert_allclose(out["share_train"][0], expect_train)
    np.testing.assert_allclose(out["share_test"][0], expect_n_test / test.sum())
    np.testing.assert_array_equal(out["n_test"][0], expect_n_test)
    np.testing.assert_allclose(out["acc_test"][0], [1.0, 0.0, 0.0, 0.0])
    np.testing.assert_allclose(out["entropy_train"], [0.0, math.log(HEADS)], atol=1e-12)
    np.testing.assert_allclose(out["entropy_test"], [0.0, math.log(HEADS)], atol=1e-12)
    np.testing.assert_allclose(out["usage_train"][1], np.full(HEADS, 0.25))
    np.testing.assert_allclose(out["usage_train"][0], expect_train)  # one-hot: soft share = hard share
    assert out["share_train"][1].tolist() == [1.0, 0.0, 0.0, 0.0]  # a uniform gate's argmax ties to head 0


def test_a_head_with_no_test_pairs_has_nan_accuracy():
    ctx, _ = _ctx()
    out = get_analyzer("routing_mechanism").fn(ctx)
    assert np.isnan(out["acc_test"][1][1:]).all() and out["n_test"][1][1:].tolist() == [0, 0, 0]
    assert out["acc_test"][1][0] == pytest.approx(float(np.mean(
        ctx.logits[ctx.test_mask, 0].argmax(-1) == ctx.labels[ctx.test_mask])))
