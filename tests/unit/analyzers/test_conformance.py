"""Registry-driven conformance over every (family x applicable analyzer) pair.

The per-analyzer checks are the public `workbench.testing` ones (`check_analyzer`), which a
plugin package runs the same way; the pipeline's side (what applies runs, what does not is
skipped and named) is checked here.

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

import pytest
from _helpers import tiny_variant

from workbench.analysis.pipeline import analyze
from workbench.core.analyzer import get_analyzer, list_analyzers, unmet_needs
from workbench.core.capabilities import reason
from workbench.core.errors import UserError
from workbench.core.family import list_families
from workbench.testing import parametrize_with_checks


def _caps(family: str) -> dict | None:
    variant = tiny_variant(family)
    return None if variant is None else variant.family.capabilities(variant.params)


FAMILIES = [f for f in list_families() if _caps(f) is not None]
SKIPPING = [f for f in FAMILIES if len(list_analyzers(caps=_caps(f))) < len(list_analyzers())]


@parametrize_with_checks(analyzers=list_analyzers())
def test_analyzer_conforms(plugin, check):
    """Exactly the declared arrays (numpy, declared ranks, no object arrays), only the declared
    hooks and references, deterministic, and what the pipeline wrote: on every family it applies to."""
    check(plugin)


@pytest.mark.parametrize("family", FAMILIES)
def test_pipeline_writes_what_applies_and_a_rerun_skips_it(family, family_run):
    run = family_run(family)
    assert run.result.errors == {} and run.result.failed == []
    ckpts = run.store.checkpoint_epochs(run.key)
    applies = list_analyzers(scope="epoch", caps=run.caps)
    per_epoch = [n for n in applies if not get_analyzer(n).reference_only]
    for name in per_epoch:
        assert run.store.artifact_epochs(run.key, name) == ckpts, f"{name} missing at some checkpoint of {family}"
    for name in set(applies) - set(per_epoch):  # computed only where referenced: the final checkpoint by default
        assert run.store.artifact_epochs(run.key, name) == ckpts[-1:], f"{name} ran beyond its reference"
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
