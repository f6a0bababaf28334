"""The MIRAS study's "Fourier purity (SNR)" (issue 28), computed as its code computes it, per prime,
beside a permutation null and the wrap test that decide how to read it.

Source: unixsysdev/grokking-fourier, miras_experiment/analyze_miras_mechanics.py (@32ca702),
`calculate_fourier_snr_1d` with the neuron chosen as in `plot_activation_vs_sum` and
`extrapolation_stress_test`:

1. the last MLP's post-ReLU activations at the answer ('=') position over all p^2 pairs (a, b);
2. the single neuron with the largest variance over that grid;
3. its mean activation per residue s = (a + b) mod p: a curve c[0..p-1];
4. F = |FFT(c)| (magnitudes of the full length-p FFT, not power), F[0] dropped;
5. SNR = max(F[1:]) / (sum(F[1:]) - max(F[1:]) + 1e-9), and the arg-max frequency.

Reading it. A real curve has |F_k| = |F_{p-k}|, so the mirror bin of the best frequency counts as
"noise": a pure cosine scores exactly 1.0 (the ceiling of a one-frequency curve), a ReLU'd cosine
about 0.45, white noise a median that falls with p (about 0.16 at p = 13, 0.03 at p = 71). So a
value means nothing without a p-dependent null: `snr_null_*`, `snr_pct` and `snr_p` are the same
neuron's SNR under N_PERM relabellings of its residues ("same neuron, shuffled sums",
`_multi_prime.residue_perms`, the relabellings the R^2 null uses). The neuron is picked by its
variance over the grid, which no relabelling changes, so one neuron per prime needs no
family-wise correction. A wave in the raw sum a + b (not tied to p) also scores high (0.68 for
period 4, 0.84 for period 6, at p = 13, 37 and 71) and beats the null; `wrap` (`_multi_prime.wrap_score` of the same neuron) is what tells it
apart from a function of (a + b) mod p.

Where ours differs from the study's code:
- every prime of the family's sweep is measured (the study: 13, 71, 101 and 83..150);
- the site is the family's `answer_neuron_hook` (the last block's MLP after its nonlinearity):
  the study's layer 2 for arch=miras with n_layers=2; the one layer of arch=compact;
- primes below MIN_P (5) and a grid where every neuron is constant are NaN with neuron and
  frequency -1 (the study returns F_1 / 1e-9 at p = 2 and about 1.0 at p = 3 by symmetry);
- `freq` is folded to 1..(p-1)/2: the study reports the arg-max index of F[1:] + 1, which is
  k or p - k depending on rounding, since the two mirror bins tie;
- the variance's ddof (torch's default is 1, ours 0) does not change which neuron is largest.
"""

from __future__ import annotations

import numpy as np

from analyzers._multi_prime import MIN_P, N_PERM, NO_FREQ, answer_hook, neuron_rows, prime_blocks, residue_perms, \
    sum_signal, wrap_score
from workbench.core.analyzer import register_analyzer

__all__ = ["fourier_snr_1d", "snr_null", "study_snr", "EPS"]

EPS = 1e-9  # the study's guard in the denominator, kept so values match its code


def fourier_snr_1d(curves: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """curves [..., p] -> (SNR [...], folded best frequency [...]) exactly as the study's formula (module docstring)."""
    p = curves.shape[-1]
    energy = np.abs(np.fft.fft(curves, axis=-1))[..., 1:]
    k = energy.argmax(-1)
    best = np.take_along_axis(energy, k[..., None], -1)[..., 0]
    freq = k + 1
    return best / (energy.sum(-1) - best + EPS), np.minimum(freq, p - freq)


def snr_null(curve: np.ndarray, observed: float, n_perm: int = N_PERM) -> dict[str, float]:
    """The SNR of one curve [p] under the residue relabellings: median, 99th percentile, percentile, p-value.

    A tie counts against the curve (a pure cosine ties its affine relabellings s -> u s + v).
    """
    null, _ = fourier_snr_1d(curve[residue_perms(len(curve), n_perm)])
    return {"snr_null_q50": float(np.quantile(null, 0.5)), "snr_null_q99": float(np.quantile(null, 0.99)),
            "snr_pct": float(100 * (null < observed).mean()),
            "snr_p": float((1 + (null >= observed - 1e-9).sum()) / (1 + n_perm))}


_PER_PRIME = ("snr", "snr_null_q50", "snr_null_q99", "snr_pct", "snr_p", "wrap")


def _one_prime(acts: np.ndarray, block, n_perm: int) -> dict[str, float]:
    """The study's SNR of the top-variance neuron of one prime, its null and its wrap score."""
    var = acts.var(0)
    if block.p < MIN_P or not (var > 0).any():
        return {"neuron": -1, "freq": NO_FREQ, **{k: np.nan for k in _PER_PRIME}}
    top = int(var.argmax())
    curve = sum_signal(acts[:, top:top + 1], block)[:, 0]
    snr, freq = fourier_snr_1d(curve)
    return {"neuron": top, "freq": int(freq), "snr": float(snr), **snr_null(curve, float(snr), n_perm),
            "wrap": float(wrap_score(acts[:, top:top + 1], block)[0])}


@register_analyzer("study_snr", kind="activations", hooks=answer_hook, needs=("multi_prime",), outputs={
    "primes": ("prime",), "group": ("prime",), "neuron": ("prime",), "freq": ("prime",),
    **{k: ("prime",) for k in _PER_PRIME}}, kinds={"freq": "freq", "neuron": "int", "group": "int", "primes": "int"})
def study_snr(ctx) -> dict[str, np.ndarray]:
    """Per prime: the MIRAS study's "Fourier purity (SNR)" of its top-variance neuron, with a permutation null and wrap score.

    `snr` is analyze_miras_mechanics.py's value (1.0 for a pure cosine); read it against
    `snr_null_q99` / `snr_p`, and `wrap` (1: a function of (a + b) mod p; near 0: a raw-sum wave).
    """
    acts = neuron_rows(ctx)
    rows = [(b.p, b.group, _one_prime(acts[b.rows], b, N_PERM)) for b in prime_blocks(ctx)]
    out = {"primes": np.array([p for p, _, _ in rows], dtype=np.int64),
           "group": np.array([g for _, g, _ in rows], dtype=np.int64)}
    for key in ("neuron", "freq"):
        out[key] = np.array([r[key] for _, _, r in rows], dtype=np.int64)
    for key in _PER_PRIME:
        out[key] = np.array([r[key] for _, _, r in rows], dtype=np.float32)
    return out
