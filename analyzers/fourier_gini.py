"""Sparsity of the embedding and of the neuron-logit map in the Fourier basis.

Nanda et al. 2023 ("Progress measures for grokking via mechanistic interpretability",
§5.1 and Fig. 7) track "the Gini coefficient (Hurley & Rickard, 2009) of the norms of the
Fourier components of W_E and W_L", which rises sharply during cleanup. W_L = W_out W_U is
the neuron-logit map ([d_mlp, p]); its Fourier components are taken over the output
residues (the logit axis) and normed over neurons, as in the paper's App. C.2. In a model
with several MLP layers W_L is the last layer's (the family's last `neuron_hooks` entry),
ignoring a final LayerNorm; the basis is the family's (multiplicative for multiplication).

Its null is "random": the coefficients of freshly initialized networks of the run's shape,
whose Fourier norms are spread (a Gini near that of |Gaussian| norms), so a rise reads as
sparsity only above that band. Both coefficients are headlines.
"""

from __future__ import annotations

import numpy as np

from analyzers._maps import last_neuron_hook
from workbench.core.analyzer import register_analyzer
from workbench.core.context import EpochContext

__all__ = ["gini", "fourier_component_norms", "fourier_gini"]


def gini(x: np.ndarray) -> float:
    """Gini coefficient of non-negative values (Hurley & Rickard 2009, their G).

    G = 1 - 2 Σ_k (c_(k) / ‖c‖₁) (N - k + ½) / N over c sorted ascending: 1 - 1/N for a
    one-hot vector, 0 for a uniform one, NaN for an all-zero vector.

    Args:
        x: [n] non-negative values (e.g. Fourier component norms).

    Returns:
        The coefficient in [0, 1 - 1/N].
    """
    c = np.sort(np.abs(np.asarray(x, dtype=np.float64).ravel()))
    total = c.sum()
    if c.size == 0 or total <= 0:
        return float("nan")
    n = c.size
    k = np.arange(1, n + 1)
    return float(1.0 - 2.0 * np.sum((c / total) * (n - k + 0.5) / n))


def fourier_component_norms(rows: np.ndarray, basis: np.ndarray) -> np.ndarray:
    """[p] norm of each Fourier component of `rows` ([p, d], rows indexed by residue)."""
    return np.linalg.norm(basis.astype(np.float64) @ rows.astype(np.float64), axis=1)


# kind "output" by contract: it groups with the other progress measures of Nanda et al. Fig. 7,
# although it reads only weights.
@register_analyzer("fourier_gini", kind="output", needs=("modular", "transformer", "neuron_hooks"),
          outputs={"gini_embed": (), "gini_neuron_logit": ()}, headlines=("gini_embed", "gini_neuron_logit"),
          null="random")
def fourier_gini(ctx: EpochContext) -> dict[str, np.ndarray]:
    """Gini coefficient of the Fourier-component norms of W_E and of W_L = W_out W_U."""
    basis = ctx.family["fourier_basis"]  # [p, p]
    w_e = ctx.weights["embed.W_E"][: ctx.p]  # [p, d_model]; '=' is not a residue
    w_out = ctx.weights[last_neuron_hook(ctx.family)[0].rsplit(".", 1)[0] + ".W_out"]  # blocks.L.mlp.W_out
    w_l = w_out.astype(np.float64) @ ctx.weights["unembed.W_U"][:, : ctx.p]  # [d_mlp, p]
    return {
        "gini_embed": np.array(gini(fourier_component_norms(w_e, basis))),
        "gini_neuron_logit": np.array(gini(fourier_component_norms(w_l.T, basis))),
    }
