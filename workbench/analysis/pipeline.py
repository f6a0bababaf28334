"""The analysis pipeline: every selected analyzer over every checkpoint of a variant.

Per checkpoint (workbench.analysis.checkpoint): load it once, run one `run_with_cache`
over the probe filtered to the union of the declared hooks, run each analyzer that is not
up to date, and write its artifact atomically with the analyzer version and checkpoint
identity in the metadata. Cross-epoch (summary) analyzers run afterwards over the whole
sequence. An analyzer that declares a null gets it once per run (workbench.analysis.nulls), after
its checkpoints. With `jobs` > 1 the checkpoints are shared out to that many worker processes
(workbench.analysis.parallel), each running the same per-checkpoint work; the artifacts
are the same files either way.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from threadpoolctl import threadpool_limits
from tqdm import tqdm  # the plain bar: tqdm.auto warns in notebooks without ipywidgets

from workbench.analysis.checkpoint import CheckpointJob, check_outputs, say
from workbench.analysis.nulls import run_nulls
from workbench.analysis.parallel import default_jobs, run_parallel
from workbench.analysis.probing import on_probe, resolve_probe
from workbench.core.analyzer import get_analyzer, list_analyzers, resolve_analyzers, unmet_needs
from workbench.core.capabilities import reason
from workbench.core.compute import check_device, decide_threads, set_threads
from workbench.core.context import SummaryContext
from workbench.core.errors import UserError
from workbench.core.schedule import parse_schedule
from workbench.core.stop import check as check_stop
from workbench.core.variant import Variant, parse_variant, short_label
from workbench.store import RunKey, Store, index
from workbench.store.lock import run_lock
from workbench.store.markers import marker_label, read_markers

__all__ = ["analyze", "AnalyzeResult"]


@dataclass
class AnalyzeResult:
    computed: int  # artifacts written
    skipped: int  # artifacts already up to date
    failed: list[str]  # checkpoint files that could not be read or do not fit the model
    markers: dict[str, int]  # epoch markers of the run after this analysis (workbench.store.markers)
    errors: dict[str, str] = field(default_factory=dict)  # analyzer -> its first error
    diverged_epoch: int | None = None  # first checkpoint whose weights are not finite


def _select(names: str, variant: Variant) -> tuple[list[str], list[str]]:
    """(per-epoch, summary) analyzers to run: those of `names` that apply to the variant's family.

    Under 'all', those whose needs (analyzers.analyzer_needs) the family's capabilities do
    not meet are left out and named on stderr, once per reason; an analyzer named
    explicitly that does not apply is a UserError.
    """
    caps = variant.family.capabilities(variant.params)
    chosen = resolve_analyzers(names)
    grouped = [n for n in chosen if get_analyzer(n).scope == "group"]  # they read several runs at once
    if grouped and str(names).strip() != "all":
        raise UserError(f"{', '.join(grouped)} read several runs: run them over a group (workbench.analysis.group.analyze_group)")
    chosen = [n for n in chosen if n not in grouped]
    only_refs = [n for n in chosen if get_analyzer(n).reference_only]  # run where referenced, not per checkpoint
    if only_refs and str(names).strip() != "all":
        raise UserError(f"{', '.join(only_refs)} {'is' if len(only_refs) == 1 else 'are'} computed only as the reference "
                        "of another analyzer; run that one")
    skipped = {n: unmet_needs(n, caps) for n in chosen if unmet_needs(n, caps)}
    if skipped and str(names).strip() != "all":
        raise UserError(", ".join(f"{n} ({reason(m)})" for n, m in skipped.items())
                        + f" {'does' if len(skipped) == 1 else 'do'} not apply to {variant.spec}")
    by_reason: dict[str, list[str]] = {}
    for n, missing in skipped.items():
        by_reason.setdefault(reason(missing), []).append(n)
    for why, group in by_reason.items():
        say(f"skipped ({why}): {', '.join(group)}")
    chosen = [n for n in chosen if n not in skipped and n not in only_refs]
    summaries = [n for n in chosen if get_analyzer(n).scope == "summary"]
    needed = {r for s in summaries for r in get_analyzer(s).requires}  # final-checkpoint references run apart
    per_epoch = [n for n in list_analyzers(scope="epoch") if n in chosen or n in needed]
    return per_epoch, summaries


def analyze(spec: str, store: Store, *, analyzers: str = "all", epochs: str | None = None, force: bool = False,
            device: str = "cpu", quiet: bool = False, options: dict | None = None,
            jobs: int | None = None, probe: str | None = None) -> AnalyzeResult:
    """Run analyzers over a trained variant's checkpoints; see the module docstring.

    Holds the run's analyze lock (workbench.store.lock), so a second `analyze` of the same run
    is refused with a line naming the holder; a `train` of the run may go on meanwhile.
    `jobs`: worker processes for the per-checkpoint work (default `_parallel.default_jobs`).
    `probe`: a named probe (workbench.analysis.probing): the row-wise analyzers run on its rows
    and write under its name; None (or "canonical"): the family's own probe.
    """
    if jobs is not None and jobs < 1:
        raise UserError(f"--jobs must be positive, got {jobs}")
    check_device(device)
    key = RunKey(*parse_variant(spec).key)
    if not store.exists(key):
        raise UserError(f"no trained run for {spec!r} in {store.root}; run `workbench train {spec}` first")
    variant = store.read_variant(key)  # a corrupt record is the one line, before any notice
    per_epoch, summaries = _select(analyzers, variant)
    choice = resolve_probe(store, probe, variant)
    per_epoch, summaries, left_out = on_probe(per_epoch, summaries, choice, explicit=str(analyzers).strip() != "all")
    if left_out:
        say(f"skipped (they read the whole canonical probe, not probe {probe!r}'s rows): {', '.join(left_out)}")
    available = store.checkpoint_epochs(key)
    _check_options(variant, per_epoch, options or {}, available)
    wanted = available if epochs is None else sorted(set(available) & set(parse_schedule(epochs)))
    if not wanted:
        raise UserError(f"no checkpoints match --epochs {epochs!r}; available: {available[:5]}...{available[-1:]}")
    store.ensure_writable()
    with run_lock(store, key, "analyze"):
        store.remove_stale_temp_files(key)  # litter of a killed writer (only dead writers' files)
        job = CheckpointJob(store if choice is None else store.with_probe(choice.probe.name), key, variant, force,
                            device, options, quiet, probe=choice)
        # numpy's BLAS pool and torch's intra-op pool otherwise oversubscribe small machines:
        # one SVD call was seen to swing from 0.02 s to 9 s
        with threadpool_limits(limits=1, user_api="blas"):
            _references(job, CheckpointJob(store, key, variant, force, device, options, quiet), per_epoch,
                        available[-1])
            _checkpoints(job, wanted, per_epoch, jobs, quiet)
            if choice is None:  # a null is the canonical probe's (a named one runs only row-wise analyzers)
                run_nulls(job, per_epoch, available[-1])  # once per run, from the final checkpoint (or epoch 0)
        refresh = force or job.computed > 0  # new per-epoch artifacts make every summary stale
        for name in summaries:
            job.computed += _run_summary(job.store, key, variant, name, refresh, job.errors)
        store.write_status(key, len(wanted), len(wanted), "done", job="analyze")
    index.refresh(store, [key])  # the run index (derived from the files) answers `list --where` with the new markers

    markers = read_markers(store, key)
    if markers and not quiet:
        print(f"{variant.spec}: " + ", ".join(f"{marker_label(m)} at epoch {e}" for m, e in markers.items()))
    return AnalyzeResult(job.computed, job.skipped, job.failed, markers, job.errors, job.diverged)


def _references(job: CheckpointJob, canonical: CheckpointJob, per_epoch: list[str], final: int) -> None:
    """The final-checkpoint references `per_epoch` reads, always from the canonical probe."""
    if job.probe is None:
        job.prepare_references(per_epoch, final)
        return
    canonical.prepare_references(per_epoch, final)
    job.refs, job.ref_epochs, job.ref_stamp = canonical.refs, canonical.ref_epochs, canonical.ref_stamp
    job.computed += canonical.computed


def _check_options(variant: Variant, per_epoch: list[str], options: dict, available: list[int]) -> None:
    """UserError (before anything is written) for options an analyzer to run cannot take, or a
    reference epoch that is not a checkpoint of the run."""
    caps = variant.family.capabilities(variant.params).as_dict()
    shapes = None
    for name in per_epoch:
        spec = get_analyzer(name)
        if spec.check is not None:
            shapes = shapes or {k: tuple(v.shape) for k, v in variant.family.init_state(variant.params).items()}
            try:
                spec.check(options, caps, shapes)
            except ValueError as err:
                raise UserError(f"{name}: {err}") from None
        for ref in spec.reference:
            option = get_analyzer(ref).reference_epoch
            if option and option in options and str(options[option]) not in {str(e) for e in available}:
                raise UserError(f"{name}: {option}={options[option]} is not a checkpoint of {variant.spec} "
                                f"(checkpoints {available[0]}..{available[-1]}, e.g. {available[len(available) // 2]})")


def _checkpoints(job: CheckpointJob, wanted: list[int], names: list[str], jobs: int | None, quiet: bool) -> None:
    """The per-checkpoint work over `wanted`, here or in worker processes, with a progress bar and status."""
    jobs = default_jobs(len(wanted)) if jobs is None else min(jobs, len(wanted))
    bar = tqdm(total=len(wanted), disable=quiet, unit="ckpt", desc=f"analyze {short_label(job.variant.family.name, job.variant.dir_name)}", dynamic_ncols=True)
    done = 0

    def tick() -> None:
        nonlocal done
        done += 1
        bar.update(1)
        job.store.write_status(job.key, done, len(wanted), "running", job="analyze")

    # threads: the user's, --threads or the cores, shared among the workers; not the run's record: each
    # artifact is computed afresh from one checkpoint, so no rounding is carried from one to the next
    if jobs > 1 and any(names):
        run_parallel(job, wanted, names, jobs, tick, threads=max(1, decide_threads().count // jobs))
    else:
        set_threads(decide_threads())
        for epoch in wanted:
            check_stop()
            job.checkpoint(epoch, names)
            tick()
    bar.close()


def _run_summary(store: Store, key: RunKey, variant: Variant, name: str, force: bool,
                 errors: dict[str, str]) -> int:
    """Run one summary analyzer if stale; its inputs' problems are reported, not raised."""
    try:
        return _summary(store, key, variant, name, force)
    except UserError as err:  # a corrupt metrics file or artifact: name it, go on with the rest
        errors[name] = str(err)
        say(f"{name}: skipped: {err}")
    except Exception as err:
        errors[name] = f"{type(err).__name__}: {err}"
        say(f"analyzer {name} failed: {errors[name]}")
    return 0


def _summary(store: Store, key: RunKey, variant: Variant, name: str, force: bool) -> int:
    a = get_analyzer(name)
    epochs = np.array(store.checkpoint_epochs(key))
    for req in a.requires:
        have = store.artifact_epochs(key, req)
        if not set(epochs) <= set(have):
            missing = sorted(set(epochs) - set(have))
            say(f"{name}: needs {req} at every checkpoint (missing epochs {missing[:5]}); skipped")
            return 0
    stamp = f"{a.version}:" + ",".join(map(str, epochs))
    if not force and store.summary_current(key, name, {"stamp": stamp}):
        return 0

    def artifacts(req: str) -> dict[str, np.ndarray]:
        per = [store.read_artifact(key, req, int(e)) for e in epochs]
        return {k: np.stack([d[k] for d in per]) for k in per[0]}

    ctx = SummaryContext(epochs=epochs, metrics=store.read_metrics(key), artifacts=artifacts,
                         family=variant.family.analysis_context(variant.params), recipe=variant.recipe,
                         steps_per_epoch=variant.steps_per_epoch)
    out = a.fn(ctx)
    check_outputs(a, out)
    store.write_summary(key, name, out, {"version": str(a.version), "stamp": stamp})
    return 1
