"""Fixtures: hand-built EpochContexts for ground truth, and every family's tiny run, analyzed."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from _helpers import epoch_ctx, tiny_variant


@pytest.fixture
def fake_ctx():
    """make(p, cache=None, logits=None, weights=None, options=None, probe=None, family=None) ->
    EpochContext (see `_helpers.epoch_ctx` for the defaults)."""

    def make(p, *, weights=None, **kwargs):
        return epoch_ctx(weights, p, **kwargs)

    return make


@dataclass
class FamilyRun:
    """A family's `tiny` variant, trained and analyzed with --analyzers all."""

    store: object
    key: object
    variant: object
    caps: dict
    result: object  # the AnalyzeResult of the first `analyze --analyzers all`
    stderr: str  # what that analysis printed on stderr


@pytest.fixture(scope="session")
def family_run(tmp_path_factory):
    """run(family name) -> FamilyRun, trained and analyzed once per session on first use."""
    import contextlib
    import io

    import torch

    from workbench.analysis.pipeline import analyze
    from workbench.core.family import get_family
    from workbench.store import RunKey, Store
    from workbench.training.trainer import plan_training, train

    runs: dict[str, FamilyRun] = {}

    def run(name: str) -> FamilyRun:
        if name not in runs:
            variant, tiny = tiny_variant(name), get_family(name).tiny
            store = Store(tmp_path_factory.mktemp(f"tiny_{name}"))
            err = io.StringIO()
            threads = torch.get_num_threads()
            torch.set_num_threads(1)  # tiny models: a second thread only waits on the other (10x slower when busy)
            try:
                plan = plan_training(variant, store, epochs=tiny["epochs"], schedule=tiny["schedule"])
                train(plan, store, quiet=True)
                with contextlib.redirect_stderr(err):
                    result = analyze(variant.spec, store, analyzers="all", quiet=True)
            finally:
                torch.set_num_threads(threads)
            runs[name] = FamilyRun(store, RunKey(*variant.key), variant,
                                   variant.family.capabilities(variant.params).as_dict(), result, err.getvalue())
        return runs[name]

    return run
