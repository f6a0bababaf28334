"""Key frequencies from every declared source, and which source explains the most.

A source is a set of units, each a map over the residues: each MLP layer's neurons (the
family's `neuron_hooks`, maps over (a, b) at the answer position), the columns of W_E (maps
over the p input tokens) and the answer logit of each class (maps over (a, b)). Each unit's
variance is split over frequencies (analyzers._maps: the 2-D Fourier fractions of Nanda et
al. 2023 §4.3 for maps over (a, b), cos/sin k of the token for W_E), which gives its dominant
frequency and fraction; a source's `explained` is the share of its units' variance that their
dominant frequencies explain (variance-weighted, live units only). A source with Fourier
structure scores near 1 (a grokked 2-layer model's layer-0 neurons: 0.99); one without it
scores what the largest of F random shares does (~0.1).

The source with the largest `explained` is the default (`key_source`): restricted and excluded
loss take their key set from it at the final checkpoint, the neuron analyzers read the neuron
layer that ranks first (analyzers._keyfreq.neuron_layer), and the headline `key_freqs` is its
strict key set (analyzers._keyfreq.KEY_RULE). Both rules' sets of every source are recorded.
"""

from __future__ import annotations

import numpy as np

from analyzers._keyfreq import key_set
from analyzers._maps import (answer_pos, dominant, fourier_energy, fractions_from_energy, grid, neuron_hooks,
                             neuron_spectrum, unit_variance)
from workbench.core.analyzer import register_analyzer
from workbench.core.fourier import n_freqs

__all__ = ["key_frequencies", "source_spectra", "EMBED", "LOGITS"]

EMBED, LOGITS = "embed.W_E", "logits"  # the two sources that are not neuron layers


def _embed_spectrum(w_e: np.ndarray, basis: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """W_E's columns as maps over the p tokens: (fractions [column, freq], variance [column])."""
    coef = basis.astype(np.float64) @ w_e.astype(np.float64)  # [component, column]
    energy = coef[1:] ** 2  # [component without const, column]
    f = n_freqs(basis.shape[0])
    per_freq = energy[: 2 * f].reshape(f, 2, -1).sum(axis=1).T  # [column, freq]
    total = energy.sum(axis=0)  # [column]
    live = total > 1e-12 * max(float(total.max(initial=0.0)), 1e-30)
    return np.where(live[:, None], per_freq / np.where(live, total, 1.0)[:, None], np.nan), total


def _grid_spectrum(energy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return fractions_from_energy(energy), unit_variance(energy)


def source_spectra(ctx) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{source name: (fractions [unit, freq], variance [unit])}: each neuron layer, W_E if the model has one, the logits."""
    basis = np.asarray(ctx.family["fourier_basis"])
    out = {hook: _grid_spectrum(neuron_spectrum(ctx, hook)[1]) for hook in neuron_hooks(ctx.family)}
    if EMBED in ctx.weights:
        out[EMBED] = _embed_spectrum(ctx.weights[EMBED][: ctx.p], basis)
    logits = ctx.logits[:, answer_pos(ctx.family), : ctx.p]  # [batch, class]
    maps = np.ascontiguousarray(grid(ctx, logits), dtype=np.float32)  # [class, a, b]
    out[LOGITS] = _grid_spectrum(fourier_energy(maps, basis))
    return out


def _explained(frac: np.ndarray, variance: np.ndarray) -> tuple[float, np.ndarray]:
    """(share of the live units' variance their dominant frequencies explain, [freq] share per frequency)."""
    live = ~np.all(np.isnan(frac), axis=1)
    weight = np.where(live, variance, 0.0)
    total = weight.sum()
    if total <= 0:
        return float("nan"), np.full(frac.shape[1], np.nan)
    _, share = dominant(frac)
    return float(np.nansum(weight * share) / total), np.nansum(weight[:, None] * frac, axis=0) / total


@register_analyzer("key_frequencies", kind="activations", hooks=neuron_hooks, needs=("modular", "neuron_hooks"),
                   version=1, headlines={"key_freqs": "key_freqs", "key_source": "key_source",
                                         "explained": "key_source_explained"},
                   outputs={"source_names": ("source",), "explained": ("source",), "freq_share": ("source", "freq"),
                            "paper_keys": ("source", "freq"), "strict_keys": ("source", "freq"),
                            "live_units": ("source",), "key_source": (), "key_freqs": ("key",)},
                   kinds={"paper_keys": "bool", "strict_keys": "bool", "live_units": "int", "key_source": "label",
                          "key_freqs": "freq"})
def key_frequencies(ctx) -> dict[str, np.ndarray]:
    """Per source (each neuron layer, W_E, logits): explained share, frequency spectrum, both rules' key sets."""
    spectra = source_spectra(ctx)
    names = list(spectra)
    f = n_freqs(ctx.p)
    explained, share = np.full(len(names), np.nan), np.full((len(names), f), np.nan)
    masks = {rule: np.zeros((len(names), f), dtype=bool) for rule in ("paper", "strict")}
    live = np.zeros(len(names), dtype=np.int64)
    for i, (frac, variance) in enumerate(spectra.values()):
        explained[i], share[i] = _explained(frac, variance)
        freq, dom_share = dominant(frac)
        live[i] = int((freq >= 1).sum())
        for rule, mask in masks.items():
            mask[i, key_set(rule, freq, dom_share) - 1] = True
    best = int(np.argmax(np.where(np.isnan(explained), -np.inf, explained)))
    return {"source_names": np.array(names), "explained": explained, "freq_share": share.astype(np.float32),
            "paper_keys": masks["paper"], "strict_keys": masks["strict"], "live_units": live,
            "key_source": np.array(names[best]), "key_freqs": np.flatnonzero(masks["strict"][best]).astype(np.int64) + 1}
