"""Test support that ships with the workbench, for its own tests and for plugin packages.

Conformance checks, after scikit-learn's `check_estimator` / `parametrize_with_checks`: a
plugin package tests its families, analyzers and views against the workbench's contracts
without writing those tests itself.

    from workbench.testing import check_analyzer, check_family, check_view, parametrize_with_checks

    check_family(MyFamily)              # every family check; the first that fails raises AssertionError
    check_analyzer("my_analyzer")       # on the tiny variant of every family it applies to
    check_view("my_view")               # on synthetic arrays drawn from its sources' declared outputs

    @parametrize_with_checks(families=[MyFamily], analyzers=["my_analyzer"], views=["my_view"])
    def test_conforms(plugin, check):   # one pytest case per plugin and check
        check(plugin)

A plugin is named, or given as its class (a family) or spec. Family checks train the
family's declared `tiny` variant (seconds) in temporary stores; analyzer checks train and
analyze each family's tiny variant once per process (`tiny_run`).

`ToyFamily` (workbench.testing.toy) is a seconds-scale family, not registered, whose params
switch on every optional seam (fresh batches, dropout, a setting refused for new runs).

Synthetic stores and arrays (`workbench.testing.synthetic`) are drawn from what analyzers
declare (dims and value kinds), without training anything.
"""

from __future__ import annotations

from workbench.testing._analyzers import TinyRun, analyzer_checks, as_analyzer, check_analyzer, tiny_run
from workbench.testing._families import as_family, check_family, family_checks, tiny_variant
from workbench.testing._views import as_view, check_view, view_checks
from workbench.testing.synthetic import listed_run, synthetic_arrays, synthetic_run, view_arrays
from workbench.testing.toy import ToyFamily

__all__ = ["check_family", "check_analyzer", "check_view", "parametrize_with_checks", "family_checks",
           "analyzer_checks", "view_checks", "tiny_variant", "tiny_run", "TinyRun", "listed_run", "synthetic_run",
           "synthetic_arrays", "view_arrays", "ToyFamily"]


def parametrize_with_checks(families=(), analyzers=(), views=()):
    """A `pytest.mark.parametrize("plugin, check", ...)` over every check of every plugin given,
    with ids like "modular_addition-check_init_is_deterministic" (as scikit-learn's).

    Args:
        families, analyzers, views: plugins, by name or as a Family class, AnalyzerSpec or ViewSpec.
    """
    import pytest  # a test-time dependency: only here

    params = []
    for plugins, resolve, checks in ((families, as_family, family_checks), (analyzers, as_analyzer, analyzer_checks),
                                     (views, as_view, view_checks)):
        for plugin in map(resolve, plugins):
            params += [pytest.param(plugin, check, id=f"{plugin.name}-{check.__name__}") for check in checks(plugin)]
    return pytest.mark.parametrize("plugin, check", params)
