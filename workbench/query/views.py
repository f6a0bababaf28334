"""Figures for a run in a store: load a view's sources, render them, or explain what to run.

`view_figure` never raises for missing or partial data: it returns a placeholder figure
whose text names the command that would produce the data, or, for a view that does not
apply to the run's family, what the family lacks.
"""

from __future__ import annotations

import functools
import os
from typing import Any, Callable, Mapping

import numpy as np
import plotly.graph_objects as go

from workbench.core.analyzer import get_analyzer, list_analyzers
from workbench.core.capabilities import reason
from workbench.core.errors import CorruptFile, MissingFile, UserError
from workbench.core.nulls import null_key
from workbench.core.probes import CANONICAL
from workbench.core.variant import parse_variant
from workbench.core.view import CLOCK_ARRAYS, applicable_views, get_view, is_optional_source, unmet_view_needs, view_needs
from workbench.store import ArraysRef, RunKey, Store
from workbench.store.clock import NO_CLOCK, read_clock
from workbench.store.probes import list_probes

__all__ = [
    "view_figure", "placeholder_figure", "is_placeholder", "load_view_arrays", "view_epochs", "MissingData",
    "run_capabilities", "run_views", "view_table", "source_refs", "run_options", "run_names", "NAME_LISTS",
    "PROBE_OPTION", "run_steps_per_epoch", "run_clock", "wall_time_missing",
]

_optional = is_optional_source
PROBE_OPTION = "probe"  # a view option naming the probe whose artifacts it reads (None: the canonical probe)


def _probe_names(store: Store, key: RunKey) -> list[str]:
    return [CANONICAL] + [p.name for p in list_probes(store) if p.family == key.family]


# a name option's `names` -> (store, run) -> the names it offers, the default first
NAME_LISTS: dict[str, Callable[[Store, RunKey], list[str]]] = {"probes": _probe_names}


def run_names(store: Store, key: RunKey, names: str) -> list[str]:
    """The names a run offers a "name" view option (workbench.core.view.ViewOption.names)."""
    return NAME_LISTS[names](store, key)
_PLACEHOLDER = "workbench-placeholder"  # layout.meta marker of placeholder figures


class MissingData(Exception):
    """A view's data is missing or unusable; the message says what to run."""


@functools.lru_cache(maxsize=64)
def _capabilities(root: str, key: RunKey, signature: tuple[int, int]) -> dict | None:
    try:
        variant = parse_variant(Store(root).read_record(key).variant)
        return variant.family.capabilities(variant.params).as_dict()
    except (UserError, ValueError, TypeError):  # unreadable or unknown: nothing is filtered out
        return None


def run_capabilities(store: Store, key: RunKey) -> dict | None:
    """The capabilities of a run's family from its record; None if it cannot be read."""
    signature = store.record_signature(key)
    return None if signature is None else _capabilities(str(store.root), key, signature)


@functools.lru_cache(maxsize=64)
def _steps_per_epoch(root: str, key: RunKey, signature: tuple[int, int], any_budget: bool = False) -> int | None:
    """Optimizer steps per epoch of a run whose recipe budget is in steps (or, `any_budget`, of any
    run); None for an epoch budget or a run whose variant cannot be read."""
    try:
        variant = parse_variant(Store(root).read_record(key).variant)
        return variant.steps_per_epoch if any_budget or variant.recipe.steps is not None else None
    except (UserError, ValueError, TypeError):  # unreadable or unknown: epochs, as before
        return None


def run_steps_per_epoch(store: Store, key: RunKey) -> int | None:
    """Optimizer steps per epoch of a run, whatever unit its budget is in (None: unknown), so any
    curve over training can be read against the optimizer step."""
    signature = store.record_signature(key)
    return None if signature is None else _steps_per_epoch(str(store.root), key, signature, True)


def run_options(store: Store, key: RunKey, view_name: str) -> dict[str, Any]:
    """Options a run fixes for one of its views unless the caller sets them: `x_step` (x in
    optimizer steps, this many per epoch) for a view over training whose run's recipe states its
    budget in steps (renderers._axis)."""
    if get_view(view_name).option("x_step") is None:
        return {}
    signature = store.record_signature(key)
    steps = None if signature is None else _steps_per_epoch(str(store.root), key, signature)
    return {} if steps is None else {"x_step": steps}


def run_clock(store: Store, key: RunKey) -> tuple[np.ndarray, np.ndarray] | None:
    """The run's wall time, (epochs, seconds of training at each); None if it has none or it cannot be read."""
    try:
        return read_clock(store, key)
    except CorruptFile:
        return None


def wall_time_missing(store: Store, key: RunKey) -> str | None:
    """Why a run's curves cannot be drawn against wall time (None: they can)."""
    try:
        return None if read_clock(store, key) is not None else NO_CLOCK
    except CorruptFile as err:
        return f"its clock cannot be read ({err.problem})"


def _with_clock(store: Store, key: RunKey, view_name: str, arrays: dict) -> dict:
    """A view's arrays plus the run's clock (CLOCK_ARRAYS) if the view takes `x_time` and the run has one:
    an option from a URL or the CLI is a scalar, so the epoch -> seconds map travels with the data."""
    clock = run_clock(store, key) if get_view(view_name).option("x_time") is not None else None
    return arrays if clock is None else {**arrays, **dict(zip(CLOCK_ARRAYS, clock))}


def run_views(store: Store, key: RunKey, scope: str | None = None) -> list[str]:
    """The views that apply to a run's family (all of them if its variant.json cannot be read)."""
    return applicable_views(run_capabilities(store, key), scope)


def view_table(caps: Mapping[str, Any] | None = None) -> list[str]:
    """`workbench views`: one line per view (name, scope, sources, needs, description, the
    `render --NAME VALUE` options it declares), only those that apply to `caps` when given."""
    lines = []
    for name in applicable_views(caps):
        v = get_view(name)
        needs = ", ".join(view_needs(name)) or "-"
        takes = ", ".join(f"--{o.name} " + ("|".join(o.choices) if o.kind == "choice" else
                                            "N" if o.kind == "index" else "VALUE") for o in v.options)
        lines.append(f"{name:26s} {v.scope:10s} from {', '.join(v.sources):30s} needs {needs:40s} {v.description}"
                     + (f"  [{takes}]" if takes else ""))
    return lines


def run_spec(key: RunKey) -> str:
    """The canonical variant spec of a run (its name lists every param; a long one's directory does not)."""
    return f"{key[0]}:{key[1]}"


def placeholder_figure(message: str) -> go.Figure:
    """An empty figure showing `message` in its middle (for data that does not exist yet).

    Args:
        message: what is missing and the command to run.
    Returns:
        A go.Figure that `is_placeholder` recognises.
    """
    fig = go.Figure()
    fig.add_annotation(text=message, x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False,
                       font={"size": 14, "color": "#666666"})
    fig.update_layout(template="plotly_white", height=260, meta={"kind": _PLACEHOLDER, "message": message},
                      xaxis={"visible": False}, yaxis={"visible": False})
    return fig


def is_placeholder(fig: go.Figure) -> bool:
    """True if `fig` came from `placeholder_figure`."""
    meta = fig.layout.meta
    return isinstance(meta, dict) and meta.get("kind") == _PLACEHOLDER


def _source_ref(source: str, scope: str, epoch: int | None) -> ArraysRef:
    """Where a view's source is: the metrics table, a summary (trajectory views) or an artifact at `epoch`."""
    return ArraysRef(source, None if source == "metrics" or scope == "trajectory" else epoch)


def _analyze_hint(key: RunKey, sources: list[str], force: bool = False) -> str:
    return f"run: workbench analyze {run_spec(key)} --analyzers {','.join(sources)}" + (" --force" if force else "")


def _default_epoch(store: Store, key: RunKey, sources: tuple[str, ...]) -> int | None:
    """The latest epoch at which the view's first source exists, else the latest checkpoint."""
    have = store.artifact_epochs(key, sources[0])
    ckpts = store.checkpoint_epochs(key)
    return (have or ckpts or [None])[-1]


def source_refs(store: Store, key: RunKey, view_name: str, epoch: int | None = None) -> list[ArraysRef]:
    """The tables a view reads at `epoch` (per-epoch views default to the latest analyzed epoch)."""
    view = get_view(view_name)
    if view.scope == "epoch" and epoch is None:
        epoch = _default_epoch(store, key, view.sources)
    if view.scope == "epoch" and epoch is None:  # nothing trained yet
        return [ArraysRef("metrics")]
    return [_source_ref(s, view.scope, epoch) for s in view.sources]


def load_view_arrays(store: Store, key: RunKey, view_name: str, epoch: int | None = None) -> dict[str, np.ndarray]:
    """The arrays a view renders: one source's dict, or flat "<source>.<array>" keys for several.

    Args:
        store: the store.
        key: the run.
        view_name: a registered view.
        epoch: checkpoint epoch (per-epoch views only; default: the latest analyzed).
    Returns:
        The renderer's input dict.
    Raises:
        MissingData with the command to run; UserError for an unknown view.
    """
    view = get_view(view_name)
    if not store.exists(key) or not store.has_metrics(key):
        raise MissingData(f"no trained run {run_spec(key)} in {store.root}; run: workbench train {run_spec(key)}")
    if view.scope == "epoch":
        epoch = _default_epoch(store, key, view.sources) if epoch is None else int(epoch)
        if epoch not in store.checkpoint_epochs(key):
            raise MissingData(f"no checkpoint at epoch {epoch}; checkpoints: {store.checkpoint_epochs(key)}")
    loaded: dict[str, dict] = {}
    missing = []
    for source in view.sources:
        ref = _source_ref(source, view.scope, epoch)
        # an optional source is an epoch marker (the turn): the run's, whichever probe the view reads
        at = store.with_probe(None) if _optional(view, source) else store
        if not at.has_arrays(key, ref):
            if not _optional(view, source):
                missing.append(source)
            continue
        try:
            loaded[source] = at.read_arrays(key, ref)
        except (CorruptFile, MissingFile) as err:  # truncated or foreign file (or gone since): recompute it
            raise MissingData(f"cannot read {os.path.basename(err.path)} of {source} ({type(err).__name__}); "
                              + _analyze_hint(key, [source], force=True)) from None
    caps = run_capabilities(store, key) if missing else None
    if caps is not None and unmet_view_needs(view_name, caps):
        raise MissingData(f"{view_name} does not apply to {key.family} ({reason(unmet_view_needs(view_name, caps))})")
    if missing:
        where = f" at epoch {epoch}" if view.scope == "epoch" else ""
        raise MissingData(f"{view_name}: no {', '.join(missing)} data{where}; " + _analyze_hint(key, missing))
    nulls = _null_arrays(store, key, view.sources)
    if len(view.sources) == 1:
        return {**loaded[view.sources[0]], **nulls} if nulls else loaded[view.sources[0]]
    return {f"{s}.{k}": v for s, arrays in loaded.items() for k, v in arrays.items()} | nulls


def _null_arrays(store: Store, key: RunKey, sources: tuple[str, ...]) -> dict[str, np.ndarray]:
    """The stored nulls of a view's analyzers and of those its summaries require, as
    "null.<analyzer>.<array>" (workbench.core.nulls.null_key); an unreadable one is left out."""
    names = [s for s in sources if s in list_analyzers()]
    names += [r for s in names for r in get_analyzer(s).requires]
    out: dict[str, np.ndarray] = {}
    for name in dict.fromkeys(names):
        ref = ArraysRef(name, null=True)
        if get_analyzer(name).null is None or not store.has_arrays(key, ref):
            continue
        try:
            out |= {null_key(name, k): v for k, v in store.read_arrays(key, ref).items()}
        except (CorruptFile, MissingFile):  # the figure is drawn without its chance level
            continue
    return out


def view_epochs(store: Store, key: RunKey, view_name: str) -> list[int]:
    """Epochs at which every required source of a per-epoch view exists ([] for trajectory views)."""
    view = get_view(view_name)
    if view.scope != "epoch":
        return []
    sets = [set(store.artifact_epochs(key, s)) for s in view.sources if not _optional(view, s)]
    return sorted(set.intersection(*sets)) if sets else []


def view_figure(store: Store, key: RunKey, view_name: str, epoch: int | None = None, **options) -> go.Figure:
    """Render one view of a run, or a placeholder naming the command that makes its data.

    Args:
        store: the store.
        key: the run.
        view_name: a registered view (see `workbench views`).
        epoch: checkpoint epoch for per-epoch views (default: the latest analyzed); ignored by
            trajectory views.
        **options: the view's options, e.g. neuron=3; `probe=NAME` (where the view declares it)
            reads that named probe's artifacts instead of the canonical probe's.
    Returns:
        A go.Figure (a placeholder when data is missing or does not match the view).
    Raises:
        UserError for an unknown view, an unknown option, or an invalid option value.
    """
    view = get_view(view_name)
    names = [o.name for o in view.options]
    unknown = sorted(set(options) - set(names))
    if unknown:
        valid = ", ".join(names) or "none"
        raise UserError(f"view {view_name!r} has no option {unknown[0]!r}; options: {valid}")
    options = {**run_options(store, key, view_name), **{k: v for k, v in options.items() if v is not None}}
    if PROBE_OPTION in options:  # which probe's artifacts the view reads (workbench.core.probes), not a renderer keyword
        store = store.with_probe(str(options.pop(PROBE_OPTION)))
    try:
        arrays = load_view_arrays(store, key, view_name, epoch)
    except MissingData as err:
        return placeholder_figure(str(err))
    try:
        return view.render(_with_clock(store, key, view_name, arrays), **options)
    except UserError:
        raise
    except ValueError as err:  # artifact from another schema version: the renderer's shape check says why
        return placeholder_figure(f"{err}; " + _analyze_hint(key, [s for s in view.sources if s != "metrics"],
                                                             force=True))

