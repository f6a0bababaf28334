"""Fixtures: hand-built EpochContexts for ground truth, and every family's tiny run, analyzed."""

from __future__ import annotations

import pytest
from _helpers import epoch_ctx

from workbench.testing import tiny_run


@pytest.fixture
def fake_ctx():
    """make(p, cache=None, logits=None, weights=None, options=None, probe=None, family=None) ->
    EpochContext (see `_helpers.epoch_ctx` for the defaults)."""

    def make(p, *, weights=None, **kwargs):
        return epoch_ctx(weights, p, **kwargs)

    return make


@pytest.fixture(scope="session")
def family_run():
    """run(family name) -> workbench.testing.TinyRun: the family's tiny variant trained and analyzed
    with --analyzers all, once per session (the conformance checks use the same runs)."""
    return tiny_run
