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

An analyzer may declare several nulls (`AnalyzerSpec.nulls`): all are drawn together into the
one artifact, the first under its outputs' names as above, each further one under
"<kind>.<output>", "<kind>.null_kind" and "<kind>.null_epoch" (workbench.core.nulls.null_field).

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
from workbench.core.nulls import null_field

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
    """Compute (if stale) the nulls of each analyzer of `names` that declares any; problems are named, not raised."""
    for name in names:
        spec = get_analyzer(name)
        if not spec.nulls:
            continue
        what = "+".join(spec.nulls)
        try:
            _one(job, spec, final)
        except UserError as err:
            say(f"{name}: no {what} null: {err}")
        except Exception as err:  # one broken null must not stop the analysis
            job.errors.setdefault(name, f"{what} null: {type(err).__name__}: {err}")
            say(f"{name}: {what} null failed: {type(err).__name__}: {err}")


def _one(job: CheckpointJob, spec: AnalyzerSpec, final: int) -> None:
    sources = {kind: 0 if kind == "init" else final for kind in spec.nulls}
    for source in dict.fromkeys(sources.values()):
        if source not in job.store.checkpoint_epochs(job.key):
            raise UserError(f"no checkpoint at epoch {source}")
    stored = {source: job.store.read_checkpoint(job.key, source) for source in dict.fromkeys(sources.values())}
    # one kind stamps as before this artifact held several, so a stored single null stays current
    stamp = {"version": str(spec.version), "null": "+".join(spec.nulls),
             "draws": "+".join(str(_draws(kind)) for kind in spec.nulls), "format": _FORMAT,
             "checkpoint": "+".join(stored[sources[kind]].identity for kind in spec.nulls),
             "options": options_stamp(job.options), "reference": job.ref_stamp if spec.reference else ""}
    if not job.force and job.store.null_current(job.key, spec.name, stamp):
        return
    arrays: dict[str, np.ndarray] = {}
    for i, kind in enumerate(spec.nulls):
        source = sources[kind]
        try:
            per_draw = [_measure(job, spec, ctx) for ctx in _contexts(job, spec, kind, stored[source].weights(), source)]
        except UserError as err:
            if not i:
                raise
            say(f"{spec.name}: no {kind} null: {err}")  # a further null the family cannot draw: the first stands
            continue
        at = -1 if kind == "random" else source  # a random network belongs to no epoch of the run
        own = kind if i else None
        arrays |= {null_field(o, own): np.stack([d[o] for d in per_draw]).astype(np.float32) for o in spec.null_outputs}
        arrays |= {null_field("null_kind", own): np.array(kind), null_field("null_epoch", own): np.array(at)}
    job.store.write_null(job.key, spec.name, arrays, stamp)
    job.computed += 1


def _draws(kind: str) -> int:
    return 1 if kind == "init" else NULL_DRAWS


def _contexts(job: CheckpointJob, spec: AnalyzerSpec, kind: str, state: dict, epoch: int):
    """The contexts of `spec`'s null of `kind`, one per draw (built lazily: a random network each)."""
    variant = job.variant
    hooks = set(spec.hook_names(variant.family.capabilities(variant.params).as_dict()))

    def build(weights: dict, at: int) -> EpochContext:
        return build_epoch_context(variant, weights, at, hooks, job.device, job.options)

    if kind == "init":
        yield build(state, epoch)
    elif kind == "permutation":
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
