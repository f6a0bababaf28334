"""Spectral smoothness of the model's output function over the (a, b) grid (the
least-action study, issue 12), next to the exact target's score and chance.

The output function is each input's predicted answer distribution read as a phasor,
z[a, b] = sum_c softmax(logits)[c] exp(2 pi i c / p); for multiply the operands and the
answer are indexed by discrete logarithm and 0 is set apart (workbench.core.modular.phasor_grid).
smoothness = the share of the 2-D FFT power of z, constant bin excluded, at low
frequencies 1 <= max(|k_a|, |k_b|) <= max(1, n // 8) (workbench.core.modular.smoothness). The
study defines the score only as "the fraction of 2-D FFT power at low frequencies"; the
phasor reading and the cutoff are ours, chosen so the exact target scores exactly 1 for
add and multiply alike and random labels score about `chance`.

Version 3 adds the study's own definition (analyzers/_lal_smooth.py, issue 27): the argmax
class index on the natural (a, b) grid, the zero-frequency bin included, a circle of radius
p // 4 (`smoothness_study`); the same ratio on the expected class index, the quantity its
spectral loss uses (`smoothness_study_soft`); the exact target's score, random labels' mean and
sd (200 seeded draws) and the DC floor. In that definition a constant prediction scores 1.0 and
random labels ~0.77 at p = 17: it is not a generalization measure, and neither is ours (a
routed net at 0% test reads 0.73 against chance 0.08).
"""

from __future__ import annotations

import numpy as np

from analyzers._lal_smooth import class_index_grid, dc_floor, study_k, study_null, study_smoothness
from analyzers._maps import answer_pos, operand_pos
from workbench.core.analyzer import register_analyzer
from workbench.core.modular import low_frequency_mask, phasor_grid, smooth_cutoff, smoothness


def _score(probs: np.ndarray, ctx) -> tuple[float, np.ndarray]:
    i, j = operand_pos(ctx.family)
    a, b = ctx.probe[:, i].astype(np.int64), ctx.probe[:, j].astype(np.int64)
    return smoothness(phasor_grid(probs, a, b, ctx.p, ctx.family["modular"]["operation"]))


def _study(probs: np.ndarray, ctx) -> dict[str, np.ndarray]:
    """The study's definition on the hard and soft class index, with its target, null and floor."""
    i, j = operand_pos(ctx.family)
    a, b, p = ctx.probe[:, i].astype(np.int64), ctx.probe[:, j].astype(np.int64), ctx.p
    hard = class_index_grid(probs.argmax(-1).astype(np.float64), a, b, p)
    soft = class_index_grid(probs @ np.arange(p, dtype=np.float64), a, b, p)
    null_mean, null_sd = study_null(p)
    return {"smoothness_study": np.array(study_smoothness(hard)), "smoothness_study_soft": np.array(study_smoothness(soft)),
            "study_target": np.array(study_smoothness(class_index_grid(np.asarray(ctx.labels, np.float64), a, b, p))),
            "study_null_mean": np.array(null_mean), "study_null_sd": np.array(null_sd),
            "study_dc_floor": np.array(dc_floor(p)), "study_k": np.array(study_k(p))}


STUDY_OUTPUTS = {k: () for k in ("smoothness_study", "smoothness_study_soft", "study_target", "study_null_mean",
                                 "study_null_sd", "study_dc_floor", "study_k")}


@register_analyzer("spectral_smoothness", kind="output", needs=("modular",), version=3,
          outputs={"smoothness": (), "target": (), "chance": (), "power": ("component", "component"), "cutoff": (),
                   "indexing": (), **STUDY_OUTPUTS})
def spectral_smoothness(ctx) -> dict[str, np.ndarray]:
    """Share of the output function's 2-D FFT power at low frequencies, with the exact target's and chance;
    and the study's definition (argmax class index, DC in) with its target, random-label null and DC floor."""
    logits = ctx.logits[:, answer_pos(ctx.family), :].astype(np.float64)  # [batch, p]
    probs = np.exp(logits - logits.max(-1, keepdims=True))
    probs /= probs.sum(-1, keepdims=True)
    score, power = _score(probs, ctx)
    target, _ = _score(np.eye(ctx.p)[ctx.labels], ctx)
    n = len(power)
    by_log = ctx.family["modular"]["operation"] == "multiply"
    return {"smoothness": np.array(score), "target": np.array(target),
            "chance": np.array(low_frequency_mask(n).sum() / (n * n - 1)),
            "power": np.fft.fftshift(power).astype(np.float32),  # [k_a, k_b] signed, zero frequency at the centre
            "cutoff": np.array(smooth_cutoff(n)),  # low bins: 1 <= max(|k_a|, |k_b|) <= cutoff
            "indexing": np.array("log a, log b" if by_log else "a, b"),  # what the grid's axes index
            **_study(probs, ctx)}
