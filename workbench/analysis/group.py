"""Group-scope analysis: an analyzer over several runs of one family at once.

`analyze_group` reads, for each run, the per-epoch artifacts a group analyzer `requires`
(stacked over that run's checkpoints), hands them over in a `GroupContext` and writes the
analyzer's artifact for the group (`Store.write_group_artifact`). A run that lacks one of
them at one of its checkpoints is left out, and the artifact says which runs and why
(`left_out_runs`, `left_out_why`, written beside the declared outputs); so does stderr.
Which runs form a group is the caller's choice (workbench.query groups runs by seed).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

from workbench.analysis.checkpoint import check_outputs, say
from workbench.core.analyzer import get_analyzer, list_analyzers, resolve_analyzers, unmet_needs
from workbench.core.context import GroupContext
from workbench.core.errors import UserError
from workbench.core.variant import Variant, parse_variant
from workbench.store import RunKey, Store

__all__ = ["analyze_group", "check_group", "current_group_artifact", "missing_requirement", "GroupResult", "group_id"]


@dataclass
class GroupResult:
    group: str  # the group's id (its artifacts' folder)
    computed: list[str]  # group analyzers written
    left_out: dict[str, dict[str, str]] = field(default_factory=dict)  # analyzer -> {run spec: why}


def group_id(specs: list[str]) -> str:
    """A stable id for a set of runs: the same runs in any order give the same id."""
    return "g-" + hashlib.sha256("\n".join(sorted(specs)).encode()).hexdigest()[:12]


def _runs(store: Store, specs: list[str]) -> list[tuple[RunKey, Variant]]:
    runs = []
    for spec in specs:
        key = RunKey(*parse_variant(spec).key)
        if not store.exists(key):
            raise UserError(f"no trained run for {spec!r} in {store.root}")
        runs.append((key, store.read_variant(key)))
    families = sorted({v.family.name for _, v in runs})
    if len(families) != 1:
        raise UserError(f"a group is runs of one family; got {', '.join(families) or 'no runs'}")
    return runs


def check_group(store: Store, specs: list[str], analyzers: str = "all") -> tuple[list[tuple[RunKey, Variant]], list[str]]:
    """(the runs, the group analyzers to run) for `analyze_group`, writing nothing.

    Raises:
        UserError for a run not in the store, runs of several families, or an analyzer that is
        not a group analyzer applying to the family.
    """
    runs = _runs(store, list(specs))
    caps = runs[0][1].family.capabilities(runs[0][1].params)
    chosen = resolve_analyzers(analyzers)
    if str(analyzers).strip() == "all":
        chosen = list_analyzers(scope="group", caps=caps)
    elif any(get_analyzer(n).scope != "group" or unmet_needs(n, caps) for n in chosen):
        raise UserError(f"not group analyzers that apply to {runs[0][1].family.name}: {', '.join(chosen)}")
    return runs, chosen


def analyze_group(store: Store, specs: list[str], *, analyzers: str = "all", group: str | None = None,
                  force: bool = False) -> GroupResult:
    """Run group-scope analyzers over the runs `specs` (variant specs of one family).

    Args:
        store: the store holding the runs; the group's artifacts are written there.
        specs: the runs, in the order their rows appear in the artifacts.
        analyzers: "all" (those that apply to the family) or comma-separated group analyzers.
        group: the group's id (default: `group_id(specs)`).
        force: recompute artifacts that are up to date.
    Returns:
        The group id, the analyzers written and the runs each left out (with why).
    """
    runs, chosen = check_group(store, specs, analyzers)
    store.ensure_writable()
    result = GroupResult(group or group_id(list(specs)), [])
    for name in chosen:
        if _one(store, runs, name, result, force):
            result.computed.append(name)
    return result


def missing_requirement(store: Store, key: RunKey, requires: tuple[str, ...]) -> str | None:
    """Why a run cannot join (a requirement missing at some checkpoint), or None."""
    epochs = store.checkpoint_epochs(key)
    if not epochs:
        return "no checkpoints"
    for req in requires:
        lacking = sorted(set(epochs) - set(store.artifact_epochs(key, req)))
        if lacking:
            return f"no {req} at {len(lacking)} of {len(epochs)} checkpoints (e.g. epoch {lacking[0]})"
    return None


def _stamp(name: str, kept: list[tuple[RunKey, Variant]], epochs: list[np.ndarray]) -> dict[str, str]:
    """What makes a group artifact current: the analyzer's version, the runs it read and their checkpoints."""
    return {"version": str(get_analyzer(name).version), "runs": "\n".join(v.spec for _, v in kept),
            "epochs": ";".join(",".join(map(str, e)) for e in epochs)}


def current_group_artifact(store: Store, specs: list[str], name: str) -> dict[str, np.ndarray] | None:
    """Group analyzer `name`'s artifact over the runs `specs` if it is up to date with them, else None (reads only)."""
    try:
        runs = _runs(store, list(specs))
    except UserError:
        return None
    requires = get_analyzer(name).requires
    kept = [(k, v) for k, v in runs if not missing_requirement(store, k, requires)]
    gid = group_id(list(specs))
    if not kept or not store.group_artifact_current(gid, name, _stamp(name, kept, [np.array(store.checkpoint_epochs(k)) for k, _ in kept])):
        return None
    return store.read_group_artifact(gid, name)


def _one(store: Store, runs: list[tuple[RunKey, Variant]], name: str, result: GroupResult, force: bool) -> bool:
    spec = get_analyzer(name)
    why = {v.spec: w for k, v in runs if (w := missing_requirement(store, k, spec.requires))}
    result.left_out[name] = why
    for run, reason in why.items():
        say(f"{name}: left out {run}: {reason}")
    kept = [(k, v) for k, v in runs if v.spec not in why]
    if not kept:
        say(f"{name}: no run of the group has what it needs; skipped")
        return False
    epochs = [np.array(store.checkpoint_epochs(k)) for k, _ in kept]
    stamp = _stamp(name, kept, epochs)
    if not force and store.group_artifact_current(result.group, name, stamp):
        return False

    def artifacts(req: str) -> list[dict[str, np.ndarray]]:
        if req not in spec.requires:
            raise KeyError(f"group analyzer {name!r} did not declare requirement {req!r}")
        out = []
        for (key, _), ep in zip(kept, epochs):
            per = [store.read_artifact(key, req, int(e)) for e in ep]
            out.append({a: np.stack([d[a] for d in per]) for a in per[0]})
        return out

    first = kept[0][1]
    ctx = GroupContext(runs=[v.spec for _, v in kept], epochs=epochs, artifacts=artifacts,
                       family=first.family.analysis_context(first.params))
    out = spec.fn(ctx)
    check_outputs(spec, out)
    left = {"left_out_runs": np.array(list(why), dtype=np.str_), "left_out_why": np.array(list(why.values()), dtype=np.str_)}
    store.write_group_artifact(result.group, name, out | left, stamp)
    return True
