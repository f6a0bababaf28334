"""The checks every analyzer passes (workbench.testing.check_analyzer), on the tiny run of each
family it applies to: exactly its declared arrays (numpy, declared ranks, no object arrays),
read from only the hooks and references it declares, deterministic, and what the pipeline wrote."""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import functools
import io
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from workbench.analysis.checkpoint import build_epoch_context, check_outputs
from workbench.analysis.group import analyze_group
from workbench.analysis.pipeline import AnalyzeResult, analyze
from workbench.core.analyzer import AnalyzerSpec, get_analyzer, list_analyzers
from workbench.core.context import EpochContext, SummaryContext
from workbench.core.family import Family, get_family, list_families
from workbench.core.nulls import null_field
from workbench.core.variant import Variant
from workbench.store import ArraysRef, RunKey, Store
from workbench.testing._families import as_family, tiny_variant
from workbench.training.trainer import plan_training, train

__all__ = ["analyzer_checks", "check_analyzer", "check_group_analyzer", "as_analyzer", "tiny_run", "TinyRun"]

Check = Callable[[Any], None]


@dataclass
class TinyRun:
    """A family's `tiny` variant, trained and analyzed with --analyzers all."""

    store: Store
    key: RunKey
    variant: Variant
    caps: dict  # the family's capabilities as a dict
    result: AnalyzeResult  # of the first `analyze --analyzers all`
    stderr: str  # what that analysis printed on stderr


_RUNS: dict[str, TinyRun] = {}  # family name -> its tiny run, once per process
_SCRATCH: list[tempfile.TemporaryDirectory] = []  # where they live (removed at exit)


def tiny_run(plugin: Family | type[Family] | str) -> TinyRun:
    """The family's tiny variant trained and analyzed in a temporary store, once per process."""
    family = as_family(plugin)
    if family.name not in _RUNS:
        variant, tiny = tiny_variant(family), family.tiny
        if not _SCRATCH:
            _SCRATCH.append(tempfile.TemporaryDirectory(prefix="workbench-tiny-"))
        store, err = Store(Path(_SCRATCH[0].name, family.name)), io.StringIO()
        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # tiny models: a second thread only waits on the other (10x slower when busy)
        try:
            train(plan_training(variant, store, epochs=tiny["epochs"], schedule=tiny["schedule"]), store, quiet=True)
            with contextlib.redirect_stderr(err):
                result = analyze(variant.spec, store, analyzers="all", quiet=True)
        finally:
            torch.set_num_threads(threads)
        _RUNS[family.name] = TinyRun(store, RunKey(*variant.key), variant,
                                     family.capabilities(variant.params).as_dict(), result, err.getvalue())
    return _RUNS[family.name]


def as_analyzer(plugin: AnalyzerSpec | str) -> AnalyzerSpec:
    return plugin if isinstance(plugin, AnalyzerSpec) else get_analyzer(plugin)


def _applies_to(spec: AnalyzerSpec) -> list[str]:
    """The registered families with a tiny variant whose capabilities `spec` needs no more than."""
    out = []
    for name in list_families():
        family = get_family(name)
        if family.tiny and spec.name in list_analyzers(caps=family.capabilities(tiny_variant(family).params)):
            out.append(name)
    return out


def _plain(name: str, out: dict) -> None:
    for key, arr in out.items():
        assert isinstance(arr, np.ndarray), f"{name}.{key} is {type(arr).__name__}"
        assert arr.dtype != object, f"{name}.{key} is an object array (needs pickle to load)"


def _identical(name: str, first: dict, second: dict) -> None:
    assert set(first) == set(second), f"{name} returned different arrays"
    for key in first:
        assert first[key].dtype == second[key].dtype, f"{name}.{key} dtype changed between runs"
        np.testing.assert_array_equal(first[key], second[key], err_msg=f"{name}.{key} differs")


def _only_declared(ctx, spec: AnalyzerSpec, caps: dict, refs: dict):
    """A private copy of `ctx` holding only the hooks and references `spec` declares."""
    declared = set(spec.hook_names(caps))
    assert declared <= set(ctx.cache), f"{spec.name} declares hooks the model lacks: {declared - set(ctx.cache)}"

    def reference(ref):
        if ref not in spec.reference:
            raise KeyError(f"undeclared reference {ref!r}")
        return refs[ref]

    return dataclasses.replace(ctx, weights={k: np.array(v) for k, v in ctx.weights.items()},
                               cache={h: np.array(ctx.cache[h]) for h in declared}, logits=ctx.logits.copy(),
                               probe=ctx.probe.copy(), labels=ctx.labels.copy(), train_mask=ctx.train_mask.copy(),
                               test_mask=ctx.test_mask.copy(), family=copy.deepcopy(ctx.family), options={},
                               reference=reference)


_FINAL: dict[str, tuple[int, EpochContext]] = {}  # family -> (final epoch, its context with every applicable hook)


def _final_context(family: str) -> tuple[int, EpochContext]:
    """The tiny run's final checkpoint as the pipeline sees it: one forward, every applicable analyzer's hooks."""
    if family not in _FINAL:
        run = tiny_run(family)
        epoch = run.store.checkpoint_epochs(run.key)[-1]
        state = run.store.load_checkpoint(run.key, epoch)
        hooks = {h for n in list_analyzers(scope="epoch", caps=run.caps) for h in get_analyzer(n).hook_names(run.caps)}
        _FINAL[family] = epoch, build_epoch_context(run.variant, state, epoch, hooks)
    return _FINAL[family]


def check_epoch_analyzer(spec: AnalyzerSpec, family: str) -> None:
    """On the family's tiny run's final checkpoint, given only its declared hooks and references (two
    separate copies, so one that mutates its context cannot pass): exactly the declared arrays, numpy,
    no object arrays, deterministic, and what the pipeline (whose shared context holds every hook) wrote."""
    run = tiny_run(family)
    epoch, ctx = _final_context(family)
    refs = {r: run.store.read_artifact(run.key, r, epoch) for r in spec.reference}
    with threadpool_limits(limits=1, user_api="blas"):  # as the pipeline runs them: BLAS's thread count
        first = spec.fn(_only_declared(ctx, spec, run.caps, refs))  # changes float32 GEMM sums
        again = spec.fn(_only_declared(ctx, spec, run.caps, refs))
    check_outputs(spec, first)
    _plain(spec.name, first)
    _identical(spec.name, first, again)
    _identical(spec.name, first, run.store.read_artifact(run.key, spec.name, epoch))
    if spec.null is not None:
        _check_null(spec, run, first)


def _check_null(spec: AnalyzerSpec, run: TinyRun, final: dict) -> None:
    """The pipeline wrote the declared null: each null output over draws, shaped as the output, and its kind."""
    assert run.store.has_arrays(run.key, ArraysRef(spec.name, null=True)), \
        f"{spec.name} declares a {spec.null} null but the pipeline wrote none: {run.stderr.strip()[-300:]}"
    null = run.store.read_null(run.key, spec.name)
    seeded = "seed" in type(run.variant.params).model_fields  # a further random null needs a model seed to vary
    drawable = [k for i, k in enumerate(spec.nulls) if not i or k != "random" or seeded]
    own = [k if i else None for i, k in enumerate(spec.nulls) if k in drawable]  # None: the first null's names
    expected = {null_field(o, k) for k in own for o in (*spec.null_outputs, "null_kind", "null_epoch")}
    assert set(null) == expected and [str(null[null_field("null_kind", k)]) for k in own] == drawable, sorted(null)
    for o in spec.null_outputs:
        for k in own:
            draws = null[null_field(o, k)]
            assert draws.shape[1:] == np.shape(final[o]) and len(draws) >= 1, \
                f"{spec.name}: {k or spec.null} null {o!r} is {draws.shape}, the output {np.shape(final[o])}"


def check_summary_analyzer(spec: AnalyzerSpec, family: str) -> None:
    """The summary the pipeline wrote on the family's tiny run is exactly the declared arrays, numpy,
    and what the analyzer computes again reading only the requirements it declares."""
    run = tiny_run(family)
    assert run.store.has_summary(run.key, spec.name), \
        f"{spec.name} wrote no summary for {family} (are its requirements {spec.requires} met?)"
    first = run.store.read_summary(run.key, spec.name)
    check_outputs(spec, first)
    _plain(spec.name, first)
    epochs = np.array(run.store.checkpoint_epochs(run.key))

    def artifacts(req):  # only what the summary declares it requires, stacked as the pipeline does
        assert req in spec.requires, f"{spec.name} read undeclared requirement {req!r}"
        per = [run.store.read_artifact(run.key, req, int(e)) for e in epochs]
        return {k: np.stack([d[k] for d in per]) for k in per[0]}

    ctx = SummaryContext(epochs=epochs, metrics=run.store.read_metrics(run.key), artifacts=artifacts,
                         family=run.variant.family.analysis_context(run.variant.params),
                         recipe=run.variant.recipe, steps_per_epoch=run.variant.steps_per_epoch)
    _identical(spec.name, first, spec.fn(ctx))


def check_group_analyzer(spec: AnalyzerSpec, family: str) -> None:
    """Over a group of the family's tiny run alone: the pipeline wrote exactly the declared arrays (and
    the runs it left out), numpy, and the analyzer gives the same again."""
    run = tiny_run(family)
    result = analyze_group(run.store, [run.variant.spec], analyzers=spec.name, force=True)
    assert result.computed == [spec.name], f"{spec.name} wrote nothing for {family}: {result.left_out}"
    written = run.store.read_group_artifact(result.group, spec.name)
    assert list(written.pop("left_out_runs")) == [] and len(written.pop("left_out_why")) == 0
    check_outputs(spec, written)
    _plain(spec.name, written)
    analyze_group(run.store, [run.variant.spec], analyzers=spec.name, force=True)
    _identical(spec.name, written, {k: v for k, v in run.store.read_group_artifact(result.group, spec.name).items()
                                    if k in spec.outputs})


def _no_family(spec: AnalyzerSpec) -> None:
    raise AssertionError(f"analyzer {spec.name!r} applies to no registered family that declares a tiny variant")


def analyzer_checks(plugin: AnalyzerSpec | str) -> Iterator[Check]:
    """The checks an analyzer passes: one per family it applies to (each takes the AnalyzerSpec)."""
    spec = as_analyzer(plugin)
    check = {"epoch": check_epoch_analyzer, "summary": check_summary_analyzer, "group": check_group_analyzer}[spec.scope]
    families = _applies_to(spec)
    if not families:
        yield _no_family
    for family in families:
        named = functools.partial(check, family=family)
        named.__name__ = f"{check.__name__}[{family}]"  # the pytest id shows it
        yield named


def check_analyzer(plugin: AnalyzerSpec | str) -> None:
    """Run every analyzer check on `plugin` (a registered analyzer's name or spec)."""
    spec = as_analyzer(plugin)
    for check in analyzer_checks(spec):
        check(spec)
