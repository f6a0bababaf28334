"""Per-neuron frequency clustering (Nanda et al. 2023, §4.3; the TransformerLens grokking demo).

Each neuron's activation map over (a, b) is written in the 2-D Fourier basis; the
fraction of its non-constant variance owned by frequency k (terms in cos/sin k of a,
of b, and their k-k products) says which frequency cluster it belongs to.

A dead neuron (a constant map: no variance to explain) belongs to no cluster: its
fractions are NaN, its dominant_freq is -1 (analyzers._maps.DEAD) and its dominant_frac
NaN, so every count over frequencies 1..F leaves it out.

The maps are one MLP layer's neurons at the answer position (analyzers._maps
.neuron_spectrum), in the family's Fourier basis (multiplicative characters for a
multiplication task). The layer is the one whose neurons' dominant frequencies explain the
most of their variance at the run's final checkpoint (analyzers._keyfreq.neuron_layer: in a
2-layer transformer that groks, usually layer 0, whose last layer mixes); the artifact names
it (`layer`). Version 3: version 2 always read the last layer.

Its null is a permutation: the same maps with the probe rows shuffled (each neuron keeps its
values, the inputs they belong to are drawn at random), since with few residues a neuron's
largest fraction is large by chance alone (8 of p² - 1 dimensions per frequency, the largest
of (p - 1)/2 of them). `mean_dominant_frac` (the mean over live neurons, the run's headline
`neuron_fourier_frac`) and each neuron's `dominant_frac` are read against it. Version 4 adds
`mean_dominant_frac`.

A permutation null says "not noise", not "learned": an untrained network's neurons are
already smooth functions of a and b, far above their shuffled maps (the p=53 runs' epoch-0
fit sits at percentile 100 of it). So the same measure on freshly initialized networks of
the run's shape (a random null, 16 seeds) is read beside it: a trained network's neurons
should sit above both, an untrained one inside the random null.
"""

from __future__ import annotations

import numpy as np

from analyzers._keyfreq import neuron_layer
from analyzers._maps import dominant, fractions_from_energy, neuron_hooks, neuron_spectrum
from workbench.core.analyzer import register_analyzer


@register_analyzer("neuron_freq_clusters", kind="activations", hooks=neuron_hooks, needs=("modular", "neuron_hooks"),
          version=4, reference=("key_frequencies",),
          outputs={"frac_explained": ("neuron", "freq"), "dominant_freq": ("neuron",), "dominant_frac": ("neuron",),
                   "mean_dominant_frac": (), "layer": ()}, kinds={"dominant_freq": "freq", "layer": "label"},
          headlines={"mean_dominant_frac": "neuron_fourier_frac"},
          null=("permutation", "random"), null_outputs=("mean_dominant_frac", "dominant_frac"))
def neuron_freq_clusters(ctx) -> dict[str, np.ndarray]:
    """Fraction of each neuron's activation variance explained by each frequency; its dominant one."""
    layer = neuron_layer(ctx)
    _, energy = neuron_spectrum(ctx, layer)  # [neuron, i, j], shared with coarseness and key_frequencies
    frac = fractions_from_energy(energy)  # [neuron, freq]; NaN rows for dead neurons
    freq, share = dominant(frac)  # -1 and NaN for dead neurons
    live = share[np.isfinite(share)]
    mean = float(live.mean()) if live.size else float("nan")
    return {"frac_explained": frac.astype(np.float32), "dominant_freq": freq, "dominant_frac": share.astype(np.float32),
            "mean_dominant_frac": np.array(mean, dtype=np.float32), "layer": np.array(layer)}
