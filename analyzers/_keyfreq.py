"""Key frequencies: the frequencies a trained model computes with, by one of two stated rules.

Nanda et al. 2023 read the key frequencies off the neurons of the final model. Their
notebook (progress-measures-paper, Grokking_Analysis.ipynb) takes each neuron's dominant
frequency and forms `key_freqs = np.unique(neuron_freqs)` BEFORE it files the neurons whose
dominant frequency explains less than 0.85 of their variance in a separate cluster (-1);
restricted and excluded loss then use that set. Two rules follow:

    PAPER_RULE (the default for restricted/excluded loss): every distinct dominant
    frequency of the live units at the final checkpoint.
    KEY_RULE (strict; the headline): k is key if at least MIN_SHARE of the live units have
    dominant frequency k with a dominant fraction of at least MIN_FRAC.

The paper's rule counts a frequency that a few units prefer, however weakly; the strict rule
drops a real but small or diffuse cluster (on the demo run k=4, 19 neurons: the paper's set is
{4, 6, 12, 26}, the strict one {6, 12, 26}). The notebook searches k = 1..p//2 - 1; the
workbench's frequencies are 1..(p-1)//2, one more (k = 26 at p = 53).

Units are a source's maps (analyzers.key_frequencies): each MLP layer's neurons, the
columns of W_E, or the logit of each class over (a, b). Dead units (dominant frequency -1,
analyzers._maps.DEAD) are not live and never vote. The rules read a source at the run's final
checkpoint, so the key set is fixed once per run, not re-picked at every checkpoint.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["MIN_FRAC", "MIN_SHARE", "KEY_RULE", "PAPER_RULE", "RULES", "key_frequencies", "paper_frequencies",
           "key_set", "neuron_layer"]

MIN_FRAC = 0.85  # the paper's cluster threshold (Grokking_Analysis.ipynb: neuron_freqs[frac < 0.85] = -1)
MIN_SHARE = 0.02  # a cluster must hold 2% of the live units (about 10 of 512 neurons)
KEY_RULE = (f"dominant frequencies of the final checkpoint's unit clusters holding >= {MIN_SHARE:.0%} "
            f"of live units, counting units whose dominant frequency explains >= {MIN_FRAC} of their variance")
PAPER_RULE = ("every distinct dominant frequency of the final checkpoint's live units "
              "(Nanda et al.'s notebook: np.unique(neuron_freqs), before its 0.85 cluster threshold)")
RULES = {"paper": PAPER_RULE, "strict": KEY_RULE}  # rule name (the `key_rule` option) -> what it says


def key_frequencies(dominant_freq: np.ndarray, dominant_frac: np.ndarray, min_frac: float = MIN_FRAC,
                    min_share: float = MIN_SHARE) -> np.ndarray:
    """The key frequencies under KEY_RULE (strict).

    Args:
        dominant_freq: [unit] 1-based dominant frequency, -1 for a dead unit.
        dominant_frac: [unit] the variance share it explains (NaN for a dead unit).
        min_frac: a unit votes only if its dominant fraction is at least this.
        min_share: a frequency is key if its voters are at least this share of live units.

    Returns:
        [key] int64 1-based frequencies, ascending; empty if no cluster qualifies.
    """
    freq = np.asarray(dominant_freq, dtype=np.int64)
    frac = np.asarray(dominant_frac, dtype=np.float64)
    live = freq >= 1
    votes = freq[live & (frac >= min_frac)]  # NaN fractions compare False
    counts = np.bincount(votes, minlength=1)
    need = max(1, math.ceil(min_share * int(live.sum())))
    return np.flatnonzero(counts >= need).astype(np.int64)


def paper_frequencies(dominant_freq: np.ndarray) -> np.ndarray:
    """The key frequencies under PAPER_RULE: [key] int64, every distinct dominant frequency of a live unit."""
    freq = np.asarray(dominant_freq, dtype=np.int64)
    return np.unique(freq[freq >= 1]).astype(np.int64)


def key_set(rule: str, dominant_freq: np.ndarray, dominant_frac: np.ndarray) -> np.ndarray:
    """The key frequencies of one source's units under `rule` ("paper" or "strict")."""
    if rule == "paper":
        return paper_frequencies(dominant_freq)
    if rule == "strict":
        return key_frequencies(dominant_freq, dominant_frac)
    raise ValueError(f"key_rule must be one of {', '.join(RULES)}; got {rule!r}")


def neuron_layer(ctx) -> str:
    """The neuron hook the neuron analyzers read: the layer whose neurons' dominant frequencies
    explain the largest share of their variance at the final checkpoint (key_frequencies'
    `explained`), so a 2-layer model whose Fourier structure sits in layer 0 is read there;
    the only layer of a 1-layer model without asking."""
    hooks = list(ctx.family["neuron_hooks"])
    if len(hooks) == 1:
        return hooks[0]
    final = ctx.reference("key_frequencies")
    names = [str(n) for n in np.atleast_1d(final["source_names"])]
    explained = np.asarray(final["explained"], dtype=np.float64)
    ranked = [(explained[names.index(h)], i, h) for i, h in enumerate(hooks)
              if h in names and np.isfinite(explained[names.index(h)])]
    return max(ranked)[2] if ranked else hooks[-1]
