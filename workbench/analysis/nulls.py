"""Chance levels: an analyzer's declared null, computed once per run over seeded draws.

An analyzer that declares `null=` (workbench.core.analyzer.NULLS) is run again on null
inputs, and its `null_outputs` are stacked over the draws into its null artifact
(`Store.write_null`), with the null's kind in `null_kind` and the checkpoint it was drawn
from in `null_epoch` (-1 for random networks, which belong to no epoch):

- "permutation": the final checkpoint's context with its inputs shuffled, one seeded
  permutation per draw: the probe rows of every cached activation and of the logits (the
  probe, labels and splits stay, so each input meets another input's activations), or, for
  a weights analyzer, the entries of each weight matrix;
- "init": the run's epoch-0 checkpoint (one draw);
- "random": freshly initialized networks of the run's shape, the family's `init_state`
  with the model `seed` param set to each draw's seed (families without a `seed` param have
  no random null).

A permutation null is a chance level for the final checkpoint's measure: shuffled logits of
a trained model are confidently wrong, so their restricted loss is far above that of the
untrained model. Views therefore draw it at `null_epoch`, not across training.

The artifact is stamped with the analyzer version, the null, the checkpoint it was drawn
from and the options, so it is recomputed only when one of them changes.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from workbench.analysis.checkpoint import CheckpointJob, build_epoch_context, options_stamp, say
from workbench.core.analyzer import AnalyzerSpec, get_analyzer
from workbench.core.context import EpochContext
from workbench.core.errors import UserError

__all__ = ["run_nulls", "permute_context", "NULL_DRAWS", "RANDOM_SEED0"]

NULL_DRAWS = 16  # draws of a permutation or random null: percentiles in steps of 100/16
RANDOM_SEED0 = 1 << 20  # random-null draw d initializes with seed RANDOM_SEED0 + d, away from usual run seeds
_PERMUTATION_SEED = 0x6E756C6C  # with the draw index, seeds draw d's shuffle
_FORMAT = "2"  # of the null artifact: 2 adds null_epoch (a null without it is redrawn)


def permute_context(ctx: EpochContext, rng: np.random.Generator, kind: str) -> EpochContext:
    """`ctx` with its inputs shuffled by `rng`: each weight matrix's entries for a weights
    analyzer (`kind` "weights"), else the probe rows of every activation and of the logits."""
    if kind == "weights":
        weights = {n: rng.permutation(w.reshape(-1)).reshape(w.shape) for n, w in ctx.weights.items()}
        return dataclasses.replace(ctx, weights=weights)
    order = rng.permutation(len(ctx.logits))  # [batch]
    cache = {n: a[order] for n, a in ctx.cache.items()}
    return dataclasses.replace(ctx, cache=cache, logits=ctx.logits[order])


def run_nulls(job: CheckpointJob, names: list[str], final: int) -> None:
    """Compute (if stale) the null of each analyzer of `names` that declares one; problems are named, not raised."""
    for name in names:
        spec = get_analyzer(name)
        if spec.null is None:
            continue
        try:
            _one(job, spec, final)
        except UserError as err:
            say(f"{name}: no {spec.null} null: {err}")
        except Exception as err:  # one broken null must not stop the analysis
            job.errors.setdefault(name, f"{spec.null} null: {type(err).__name__}: {err}")
            say(f"{name}: {spec.null} null failed: {type(err).__name__}: {err}")


def _one(job: CheckpointJob, spec: AnalyzerSpec, final: int) -> None:
    source = 0 if spec.null == "init" else final
    if source not in job.store.checkpoint_epochs(job.key):
        raise UserError(f"no checkpoint at epoch {source}")
    stored = job.store.read_checkpoint(job.key, source)
    stamp = {"version": str(spec.version), "null": spec.null, "draws": str(_draws(spec)), "format": _FORMAT,
             "checkpoint": stored.identity, "options": options_stamp(job.options),
             "reference": job.ref_stamp if spec.reference else ""}
    if not job.force and job.store.null_current(job.key, spec.name, stamp):
        return
    per_draw = [_measure(job, spec, ctx) for ctx in _contexts(job, spec, stored.weights(), source)]
    arrays = {o: np.stack([d[o] for d in per_draw]).astype(np.float32) for o in spec.null_outputs}
    at = -1 if spec.null == "random" else source  # a random network belongs to no epoch of the run
    job.store.write_null(job.key, spec.name, arrays | {"null_kind": np.array(spec.null), "null_epoch": np.array(at)},
                         stamp)
    job.computed += 1


def _draws(spec: AnalyzerSpec) -> int:
    return 1 if spec.null == "init" else NULL_DRAWS


def _contexts(job: CheckpointJob, spec: AnalyzerSpec, state: dict, epoch: int):
    """The null's contexts, one per draw (built lazily: a random network each)."""
    variant = job.variant
    hooks = set(spec.hook_names(variant.family.capabilities(variant.params).as_dict()))

    def build(weights: dict, at: int) -> EpochContext:
        return build_epoch_context(variant, weights, at, hooks, job.device, job.options)

    if spec.null == "init":
        yield build(state, epoch)
    elif spec.null == "permutation":
        base = build(state, epoch)
        for d in range(NULL_DRAWS):
            yield permute_context(base, np.random.default_rng([_PERMUTATION_SEED, d]), spec.kind)
    else:
        if "seed" not in type(variant.params).model_fields:
            raise UserError(f"{variant.family.name} has no `seed` param to draw random networks from")
        for d in range(NULL_DRAWS):
            params = variant.params.model_copy(update={"seed": RANDOM_SEED0 + d})
            yield build(variant.family.init_state(params), epoch)


def _measure(job: CheckpointJob, spec: AnalyzerSpec, ctx: EpochContext) -> dict[str, np.ndarray]:
    actx = job.context_for(spec.name, ctx)
    if actx is None:
        raise UserError(f"its final-checkpoint reference ({', '.join(spec.reference)}) is missing")
    out = spec.fn(actx)
    return {o: np.asarray(out[o], dtype=np.float64) for o in spec.null_outputs}
