"""The analysis pipeline: every selected analyzer over every checkpoint of a variant.

Per checkpoint: load it once, run one `run_with_cache` over the probe filtered to the
union of the declared hooks, run each analyzer that is not up to date, and write its
artifact atomically with the analyzer version and checkpoint identity in the metadata.
Cross-epoch (summary) analyzers run afterwards over the whole sequence. With `jobs` > 1
the checkpoints are shared out to that many worker processes (workbench._parallel), each
running the same per-checkpoint work; the artifacts are the same files either way.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from threadpoolctl import threadpool_limits
from tqdm import tqdm  # the plain bar: tqdm.auto warns in notebooks without ipywidgets

from workbench.core.analyzer import get_analyzer, list_analyzers, resolve_analyzers, unmet_needs
from workbench.core.context import EpochContext, SummaryContext
from workbench._resume import write_status
from workbench._io import load_npz, load_safetensors, save_npz
from workbench.core.capabilities import reason
from workbench.core.errors import CorruptFile, UserError
from workbench.lock import run_lock
from workbench.core.schedule import parse_schedule
from workbench.store import RunKey, Store
from workbench.core.variant import Variant, parse_variant

__all__ = ["analyze", "run_variant", "check_outputs", "checkpoint_id", "build_epoch_context", "AnalyzeResult"]


@dataclass
class AnalyzeResult:
    computed: int  # artifacts written
    skipped: int  # artifacts already up to date
    failed: list[str]  # checkpoint files that could not be read or do not fit the model
    markers: dict[str, int]  # epoch markers of the run after this analysis (workbench.markers)
    errors: dict[str, str] = field(default_factory=dict)  # analyzer -> its first error
    diverged_epoch: int | None = None  # first checkpoint whose weights are not finite


def run_variant(store: Store, key: RunKey) -> Variant:
    """The Variant recorded in a run's variant.json."""
    from workbench._record import read_record

    spec = read_record(store, key)["variant"]
    try:
        return parse_variant(spec)
    except CorruptFile:
        raise
    except UserError as err:
        raise CorruptFile(store.variant_path(key), f"its variant {spec!r} does not parse ({err})") from None


def checkpoint_id(raw: bytes) -> str:
    """Identity of a checkpoint's contents, stored in each artifact to detect stale ones.

    Hashes the tensor bytes and the header with its keys sorted: safetensors writes the
    metadata in a per-process order, so the same weights saved twice differ as bytes.
    """
    try:
        n = int.from_bytes(raw[:8], "little")
        header = json.dumps(json.loads(raw[8:8 + n]), sort_keys=True).encode()
    except ValueError as err:
        raise ValueError(f"not a safetensors file ({err})") from None
    return hashlib.sha256(header + raw[8 + n:]).hexdigest()[:16]


def _options_stamp(options: dict | None) -> str:
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


def _up_to_date(path: Path, want: dict[str, str]) -> bool:
    """True if the artifact exists, reads, and its metadata matches every entry of `want`."""
    if not path.exists():
        return False
    try:
        _, meta = load_npz(path, with_metadata=True)
    except UserError:  # corrupt: recompute it
        return False
    return all(meta.get(k, "{}" if k == "options" else None) == v for k, v in want.items())


def build_epoch_context(variant: Variant, state: dict, epoch: int, hooks: set[str], device: str = "cpu",
                        options: dict | None = None) -> EpochContext:
    """Run the model once over the probe and package what analyzers may read."""
    family, params = variant.family, variant.params
    data = family.probe(params)
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


def _select(names: str, variant: Variant) -> tuple[list[str], list[str]]:
    """(per-epoch, summary) analyzers to run: those of `names` that apply to the variant's family.

    Under 'all', those whose needs (analyzers.analyzer_needs) the family's capabilities do
    not meet are left out and named on stderr, once per reason; an analyzer named
    explicitly that does not apply is a UserError.
    """
    caps = variant.family.capabilities(variant.params)
    chosen = resolve_analyzers(names)
    skipped = {n: unmet_needs(n, caps) for n in chosen if unmet_needs(n, caps)}
    if skipped and str(names).strip() != "all":
        raise UserError(", ".join(f"{n} ({reason(m)})" for n, m in skipped.items())
                        + f" {'does' if len(skipped) == 1 else 'do'} not apply to {variant.spec}")
    by_reason: dict[str, list[str]] = {}
    for n, missing in skipped.items():
        by_reason.setdefault(reason(missing), []).append(n)
    for why, group in by_reason.items():
        _say(f"skipped ({why}): {', '.join(group)}")
    chosen = [n for n in chosen if n not in skipped]
    summaries = [n for n in chosen if get_analyzer(n).scope == "summary"]
    needed = {r for s in summaries for r in get_analyzer(s).requires}  # final-checkpoint references run apart
    per_epoch = [n for n in list_analyzers(scope="epoch") if n in chosen or n in needed]
    return per_epoch, summaries


def analyze(spec: str, store: Store, *, analyzers: str = "all", epochs: str | None = None, force: bool = False,
            device: str = "cpu", quiet: bool = False, options: dict | None = None,
            jobs: int | None = None) -> AnalyzeResult:
    """Run analyzers over a trained variant's checkpoints; see the module docstring.

    Holds the run's analyze lock (workbench.lock), so a second `analyze` of the same run
    is refused with a line naming the holder; a `train` of the run may go on meanwhile.
    `jobs`: worker processes for the per-checkpoint work (default `_parallel.default_jobs`).
    """
    if jobs is not None and jobs < 1:
        raise UserError(f"--jobs must be positive, got {jobs}")
    key = RunKey(*parse_variant(spec).key)
    if not store.exists(key):
        raise UserError(f"no trained run for {spec!r} in {store.root}; run `workbench train {spec}` first")
    variant = run_variant(store, key)  # a corrupt record is the one line, before any notice
    per_epoch, summaries = _select(analyzers, variant)
    available = store.checkpoint_epochs(key)
    wanted = available if epochs is None else sorted(set(available) & set(parse_schedule(epochs)))
    if not wanted:
        raise UserError(f"no checkpoints match --epochs {epochs!r}; available: {available[:5]}...{available[-1:]}")
    store.ensure_writable()
    with run_lock(store, key, "analyze"):
        for path in store.stale_temp_files(key):  # litter of a killed writer (only dead writers' files)
            path.unlink(missing_ok=True)
        job = _Job(store, key, variant, force, device, options, quiet)
        # numpy's BLAS pool and torch's intra-op pool otherwise oversubscribe small machines:
        # one SVD call was seen to swing from 0.02 s to 9 s
        with threadpool_limits(limits=1, user_api="blas"):
            job.prepare_references(per_epoch, available[-1])
            _checkpoints(job, wanted, per_epoch, jobs, quiet)
        refresh = force or job.computed > 0  # new per-epoch artifacts make every summary stale
        for name in summaries:
            job.computed += _run_summary(store, key, variant, name, refresh, job.errors)
        write_status(store, key, len(wanted), len(wanted), "done", job="analyze")
    from workbench.index import refresh
    from workbench.markers import marker_label, read_markers

    refresh(store, [key])  # the run index (derived from the files) answers `list --where` with the new markers

    markers = read_markers(store, key)
    if markers and not quiet:
        print(f"{variant.spec}: " + ", ".join(f"{marker_label(m)} at epoch {e}" for m, e in markers.items()))
    return AnalyzeResult(job.computed, job.skipped, job.failed, markers, job.errors, job.diverged)


def _checkpoints(job: "_Job", wanted: list[int], names: list[str], jobs: int | None, quiet: bool) -> None:
    """The per-checkpoint work over `wanted`, here or in worker processes, with a progress bar and status."""
    from workbench._parallel import default_jobs, run_parallel

    jobs = default_jobs(len(wanted)) if jobs is None else min(jobs, len(wanted))
    bar = tqdm(total=len(wanted), disable=quiet, unit="ckpt", desc=f"analyze {job.variant.spec}", dynamic_ncols=True)
    done = 0

    def tick() -> None:
        nonlocal done
        done += 1
        bar.update(1)
        write_status(job.store, job.key, done, len(wanted), "running", job="analyze")

    if jobs > 1 and any(names):
        run_parallel(job, wanted, names, jobs, tick)
    else:
        for epoch in wanted:
            job.checkpoint(epoch, names)
            tick()
    bar.close()


def _say(message: str) -> None:
    tqdm.write(message, file=sys.stderr)


class _Job:
    """One `analyze` run's per-checkpoint work and its tallies."""

    def __init__(self, store: Store, key: RunKey, variant: Variant, force: bool, device: str,
                 options: dict | None, quiet: bool):
        self.store, self.key, self.variant = store, key, variant
        self.force, self.device, self.options = force, device, options or {}
        self.computed = self.skipped = 0
        self.failed: list[str] = []
        self.errors: dict[str, str] = {}  # analyzer -> first error
        self.diverged: int | None = None
        self.refs: dict[str, dict[str, np.ndarray]] = {}  # analyzer -> arrays at the final checkpoint
        self.ref_stamp = ""  # final checkpoint identity the references come from

    def want(self, name: str, ckpt: str) -> dict[str, str]:
        """The metadata an up-to-date artifact of `name` for checkpoint `ckpt` carries."""
        a = get_analyzer(name)
        want = {"version": str(a.version), "checkpoint": ckpt, "options": _options_stamp(self.options)}
        if a.reference:
            want["reference"] = self.ref_stamp
        return want

    def prepare_references(self, per_epoch: list[str], final: int) -> None:
        """Compute (if due) and load the final-checkpoint artifacts that analyzers reference."""
        names = sorted({r for n in per_epoch for r in get_analyzer(n).reference})
        if not names:
            return
        ckpt = self.checkpoint(final, names)
        if ckpt is None:
            _say(f"no readable final checkpoint (epoch {final}): analyzers that reference it are skipped")
            return
        self.ref_stamp = f"{final}:{ckpt}"
        for name in names:
            try:
                self.refs[name] = load_npz(self.store.artifact_path(self.key, name, final))
            except UserError as err:
                _say(f"reference {name} at epoch {final} is unusable ({err})")

    def _context_for(self, name: str, ctx: EpochContext) -> EpochContext | None:
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

    def _load(self, epoch: int, names: list[str]) -> tuple[str | None, list[str], dict | None]:
        """(checkpoint id, analyzers due, state) of one checkpoint; (None, [], None) if unusable."""
        path = self.store.checkpoint_path(self.key, epoch)
        try:
            raw = path.read_bytes()  # read once: hashed for staleness, parsed if any work is due
            ckpt = checkpoint_id(raw)
            todo = [n for n in names if self.force or not _up_to_date(self.store.artifact_path(self.key, n, epoch),
                                                                      self.want(n, ckpt))]
            self.skipped += len(names) - len(todo)
            state = load_safetensors(raw) if todo else None
        except Exception as err:  # a truncated or corrupt file: report it, keep going
            self._unreadable(path, f"{type(err).__name__}: {err}")
            return None, [], None
        if state is not None and not all(bool(torch.isfinite(v).all()) for v in state.values()):
            if self.diverged is None or epoch < self.diverged:
                self.diverged = epoch
                _say(f"{self.variant.spec}: the run diverged: weights are not finite at epoch {epoch}; "
                     "such checkpoints are skipped")
            return None, [], None
        return ckpt, todo, state

    def _unreadable(self, path: Path, why: str) -> None:
        if path.name not in self.failed:
            self.failed.append(path.name)
            _say(f"skipping unreadable checkpoint {path}: {' '.join(why.split())[:300]}")

    def checkpoint(self, epoch: int, names: list[str]) -> str | None:
        """Run the due analyzers of `names` on one checkpoint; its identity, or None if unusable."""
        ckpt, todo, state = self._load(epoch, names)
        if ckpt is None or not todo:
            return ckpt
        caps = self.variant.family.capabilities(self.variant.params).as_dict()
        hooks = {h for n in todo for h in get_analyzer(n).hook_names(caps)}
        try:
            ctx = build_epoch_context(self.variant, state, epoch, hooks, self.device, self.options)
        except (RuntimeError, KeyError, ValueError) as err:  # wrong shapes or names for this family's model
            self._unreadable(self.store.checkpoint_path(self.key, epoch), f"does not fit the model: {err}")
            return None
        for name in todo:
            self._run_one(name, ctx, epoch, ckpt)
        return ckpt

    def _run_one(self, name: str, ctx: EpochContext, epoch: int, ckpt: str) -> None:
        a = get_analyzer(name)
        actx = self._context_for(name, ctx)
        if actx is None:
            return
        try:
            out = a.fn(actx)
            check_outputs(a, out)
        except Exception as err:  # one broken analyzer must not stop the others
            if name not in self.errors:
                self.errors[name] = f"{type(err).__name__}: {' '.join(str(err).split())[:300]}"
                _say(f"analyzer {name} failed at epoch {epoch}: {self.errors[name]}")
            return
        save_npz(out, self.store.artifact_path(self.key, name, epoch),
                 {"analyzer": name, "epoch": str(epoch), **self.want(name, ckpt)})
        self.computed += 1


def _run_summary(store: Store, key: RunKey, variant: Variant, name: str, force: bool,
                 errors: dict[str, str]) -> int:
    """Run one summary analyzer if stale; its inputs' problems are reported, not raised."""
    try:
        return _summary(store, key, variant, name, force)
    except UserError as err:  # a corrupt metrics file or artifact: name it, go on with the rest
        errors[name] = str(err)
        _say(f"{name}: skipped: {err}")
    except Exception as err:
        errors[name] = f"{type(err).__name__}: {err}"
        _say(f"analyzer {name} failed: {errors[name]}")
    return 0


def _summary(store: Store, key: RunKey, variant: Variant, name: str, force: bool) -> int:
    a = get_analyzer(name)
    epochs = np.array(store.checkpoint_epochs(key))
    for req in a.requires:
        have = store.artifact_epochs(key, req)
        if not set(epochs) <= set(have):
            missing = sorted(set(epochs) - set(have))
            _say(f"{name}: needs {req} at every checkpoint (missing epochs {missing[:5]}); skipped")
            return 0
    stamp = f"{a.version}:" + ",".join(map(str, epochs))
    path = store.summary_path(key, name)
    if not force and _up_to_date(path, {"stamp": stamp}):
        return 0

    def artifacts(req: str) -> dict[str, np.ndarray]:
        per = [load_npz(store.artifact_path(key, req, int(e))) for e in epochs]
        return {k: np.stack([d[k] for d in per]) for k in per[0]}

    ctx = SummaryContext(epochs=epochs, metrics=load_npz(store.metrics_path(key)), artifacts=artifacts,
                         family=variant.family.analysis_context(variant.params))
    out = a.fn(ctx)
    check_outputs(a, out)
    save_npz(out, path, {"analyzer": name, "version": str(a.version), "stamp": stamp})
    return 1
