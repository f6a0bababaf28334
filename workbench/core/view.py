"""The view contract and registry: view name -> ViewSpec (its artifact sources and pure renderer).

A renderer is a pure function `render(arrays, **options) -> plotly.graph_objects.Figure`.
`arrays` is the artifact dict of the view's single source; a view with several sources
gets one flat dict whose keys are prefixed `"<source>.<array>"`. The source "metrics"
means the run's metrics table (epoch, train/test loss and accuracy).

A view applies to a family when its own `needs` (workbench.core.capabilities) and those
of the analyzers it draws from are met (`view_needs`, `applicable_views` here), so a view
declares `needs` only for what its sources do not already need.

A view also says where the dashboard places it: its `group` (views that belong together,
e.g. "neurons"), its `order` in that group (lower first), `wide` (spans both columns),
`click` (what clicking a point selects: "epoch", "neuron", "head" or None) and, for a
trajectory, `epoch_x` (its x axis is the epoch, so the current-epoch marker follows it).
The dashboard builds its groups from these declarations and never names a view.

Two optional hooks make a heavy per-epoch view cheap to scrub in the dashboard:
`repaint(arrays, old_options, new_options) -> Repaint | None` gives what changes in the
figure already drawn (with `old_options`) when it shows `arrays` with `new_options` (None:
render it again), and `pin(arrays) -> options` fixes options once per run from its last
analyzed checkpoint (e.g. which neurons a grid shows, so scrubbing shows the same ones).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Callable, Literal

from workbench.core.analyzer import analyzer_needs, get_analyzer, list_analyzers
from workbench.core.capabilities import CapsLike, check_need, unmet
from workbench.core.registry import Registry

__all__ = ["ViewSpec", "Repaint", "register_view", "list_views", "get_view", "view_needs", "unmet_view_needs",
           "applicable_views", "optional_sources", "is_optional_source"]


@dataclass(frozen=True)
class Repaint:
    """A view's figure for other data or options, as changes to the figure already drawn."""

    traces: list[dict]  # per trace, in order: the properties that change (arrays as numpy)
    title: str  # the renderer's title (the dashboard adds the epoch)
    layout: dict = field(default_factory=dict)  # layout properties that change, nested as in the figure


@dataclass(frozen=True)
class ViewSpec:
    name: str
    scope: Literal["epoch", "trajectory"]  # per-epoch artifact vs. whole-run summary
    sources: tuple[str, ...]  # analyzer names, or "metrics"
    render: Callable
    description: str
    options: tuple[str, ...] = ()  # keyword options the renderer accepts, e.g. ("neuron",)
    needs: tuple[str, ...] = ()  # family capabilities it needs beyond its sources' (workbench.core.capabilities)
    group: str = "other"  # the dashboard group it sits in
    order: int = 50  # its place in the group, lower first
    wide: bool = False  # spans both columns of the group's grid
    click: Literal["epoch", "neuron", "head", None] = None  # what clicking one of its points selects
    epoch_x: bool = False  # a trajectory whose x axis is the epoch (the dashboard marks the current one)
    repaint: Callable | None = None  # (arrays, old options, new options) -> Repaint | None; see the module doc
    pin: Callable | None = None  # (arrays at the last analyzed checkpoint) -> options fixed for the run


_VIEWS: Registry[ViewSpec] = Registry("view", "workbench.views")  # view name -> ViewSpec


def register_view(name: str, *, scope: Literal["epoch", "trajectory"], sources: tuple[str, ...],
                  options: tuple[str, ...] = (), needs: tuple[str, ...] = (), group: str = "other",
                  order: int = 50, wide: bool = False, click: Literal["epoch", "neuron", "head", None] = None,
                  epoch_x: bool | None = None, repaint: Callable | None = None, pin: Callable | None = None):
    """Decorator registering a renderer as a view; its docstring's first line describes it.

    `epoch_x` defaults to True for trajectories (x = epoch) and must stay False for per-epoch views.
    """
    needs = tuple(check_need(n) for n in needs)
    epoch_x = scope == "trajectory" if epoch_x is None else epoch_x
    if epoch_x and scope != "trajectory":
        raise ValueError(f"view {name!r}: only a trajectory view has the epoch on its x axis")
    if (repaint or pin) and (scope != "epoch" or len(sources) != 1):
        raise ValueError(f"view {name!r}: repaint and pin are for per-epoch views of one source")
    if click not in ("epoch", "neuron", "head", None):
        raise ValueError(f"view {name!r}: click must be 'epoch', 'neuron', 'head' or None, got {click!r}")

    def wrap(fn: Callable) -> Callable:
        doc = (fn.__doc__ or "").strip().splitlines()
        _VIEWS.add(name, ViewSpec(name, scope, tuple(sources), fn, doc[0] if doc else "", tuple(options), needs,
                                  group, order, wide, click, epoch_x, repaint, pin))
        return fn

    return wrap


def list_views(scope: str | None = None) -> list[str]:
    return _VIEWS.list_(lambda v: scope is None or v.scope == scope)


def get_view(name: str) -> ViewSpec:
    return _VIEWS.get(name)


@functools.lru_cache(maxsize=1)
def optional_sources() -> frozenset[str]:
    """Sources a view can draw without: the summaries that emit epoch markers (e.g. a turn
    mark), when the view has another source (a view's only source is what it draws)."""
    return frozenset(n for n in list_analyzers(scope="summary") if get_analyzer(n).markers)


def is_optional_source(view: ViewSpec, source: str) -> bool:
    return source in optional_sources() and len(view.sources) > 1


def view_needs(view_name: str) -> tuple[str, ...]:
    """A view's own needs and those of the analyzers it draws from (optional sources aside)."""
    view = get_view(view_name)
    analyzers = set(list_analyzers())
    inherited = [n for s in view.sources if s in analyzers and not is_optional_source(view, s)
                 for n in analyzer_needs(s)]
    return tuple(dict.fromkeys(view.needs + tuple(inherited)))


def unmet_view_needs(view_name: str, caps: CapsLike) -> list[str]:
    """The needs of a view that a family with capabilities `caps` does not meet ([] if it applies)."""
    return unmet(view_needs(view_name), caps)


def applicable_views(caps: CapsLike | None, scope: str | None = None) -> list[str]:
    """The views (of one scope, optionally) that apply to `caps`; every view when caps is None."""
    return [v for v in list_views(scope) if caps is None or not unmet_view_needs(v, caps)]
