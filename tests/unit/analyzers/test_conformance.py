"""Registry-driven conformance over every (family x applicable analyzer) pair.

Each registered family trains its declared `tiny` variant once per session and is
analyzed with `--analyzers all` (conftest's `family_run`). Every analyzer whose needs the
family meets must return exactly its declared arrays (numpy only, declared ranks,
savable without pickle), read only the hooks it declares for that family, be
deterministic, and be written by the pipeline at every checkpoint and skipped once up to
date; every analyzer that does not apply must be skipped, named once on stderr with the
reason, and refused with one line when named explicitly. A new family or analyzer is
covered here without anyone writing a test for it.
"""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
import pytest
from _helpers import tiny_variant
from threadpoolctl import threadpool_limits

from workbench.analysis.checkpoint import build_epoch_context, check_outputs
from workbench.analysis.pipeline import analyze
from workbench.core.analyzer import get_analyzer, list_analyzers, unmet_needs
from workbench.core.capabilities import reason
from workbench.core.context import SummaryContext
from workbench.core.errors import UserError
from workbench.core.family import list_families
from workbench.store._io import load_npz, load_safetensors


def _caps(family: str) -> dict | None:
    variant = tiny_variant(family)
    return None if variant is None else variant.family.capabilities(variant.params)


def _pairs(scope: str) -> list:
    pairs = []
    for family in list_families():
        caps = _caps(family)
        if caps is None:
            why = f"{family} declares no tiny variant"
            pairs.append(pytest.param(family, None, marks=pytest.mark.skip(reason=why)))
            continue
        pairs += [pytest.param(family, name, id=f"{family}-{name}") for name in list_analyzers(scope=scope, caps=caps)]
    return pairs


FAMILIES = [f for f in list_families() if _caps(f) is not None]
SKIPPING = [f for f in FAMILIES if len(list_analyzers(caps=_caps(f))) < len(list_analyzers())]


def _assert_plain_arrays(name, out):
    for key, arr in out.items():
        assert isinstance(arr, np.ndarray), f"{name}.{key} is {type(arr).__name__}"
        assert arr.dtype != object, f"{name}.{key} is an object array (needs pickle to load)"


def _assert_identical(name, first, second):
    assert set(first) == set(second), f"{name} returned different arrays"
    for key in first:
        assert first[key].dtype == second[key].dtype, f"{name}.{key} dtype changed between runs"
        np.testing.assert_array_equal(first[key], second[key], err_msg=f"{name}.{key} differs")


@pytest.fixture(scope="module")
def final_context(family_run):
    """family -> (final epoch, its EpochContext holding every hook any applicable analyzer declares)."""
    made = {}

    def make(family: str):
        if family not in made:
            run = family_run(family)
            epoch = run.store.checkpoint_epochs(run.key)[-1]
            state = load_safetensors(run.store.checkpoint_path(run.key, epoch))
            names = list_analyzers(scope="epoch", caps=run.caps)
            hooks = {h for n in names for h in get_analyzer(n).hook_names(run.caps)}
            made[family] = epoch, build_epoch_context(run.variant, state, epoch, hooks)
        return made[family]

    return make


def _only_declared(ctx, spec, caps, refs):
    """A private copy of `ctx` holding only the hooks and references `spec` declares."""
    declared = set(spec.hook_names(caps))
    assert declared <= set(ctx.cache), f"{spec.name} declares hooks the model lacks: {declared - set(ctx.cache)}"

    def reference(ref):
        if ref not in spec.reference:
            raise KeyError(f"undeclared reference {ref!r}")
        return refs[ref]

    copied = {k: np.array(v) for k, v in ctx.weights.items()}
    out = dataclasses.replace(ctx, weights=copied, cache={h: np.array(ctx.cache[h]) for h in declared},
                              logits=ctx.logits.copy(), probe=ctx.probe.copy(), labels=ctx.labels.copy(),
                              train_mask=ctx.train_mask.copy(), test_mask=ctx.test_mask.copy(),
                              family=copy.deepcopy(ctx.family), options={})
    out.reference = reference
    return out


@pytest.mark.parametrize("family,name", _pairs("epoch"))
def test_epoch_analyzer_conforms(family, name, family_run, final_context):
    run, spec = family_run(family), get_analyzer(name)
    epoch, ctx = final_context(family)
    refs = {r: load_npz(run.store.artifact_path(run.key, r, epoch)) for r in spec.reference}
    # only the declared hooks and references; two separate copies, so an analyzer that
    # mutates its context cannot pass
    with threadpool_limits(limits=1, user_api="blas"):  # as the pipeline runs them: BLAS's thread
        first = spec.fn(_only_declared(ctx, spec, run.caps, refs))  # count changes float32 GEMM sums
        again = spec.fn(_only_declared(ctx, spec, run.caps, refs))
    check_outputs(spec, first)
    _assert_plain_arrays(name, first)
    _assert_identical(name, first, again)
    # and the pipeline, whose shared context holds every analyzer's hooks, wrote the same
    _assert_identical(name, first, load_npz(run.store.artifact_path(run.key, name, epoch)))


@pytest.mark.parametrize("family,name", _pairs("summary"))
def test_summary_analyzer_conforms(family, name, family_run):
    run, spec = family_run(family), get_analyzer(name)
    path = run.store.summary_path(run.key, name)
    assert path.exists(), f"{name} wrote no summary for {family} (are its requirements {spec.requires} met?)"
    first = load_npz(path)
    check_outputs(spec, first)
    _assert_plain_arrays(name, first)
    epochs = np.array(run.store.checkpoint_epochs(run.key))

    def artifacts(req):  # only what the summary declares it requires, stacked as the pipeline does
        assert req in spec.requires, f"{name} read undeclared requirement {req!r}"
        per = [load_npz(run.store.artifact_path(run.key, req, int(e))) for e in epochs]
        return {k: np.stack([d[k] for d in per]) for k in per[0]}

    ctx = SummaryContext(epochs=epochs, metrics=load_npz(run.store.metrics_path(run.key)), artifacts=artifacts,
                         family=run.variant.family.analysis_context(run.variant.params))
    _assert_identical(name, first, spec.fn(ctx))


@pytest.mark.parametrize("family", FAMILIES)
def test_pipeline_writes_what_applies_and_a_rerun_skips_it(family, family_run):
    run = family_run(family)
    assert run.result.errors == {} and run.result.failed == []
    ckpts = run.store.checkpoint_epochs(run.key)
    per_epoch = list_analyzers(scope="epoch", caps=run.caps)
    for name in per_epoch:
        assert run.store.artifact_epochs(run.key, name) == ckpts, f"{name} missing at some checkpoint of {family}"
    for name in list_analyzers(scope="summary", caps=run.caps):
        assert run.store.summary_path(run.key, name).exists(), f"{name} wrote no summary for {family}"
    for name in set(list_analyzers()) - set(list_analyzers(caps=run.caps)):
        assert run.store.artifact_epochs(run.key, name) == [], f"{name} does not apply to {family} but ran"
        assert not run.store.summary_path(run.key, name).exists(), f"{name} does not apply to {family} but ran"
    again = analyze(run.variant.spec, run.store, analyzers="all", quiet=True)
    refs = {r for n in per_epoch for r in get_analyzer(n).reference}  # the final checkpoint, looked at once more
    assert again.computed == 0 and again.skipped == len(ckpts) * len(per_epoch) + len(refs)


def test_some_family_skips_analyzers():
    """The skip tests below test something: a registered family lacks a capability some analyzer needs."""
    assert SKIPPING, "every analyzer applies to every family; the skip tests would test nothing"


@pytest.mark.parametrize("family", SKIPPING)
def test_analyze_all_names_each_skipped_analyzer_once_with_its_reason(family, family_run):
    run = family_run(family)
    lines = [ln for ln in run.stderr.splitlines() if ln.startswith("skipped (")]
    skipped = [n for n in list_analyzers() if unmet_needs(n, run.caps)]
    for name in skipped:
        mentions = [ln for ln in lines if name in ln.partition("): ")[2].split(", ")]
        assert len(mentions) == 1, f"{name} named {len(mentions)} times in {lines}"
        assert mentions[0].startswith(f"skipped ({reason(unmet_needs(name, run.caps))}): ")
    assert sum(len(ln.partition("): ")[2].split(", ")) for ln in lines) == len(skipped)


@pytest.mark.parametrize("family", SKIPPING)
def test_naming_an_analyzer_that_does_not_apply_is_one_line_and_writes_nothing(family, family_run, capsys):
    from workbench.cli import main

    run = family_run(family)
    name = next(n for n in list_analyzers() if unmet_needs(n, run.caps))
    with pytest.raises(UserError, match=f"{name} \\({reason(unmet_needs(name, run.caps))}\\) does not apply"):
        analyze(run.variant.spec, run.store, analyzers=f"param_snapshot,{name}", quiet=True)
    capsys.readouterr()
    assert main(["analyze", run.variant.spec, "--analyzers", name, "--store", str(run.store.root), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and name in err and "Traceback" not in err
    assert run.store.artifact_epochs(run.key, name) == [] and not run.store.summary_path(run.key, name).exists()
