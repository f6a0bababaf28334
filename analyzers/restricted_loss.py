"""Restricted and excluded loss, the progress measures of Nanda et al. 2023 (§5.1, Fig. 7).

As the paper's released analysis computes them (mechanistic-interpretability-grokking/
progress-measures-paper, Grokking_Analysis.ipynb: `trig_loss` and
`calculate_excluded_loss_2D_full`, with `get_component_cos_xpy` / `get_component_sin_xpy`
from helpers.py), on the answer-position logits L[a, b, c] over the full p x p grid:

- For each key frequency w_k = 2πk/p, the key component of class c's logit map is its
  projection onto the two functions cos(w_k(a+b)) and sin(w_k(a+b)) of (a, b), which are
  orthogonal over the grid: K_c = Σ_k Σ_f <L_c, f_k> f_k / |f_k|², one coefficient pair
  per class and frequency.
- restricted loss: cross-entropy over ALL p² pairs (the notebook's default mode='all',
  which Fig. 7 plots) of K_c + mean_ab(L_c): the key components plus each class's mean
  logit (the notebook's bias_correction; K has zero mean over the grid, so the two agree).
- excluded loss: cross-entropy over the TRAIN pairs of L − K (no mean added back).

This projects the logits, as the paper's notebook does. The TransformerLens grokking demo
(demos/Grokking_Demo.ipynb, `get_restricted_loss`) instead projects the MLP activations
(hook_post) onto cos/sin(w_k(a+b)), maps them through W_out·W_U and scores the test pairs;
we follow the paper. Version 1 here projected onto only the 2 directions
cos/sin(w_k(a+b−c)) of the whole (a, b, c) cube and added back the grand mean instead of
each class's mean (the notebook computes a cos-only form, `excluded_loss_3D`, but does
not plot it). It is dropped: it departs from Fig. 7 in two ways at once, and on the demo
run (p=53) its restricted loss sat 13x (epoch 1000) to 1000x (epoch 2000) below this
one, mostly because of the mean: with class means added it came within 30% of this one
up to epoch 1500. It measured the choice of mean more than a different circuit.

Key frequencies are fixed once per run, from the run's FINAL checkpoint: from
ctx.options["key_freqs"] if given; else the `key_rule` option's set ("paper", the default:
every distinct dominant frequency of the live units, as the paper's notebook; "strict":
analyzers._keyfreq.KEY_RULE) of the `key_source` option's source (default: the source whose
units' dominant frequencies explain the most of their variance, analyzers.key_frequencies:
each neuron layer, W_E or the logits). The artifact records the keys (`key_freqs`), the rule
(`key_rule`) and the source (`key_source`). Where no frequency passes the rule, the losses are
NaN and `key_rule` says why: the class means alone would give about ln p, which reads like a
measurement and is not one.

Version 3: version 2 read the strict rule off the last layer's neurons, so on a 2-layer model
whose last layer mixes it found no key and reported ln p; and on 1-layer runs its stricter set
(e.g. the demo's {6, 12, 26} for the paper's {4, 6, 12, 26}) gave a larger restricted loss.

Its null is a permutation: the logits' probe rows shuffled (each pair meets another pair's
logits; labels and splits stay), the losses of a network whose outputs carry nothing of its
inputs. Both losses are headlines, read against it (a low percentile: below chance).

It applies to addition only (capability need ``modular.operation=add``): the key
directions are functions of a + b. The operands and the answer logits are read at the
family's positions.
"""

from __future__ import annotations

import numpy as np

from analyzers._keyfreq import RULES
from analyzers._maps import answer_pos, operand_pos
from analyzers._output import masked_mean, nll
from workbench.core.analyzer import register_analyzer

GIVEN_RULE = "given explicitly (--key-frequencies)"


def key_components(logits: np.ndarray, probe: np.ndarray, p: int, key_freqs,
                   operands: tuple[int, int] = (0, 1)) -> np.ndarray:
    """Each class's cos/sin(w_k(a+b)) components over the (a, b) grid, summed over the key k.

    Every direction depends on (a, b) only through s = (a + b) mod p, and each s occurs p
    times on the grid, so the projection needs only the per-class sums over each s.

    Args:
        logits: [batch, classes] answer-position logits; the probe must cover all p² pairs once.
        probe: [batch, n_ctx] tokens.
        p: modulus.
        key_freqs: 1-based frequencies (may be empty).
        operands: the probe columns holding a and b.

    Returns:
        [batch, classes] float64 key component K of each row's logits.
    """
    a, b = (probe[:, i].astype(np.int64) for i in operands)
    rows = a * p + b
    if len(rows) != p * p or not np.array_equal(np.sort(rows), np.arange(p * p)):
        raise ValueError(f"restricted_loss needs the full {p}x{p} grid as probe; got {len(rows)} rows")
    s = (a + b) % p  # [batch]
    n_class = logits.shape[1]
    by_s = np.bincount((s[:, None] * n_class + np.arange(n_class)).ravel(), weights=logits.ravel(),
                       minlength=p * n_class).reshape(p, n_class)  # [s, class] sums over a + b ≡ s
    angle = 2 * np.pi * np.outer(np.asarray(key_freqs, dtype=np.float64), np.arange(p)) / p  # [key, s]
    waves = np.concatenate([np.cos(angle), np.sin(angle)])  # [2 key, s]
    sq_norm = p * (waves**2).sum(axis=1, keepdims=True)  # |f_k|² over the p² grid
    table = waves.T @ ((waves @ by_s) / sq_norm)  # [s, class]
    return table[s]


def _keys(ctx) -> tuple[np.ndarray, str, str]:
    """(key frequencies, the rule that chose them, the source they were read from), fixed at the final checkpoint."""
    given = ctx.options.get("key_freqs")
    if given is not None:
        keys = np.asarray(given, dtype=np.int64).reshape(-1)
        if keys.size and (keys.min() < 1 or keys.max() > (ctx.p - 1) // 2):
            raise ValueError(f"key frequencies must lie in 1..{(ctx.p - 1) // 2}; got {keys.tolist()}")
        return keys, GIVEN_RULE, "given"
    rule = str(ctx.options.get("key_rule", "paper"))
    if rule not in RULES:
        raise ValueError(f"key_rule must be one of {', '.join(RULES)}; got {rule!r}")
    final = ctx.reference("key_frequencies")
    names = [str(n) for n in np.atleast_1d(final["source_names"])]
    source = str(ctx.options.get("key_source", final["key_source"]))
    if source not in names:
        raise ValueError(f"key_source must be one of {', '.join(names)}; got {source!r}")
    i = names.index(source)
    keys = np.flatnonzero(final[f"{rule}_keys"][i]).astype(np.int64) + 1
    return keys, f"{rule}: {RULES[rule]}", f"{source} (explained {float(final['explained'][i]):.2f})"


@register_analyzer("restricted_loss", kind="output", version=3, reference=("key_frequencies",),
          needs=("modular.operation=add",),
          outputs={"key_freqs": ("key",), "key_rule": (), "key_source": (), "restricted_loss": (), "excluded_loss": (),
                   "train_loss": (), "test_loss": ()},
          kinds={"key_freqs": "freq", "key_rule": "label", "key_source": "label"},
          headlines=("restricted_loss", "excluded_loss"), null="permutation")
def restricted_loss(ctx) -> dict[str, np.ndarray]:
    """Loss keeping only (restricted) or removing (excluded) each class's key-frequency components."""
    keys, rule, source = _keys(ctx)
    logits = ctx.logits[:, answer_pos(ctx.family), :].astype(np.float64)  # [batch, class]
    full = nll(logits, ctx.labels)
    out = {"key_freqs": keys, "key_rule": np.array(rule), "key_source": np.array(source),
           "train_loss": masked_mean(full, ctx.train_mask), "test_loss": masked_mean(full, ctx.test_mask)}
    if not keys.size:  # refused: the class means alone (about ln p) would pass for a measurement
        why = f"refused: no key frequency under {rule.split(':')[0]} in {source}"
        return out | {"key_rule": np.array(why), "restricted_loss": np.array(np.nan), "excluded_loss": np.array(np.nan)}
    key_part = key_components(logits, ctx.probe, ctx.p, keys, operand_pos(ctx.family))
    everyone = np.ones(len(logits), dtype=bool)
    return out | {"restricted_loss": masked_mean(nll(key_part + logits.mean(axis=0), ctx.labels), everyone),
                  "excluded_loss": masked_mean(nll(logits - key_part, ctx.labels), ctx.train_mask)}
