"""The one place the workbench loads plugins: Python entry points (as pytest and timm load theirs).

A plugin package declares, in its own pyproject.toml, the modules that register its
families, analyzers and views, one entry point per package (the package `__init__`
imports its plugin files explicitly):

    [project.entry-points."workbench.families"]
    my_study = "my_study.families"
    [project.entry-points."workbench.analyzers"]
    my_study = "my_study.analyzers"
    [project.entry-points."workbench.views"]
    my_study = "my_study.views"

A registry loads its group the first time it is read (workbench.core.registry), once per
process: the workbench's own packages first, then the others by distribution and name, so
the order of every listing is stable. A package that fails to import is named in one line
on stderr and left out; the others still load. Nothing here names a plugin package except
`_BUILTIN`, the fallback for a source tree that was never pip-installed (no entry points).
"""

from __future__ import annotations

import importlib
import sys
from importlib.metadata import EntryPoint, entry_points

__all__ = ["GROUPS", "load", "loaded", "failures", "DISTRIBUTION"]

GROUPS = ("workbench.families", "workbench.analyzers", "workbench.views")
DISTRIBUTION = "training-dynamics-workbench"  # the workbench's own distribution, loaded first
_BUILTIN = {"workbench.families": "families", "workbench.analyzers": "analyzers", "workbench.views": "renderers"}

_loaded: set[str] = set()  # groups loaded (or being loaded) in this process
_failures: dict[str, str] = {}  # "group:entry point" -> the one-line error it failed with


def _own(ep: EntryPoint) -> bool:
    dist = getattr(ep, "dist", None)
    name = getattr(dist, "name", "") or ""
    return name.replace("_", "-").lower() == DISTRIBUTION


def _entry_points(group: str) -> list[tuple[str, str]]:
    """(entry point name, module) of a group: ours first, then by distribution and name, no repeats."""
    eps = sorted(entry_points(group=group), key=lambda ep: (not _own(ep), getattr(ep.dist, "name", "") or "", ep.name))
    found = list(dict.fromkeys((ep.name, ep.value) for ep in eps))
    if group in _BUILTIN and not any(_own(ep) for ep in eps):  # a source tree that was never installed
        found.insert(0, ("builtin", _BUILTIN[group]))
    return found


def load(group: str) -> None:
    """Import every plugin package of `group` once; one line on stderr for each that fails."""
    if group in _loaded:
        return
    _loaded.add(group)  # first: a plugin that reads its registry while it registers must not recurse
    for name, target in _entry_points(group):
        module = target.partition(":")[0]
        try:
            importlib.import_module(module)
        except Exception as err:  # a broken plugin package must not take the workbench down
            problem = " ".join(f"{type(err).__name__}: {err}".split())[:300]
            _failures[f"{group}:{name}"] = problem
            print(f"workbench: warning: plugin package {module!r} ({group} entry point {name!r}) failed to load: "
                  f"{problem}", file=sys.stderr)


def loaded(group: str) -> bool:
    return group in _loaded


def failures() -> dict[str, str]:
    """The plugin packages that failed to load in this process: "group:entry point" -> error."""
    return dict(_failures)
