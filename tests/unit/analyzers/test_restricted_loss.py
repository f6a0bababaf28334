"""restricted_loss against Nanda et al.'s formula, computed here independently on a hand-built logit cube."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from analyzers.restricted_loss import GIVEN_RULE
from workbench.core.analyzer import get_analyzer

P = 17
KEYS = [2, 5]


def _cube(seed=0):
    """[a, b, c] logits: class biases, per-class key and non-key (a+b) waves, and noise."""
    rng = np.random.default_rng(seed)
    a, b = np.meshgrid(np.arange(P), np.arange(P), indexing="ij")
    cube = rng.normal(size=(1, 1, P)) * 2 + rng.normal(size=(P, P, P))  # class biases + noise
    for k, scale in ((2, 3.0), (5, 2.0), (7, 4.0), (1, 1.0)):
        w = 2 * np.pi * k * (a + b) / P  # [a, b]
        cube += scale * (np.cos(w)[..., None] * rng.normal(size=P) + np.sin(w)[..., None] * rng.normal(size=P))
    cube += 3 * np.cos(2 * np.pi * 2 * (a[..., None] + b[..., None] - np.arange(P)) / P)  # the algorithm's form
    return cube


def _paper_restricted_logits(cube, keys):
    """The notebook's trig_loss logits, written out: per class c, the projection of L_c[a, b]
    on each normalized cos/sin(w_k(a+b)) plus L_c's mean (bias_correction)."""
    a, b = np.meshgrid(np.arange(P), np.arange(P), indexing="ij")
    out = np.zeros_like(cube)
    for c in range(P):
        out[:, :, c] = cube[:, :, c].mean()
        for k in keys:
            for wave in (np.cos(2 * np.pi * k * (a + b) / P), np.sin(2 * np.pi * k * (a + b) / P)):
                unit = wave / np.sqrt(np.einsum("ab,ab->", wave, wave))
                out[:, :, c] += np.einsum("ab,ab->", cube[:, :, c], unit) * unit
    return out


def _cross_entropy(logits, labels):
    return float(torch.nn.functional.cross_entropy(torch.tensor(logits), torch.tensor(labels)))


def _ctx(fake_ctx, cube, perm=None, **kwargs):
    logits = np.zeros((P * P, 3, P))
    logits[:, -1] = cube.reshape(P * P, P)
    a, b = np.divmod(np.arange(P * P), P)
    probe = np.stack([a, b, np.full_like(a, P)], axis=1)
    if perm is not None:
        logits, probe = logits[perm], probe[perm]
    return fake_ctx(P, logits=logits, probe=probe, **kwargs)


@pytest.mark.parametrize("shuffle", [False, True])
def test_restricted_and_excluded_loss_match_the_papers_formula(fake_ctx, shuffle):
    cube = _cube()
    perm = np.random.default_rng(1).permutation(P * P) if shuffle else None
    ctx = _ctx(fake_ctx, cube, perm, options={"key_freqs": KEYS})
    out = get_analyzer("restricted_loss").fn(ctx)

    labels = (np.add.outer(np.arange(P), np.arange(P)) % P).reshape(-1)
    restricted = _paper_restricted_logits(cube, KEYS).reshape(P * P, P)
    key_only = restricted - cube.reshape(P * P, P).mean(axis=0)  # the components, without the means
    train = np.zeros(P * P, dtype=bool)
    train[(perm if perm is not None else np.arange(P * P))[::2]] = True  # epoch_ctx trains every other probe row
    excluded = cube.reshape(P * P, P) - key_only

    assert float(out["restricted_loss"]) == pytest.approx(_cross_entropy(restricted, labels), rel=1e-10)
    assert float(out["excluded_loss"]) == pytest.approx(_cross_entropy(excluded[train], labels[train]), rel=1e-10)
    assert float(out["train_loss"]) == pytest.approx(_cross_entropy(cube.reshape(P * P, P)[train], labels[train]))
    np.testing.assert_array_equal(out["key_freqs"], KEYS)
    assert str(out["key_rule"]) == GIVEN_RULE


def _final(paper, strict, source="blocks.0.mlp.hook_post"):
    """A key_frequencies artifact at the final checkpoint: two sources, the first ranked first."""
    f = (P - 1) // 2
    masks = {rule: np.zeros((2, f), dtype=bool) for rule in ("paper", "strict")}
    for rule, keys in (("paper", paper), ("strict", strict)):
        masks[rule][0, np.asarray(keys, dtype=int) - 1] = True
    masks["paper"][1, [0, 6]] = True  # logits: k = 1 and 7
    return {"source_names": np.array([source, "logits"]), "explained": np.array([0.93, 0.3]),
            "paper_keys": masks["paper"], "strict_keys": masks["strict"], "key_source": np.array(source)}


def test_keys_come_from_the_final_checkpoints_best_source_by_the_papers_rule(fake_ctx):
    ref = {"key_frequencies": _final(paper=[2, 5, 7], strict=[2, 5])}
    out = get_analyzer("restricted_loss").fn(_ctx(fake_ctx, _cube(), reference=ref))
    np.testing.assert_array_equal(out["key_freqs"], [2, 5, 7])
    assert str(out["key_rule"]).startswith("paper:") and "np.unique" in str(out["key_rule"])
    assert str(out["key_source"]) == "blocks.0.mlp.hook_post (explained 0.93)"
    given = get_analyzer("restricted_loss").fn(_ctx(fake_ctx, _cube(), options={"key_freqs": [2, 5, 7]}))
    assert float(out["restricted_loss"]) == float(given["restricted_loss"])  # the same formula on the same keys


def test_the_strict_rule_and_another_source_are_options(fake_ctx):
    ref = {"key_frequencies": _final(paper=[2, 5, 7], strict=[2, 5])}
    strict = get_analyzer("restricted_loss").fn(_ctx(fake_ctx, _cube(), reference=ref, options={"key_rule": "strict"}))
    np.testing.assert_array_equal(strict["key_freqs"], [2, 5])
    assert str(strict["key_rule"]).startswith("strict:")
    logits = get_analyzer("restricted_loss").fn(_ctx(fake_ctx, _cube(), reference=ref, options={"key_source": "logits"}))
    np.testing.assert_array_equal(logits["key_freqs"], [1, 7])
    assert str(logits["key_source"]).startswith("logits")
    for bad, message in (({"key_rule": "loose"}, "key_rule must be one of paper, strict"),
                         ({"key_source": "blocks.9"}, "key_source must be one of")):
        with pytest.raises(ValueError, match=message):
            get_analyzer("restricted_loss").fn(_ctx(fake_ctx, _cube(), reference=ref, options=bad))


def test_no_key_frequency_refuses_restricted_loss_with_the_reason(fake_ctx):
    """Never a silent ln p: the class means alone are what an empty key set would leave."""
    ref = {"key_frequencies": _final(paper=[], strict=[], source="blocks.1.mlp.hook_post")}
    for ctx in (_ctx(fake_ctx, _cube(), reference=ref), _ctx(fake_ctx, _cube(), options={"key_freqs": []})):
        out = get_analyzer("restricted_loss").fn(ctx)
        assert np.isnan(out["restricted_loss"]) and np.isnan(out["excluded_loss"]) and out["key_freqs"].shape == (0,)
        assert str(out["key_rule"]).startswith("refused: no key frequency under")
        assert np.isfinite(out["train_loss"]) and np.isfinite(out["test_loss"])
    assert "blocks.1.mlp.hook_post" in str(get_analyzer("restricted_loss").fn(_ctx(fake_ctx, _cube(),
                                                                                     reference=ref))["key_rule"])


def test_logits_of_key_frequencies_alone_survive_restriction_and_vanish_when_excluded(fake_ctx):
    a, b, c = np.meshgrid(np.arange(P), np.arange(P), np.arange(P), indexing="ij")
    cube = 4 * np.cos(2 * np.pi * 2 * (a + b - c) / P) + 3 * np.sin(2 * np.pi * 5 * (a + b) / P) * np.cos(c)
    out = get_analyzer("restricted_loss").fn(_ctx(fake_ctx, cube, options={"key_freqs": KEYS}))
    labels = (np.add.outer(np.arange(P), np.arange(P)) % P).reshape(-1)
    assert float(out["restricted_loss"]) == pytest.approx(_cross_entropy(cube.reshape(P * P, P), labels), rel=1e-10)
    assert float(out["excluded_loss"]) == pytest.approx(np.log(P), abs=1e-10)  # nothing left: uniform


def test_out_of_range_key_frequency_is_refused(fake_ctx):
    with pytest.raises(ValueError, match="1..8"):
        get_analyzer("restricted_loss").fn(_ctx(fake_ctx, _cube(), options={"key_freqs": [9]}))
