"""One checkpoint's analysis: load it once, run the model once, run each due analyzer, write its artifact.

`CheckpointJob` is one `analyze` run's per-checkpoint work and its tallies: the pipeline
(workbench.analysis.pipeline) runs it over the checkpoints in order, or shares them out to
worker processes (workbench.analysis.parallel), each with its own copy; the artifacts are
the same files either way. An artifact's stamp (`CheckpointJob.want`: the analyzer version,
the checkpoint's identity, the options) is written with it by the store, so an up-to-date
one is skipped (`Store.artifact_current`).
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys

import numpy as np
import torch
from tqdm import tqdm  # the plain bar: tqdm.auto warns in notebooks without ipywidgets

from workbench.analysis.probing import ProbeChoice, probe_data
from workbench.core.analyzer import get_analyzer
from workbench.core.context import EpochContext
from workbench.core.errors import CorruptFile, MissingFile, UserError
from workbench.core.variant import Variant
from workbench.store import RunKey, Store, StoredCheckpoint

__all__ = ["CheckpointJob", "check_outputs", "build_epoch_context", "say"]


def options_stamp(options: dict | None) -> str:
    return json.dumps(options or {}, sort_keys=True, default=str)


def check_outputs(spec, out: dict) -> None:
    """Raise unless `out` is exactly the declared arrays, numpy, with the declared ranks."""
    if set(out) != set(spec.outputs):
        raise ValueError(f"analyzer {spec.name!r} returned {sorted(out)}, declared {sorted(spec.outputs)}")
    for name, dims in spec.outputs.items():
        arr = out[name]
        if not isinstance(arr, np.ndarray):
            raise TypeError(f"analyzer {spec.name!r}: {name!r} is {type(arr).__name__}, not np.ndarray")
        if arr.ndim != len(dims):
            raise ValueError(f"analyzer {spec.name!r}: {name!r} has rank {arr.ndim}, declared {dims}")


def build_epoch_context(variant: Variant, state: dict, epoch: int, hooks: set[str], device: str = "cpu",
                        options: dict | None = None, rows: np.ndarray | None = None) -> EpochContext:
    """Run the model once over the probe (only `rows` of it, if given) and package what analyzers may read."""
    family, params = variant.family, variant.params
    data = probe_data(family.probe(params), rows)
    model = family.tl_model(params, state, device)
    probe = data.inputs.to(device)
    with torch.inference_mode():  # analyzers read numpy copies; no autograd bookkeeping
        if hooks:
            logits, cache = model.run_with_cache(probe, names_filter=lambda n: n in hooks)
            cache_np = {n: cache[n].float().cpu().numpy() for n in hooks}
        else:
            logits, cache_np = model(probe), {}
    mask = data.train_mask.numpy()
    return EpochContext(
        epoch=epoch, model=model, weights={k: v.float().cpu().numpy() for k, v in state.items()},
        cache=cache_np, logits=logits.float().cpu().numpy(), probe=data.inputs.numpy(), labels=data.labels.numpy(),
        train_mask=mask, test_mask=~mask, family=family.analysis_context(params), options=options or {})


def say(message: str) -> None:
    tqdm.write(message, file=sys.stderr)


class CheckpointJob:
    """One `analyze` run's per-checkpoint work and its tallies."""

    def __init__(self, store: Store, key: RunKey, variant: Variant, force: bool, device: str,
                 options: dict | None, quiet: bool, probe: ProbeChoice | None = None):
        self.store, self.key, self.variant = store, key, variant
        self.probe = probe  # None: the canonical probe (`store` then writes analysis/)
        self.force, self.device, self.options = force, device, options or {}
        self.computed = self.skipped = 0
        self.failed: list[str] = []
        self.errors: dict[str, str] = {}  # analyzer -> first error
        self.diverged: int | None = None
        self.refs: dict[str, dict[str, np.ndarray]] = {}  # analyzer -> arrays at the final checkpoint
        self.ref_epochs: dict[str, int] = {}  # analyzer -> the epoch its reference was read at
        self.ref_stamp = ""  # final checkpoint identity the references come from

    def want(self, name: str, ckpt: str) -> dict[str, str]:
        """The metadata an up-to-date artifact of `name` for checkpoint `ckpt` carries."""
        a = get_analyzer(name)
        want = {"version": str(a.version), "checkpoint": ckpt, "options": options_stamp(self.options)}
        if a.reference:
            want["reference"] = self.ref_stamp
        if self.probe is not None:
            want["probe"] = self.probe.stamp
        return want

    def reference_epoch(self, name: str, final: int) -> int:
        """The epoch analyzer `name` is referenced at: its `reference_epoch` option's, else the final one."""
        option = get_analyzer(name).reference_epoch
        return int(self.options.get(option, final)) if option else final

    def prepare_references(self, per_epoch: list[str], final: int) -> None:
        """Compute (if due) and load the artifacts that analyzers reference, at the final checkpoint
        (or the epoch a referenced analyzer's `reference_epoch` option names)."""
        names = sorted({r for n in per_epoch for r in get_analyzer(n).reference})
        by_epoch: dict[int, list[str]] = {}
        for name in names:
            by_epoch.setdefault(self.reference_epoch(name, final), []).append(name)
        stamps = []
        for epoch, group in sorted(by_epoch.items()):
            ckpt = self.checkpoint(epoch, group)
            if ckpt is None:
                say(f"no readable checkpoint at epoch {epoch}: analyzers that reference it are skipped")
                continue
            stamps.append(f"{epoch}:{ckpt}")
            for name in group:
                try:
                    self.refs[name] = self.store.read_artifact(self.key, name, epoch)
                    self.ref_epochs[name] = epoch
                except UserError as err:
                    say(f"reference {name} at epoch {epoch} is unusable ({err})")
        self.ref_stamp = ",".join(stamps)  # one final checkpoint: "<epoch>:<identity>", as before

    def context_for(self, name: str, ctx: EpochContext) -> EpochContext | None:
        """`ctx` with the final-checkpoint references `name` declared; None if one is missing."""
        declared = get_analyzer(name).reference
        if not declared:
            return ctx
        if any(r not in self.refs for r in declared):
            return None

        def reference(ref: str) -> dict[str, np.ndarray]:
            if ref not in declared:
                raise KeyError(f"analyzer {name!r} did not declare reference {ref!r}")
            return self.refs[ref]

        return dataclasses.replace(ctx, reference=reference)

    def _load(self, epoch: int, names: list[str]) -> tuple[StoredCheckpoint | None, list[str], dict | None]:
        """(checkpoint, analyzers due, state) of one checkpoint; (None, [], None) if unusable."""
        try:
            stored = self.store.read_checkpoint(self.key, epoch)  # read once: its identity now, its tensors if due
            todo = [n for n in names if self.force or not self.store.artifact_current(self.key, n, epoch,
                                                                                       self.want(n, stored.identity))]
            self.skipped += len(names) - len(todo)
            state = stored.weights() if todo else None
        except (CorruptFile, MissingFile) as err:  # a truncated or corrupt file: report it, keep going
            self._unreadable(err.path, getattr(err, "problem", str(err)))
            return None, [], None
        if state is not None and not all(bool(torch.isfinite(v).all()) for v in state.values()):
            if self.diverged is None or epoch < self.diverged:
                self.diverged = epoch
                say(f"{self.variant.spec}: the run diverged: weights are not finite at epoch {epoch}; "
                     "such checkpoints are skipped")
            return None, [], None
        return stored, todo, state

    def _unreadable(self, path, why: str) -> None:
        """Name an unusable checkpoint file once (in `failed` and on stderr)."""
        name = os.path.basename(path)
        if name not in self.failed:
            self.failed.append(name)
            say(f"skipping unreadable checkpoint {path}: {' '.join(why.split())[:300]}")

    def checkpoint(self, epoch: int, names: list[str]) -> str | None:
        """Run the due analyzers of `names` on one checkpoint; its identity, or None if unusable."""
        stored, todo, state = self._load(epoch, names)
        if stored is None or not todo:
            return None if stored is None else stored.identity
        caps = self.variant.family.capabilities(self.variant.params).as_dict()
        hooks = {h for n in todo for h in get_analyzer(n).hook_names(caps)}
        try:
            ctx = build_epoch_context(self.variant, state, epoch, hooks, self.device, self.options,
                                      None if self.probe is None else self.probe.rows)
        except (RuntimeError, KeyError, ValueError) as err:  # wrong shapes or names for this family's model
            self._unreadable(stored.path, f"does not fit the model: {err}")
            return None
        for name in todo:
            self._run_one(name, ctx, epoch, stored.identity)
        return stored.identity

    def _run_one(self, name: str, ctx: EpochContext, epoch: int, ckpt: str) -> None:
        a = get_analyzer(name)
        actx = self.context_for(name, ctx)
        if actx is None:
            return
        try:
            out = a.fn(actx)
            check_outputs(a, out)
        except Exception as err:  # one broken analyzer must not stop the others
            if name not in self.errors:
                self.errors[name] = f"{type(err).__name__}: {' '.join(str(err).split())[:300]}"
                say(f"analyzer {name} failed at epoch {epoch}: {self.errors[name]}")
            return
        self.store.write_artifact(self.key, name, epoch, out, self.want(name, ckpt))
        self.computed += 1
