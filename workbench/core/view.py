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
`click` (what clicking a point selects: "epoch", the key of a view option, or None) and,
for a trajectory, `epoch_x` (its x axis is the epoch, so the current-epoch marker follows
it). The dashboard builds its groups from these declarations and never names a view.

A view declares the options its renderer takes as `ViewOption`s: the keyword, a label,
its kind (an index into an artifact axis or a capability, or one of a few choices), its
default and what it means. `workbench render --NAME`, the API's unknown-option check,
the dashboard's controls, its URL state and which panels an option re-renders all follow
from these declarations; views that share an option share one declaration (one `key`).

Two optional hooks make a heavy per-epoch view cheap to scrub in the dashboard:
`repaint(arrays, old_options, new_options) -> Repaint | None` gives what changes in the
figure already drawn (with `old_options`) when it shows `arrays` with `new_options` (None:
render it again), and `pin(arrays) -> options` fixes options once per run from its last
analyzed checkpoint (e.g. which neurons a grid shows, so scrubbing shows the same ones).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Callable, Literal, Union

from workbench.core.analyzer import analyzer_needs, get_analyzer, list_analyzers
from workbench.core.capabilities import CapsLike, check_need, unmet
from workbench.core.registry import Registry

__all__ = ["ViewSpec", "ViewOption", "ViewGroup", "Repaint", "register_view", "register_group", "list_views",
           "get_view", "list_options", "list_groups", "view_needs", "unmet_view_needs", "applicable_views",
           "optional_sources", "is_optional_source", "drop_replaced", "RESERVED", "CLOCK_ARRAYS"]

_NAME = re.compile(r"[a-z][a-z0-9_]{0,31}")  # an option's name and key: a keyword, a CLI flag, a URL key
# names the CLI's `render` and the dashboard's URL already use for something else
RESERVED = frozenset({"variant", "view", "views", "epoch", "epochs", "out", "store", "groups", "compare", "align"})
# the run's wall time (epochs, seconds of training at each), added to the arrays of a view that
# takes the `x_time` option when the run has it (workbench.query.views; renderers._axis reads it)
CLOCK_ARRAYS = ("_clock.epoch", "_clock.seconds")


@dataclass(frozen=True)
class Repaint:
    """A view's figure for other data or options, as changes to the figure already drawn."""

    traces: list[dict]  # per trace, in order: the properties that change (arrays as numpy)
    title: str  # the renderer's title (the dashboard adds the epoch)
    layout: dict = field(default_factory=dict)  # layout properties that change, nested as in the figure


@dataclass(frozen=True)
class ViewOption:
    """One option a view's renderer takes, declared once and shared by the views that take it.

    kind "index": an int in [0, n), n read per run from `axis` (the length of that first
    dimension in the view's source artifacts) or `capability` (an int, or a list's length);
    kind "choice": one of `choices`; kind "name": one of the names a run offers from the list
    `names` names (e.g. "probes": the store's probes of the run's family; the dashboard lists
    them per run in a dropdown); kind "value": passed through as given (the CLI and API only;
    the dashboard shows no control for it).
    """

    name: str  # the renderer's keyword, and `workbench render --NAME`
    label: str  # what the dashboard's control says ("Neuron")
    kind: Literal["index", "choice", "name", "value"] = "index"
    help: str = ""  # what it means to the user: shown under the control, and in `render`'s messages
    axis: str | None = None  # index: the artifact axis whose length bounds it ("neuron")
    capability: str | None = None  # index: the capability that bounds it ("n_heads"; a list: its length)
    choices: tuple[str, ...] = ()  # choice: the values, in order
    default: int | str | None = 0  # the control's value before anything is picked
    names: str = ""  # name: which per-run list of names it picks from (workbench.query.views.NAME_LISTS)
    key: str = ""  # the control's id and URL key (default: name); another key = another meaning

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", self.key or self.name)
        object.__setattr__(self, "choices", tuple(self.choices))
        for what in (self.name, self.key):
            if not isinstance(what, str) or not _NAME.fullmatch(what) or what in RESERVED:
                raise ValueError(f"view option {what!r}: a name is lower_snake_case, at most 32 characters, "
                                 f"and none of {', '.join(sorted(RESERVED))}")
        if self.kind not in ("index", "choice", "name", "value"):
            raise ValueError(f"view option {self.key!r}: kind must be 'index', 'choice', 'name' or 'value', "
                             f"got {self.kind!r}")
        if (self.kind == "name") != bool(self.names) or (self.kind == "name" and not isinstance(self.default, str)):
            raise ValueError(f"view option {self.key!r}: a name option (only) says which `names` it picks from, "
                             "and its default is a name")
        if self.axis and self.capability:
            raise ValueError(f"view option {self.key!r}: its range comes from an axis or a capability, not both")
        if (self.axis or self.capability) and self.kind != "index":
            raise ValueError(f"view option {self.key!r}: only an index takes its range from an axis or a capability")
        if self.capability:
            check_need(self.capability)
        if self.kind == "choice" and not self.choices:
            raise ValueError(f"view option {self.key!r}: a choice needs its choices")
        if self.kind == "choice" and self.default not in self.choices:
            raise ValueError(f"view option {self.key!r}: default {self.default!r} is not one of {self.choices}")
        if self.kind == "index" and not (isinstance(self.default, int) and self.default >= 0):
            raise ValueError(f"view option {self.key!r}: an index's default is an int >= 0, got {self.default!r}")

    @property
    def control(self) -> bool:
        """Whether the dashboard shows a control for it (an index or a choice)."""
        return self.kind != "value"

    def parse(self, text: str) -> int | str:
        """A value typed on the command line, as the renderer takes it; ValueError saying what is expected."""
        if self.kind == "index":
            if not re.fullmatch(r"[+-]?[0-9]{1,18}", text.strip(), re.ASCII):
                raise ValueError(f"expected an integer (plain decimal digits), got {text!r}")
            if int(text) < 0:
                raise ValueError(f"expected an index >= 0, got {text!r}")
            return int(text)
        if self.kind == "choice" and text not in self.choices:
            raise ValueError(f"expected one of {', '.join(self.choices)}, got {text!r}")
        return text


@dataclass(frozen=True)
class ViewGroup:
    """A group of views as a page shows it: title, place, and whether it starts expanded."""

    gid: str  # what views name in `register_view(group=...)`
    title: str
    order: int = 50  # its place among the groups, lower first (undeclared groups follow, titled from their id)
    open: bool = False  # expanded on first load


OptionLike = Union[ViewOption, str]  # a bare name declares a pass-through ("value") option


def _as_option(option: OptionLike) -> ViewOption:
    return option if isinstance(option, ViewOption) else ViewOption(option, option, kind="value", default=None)


@dataclass(frozen=True)
class ViewSpec:
    name: str
    scope: Literal["epoch", "trajectory"]  # per-epoch artifact vs. whole-run summary
    sources: tuple[str, ...]  # analyzer names, or "metrics"
    render: Callable
    description: str
    options: tuple[ViewOption, ...] = ()  # the keyword options the renderer accepts
    needs: tuple[str, ...] = ()  # family capabilities it needs beyond its sources' (workbench.core.capabilities)
    group: str = "other"  # the dashboard group it sits in
    order: int = 50  # its place in the group, lower first
    wide: bool = False  # spans both columns of the group's grid
    click: str | None = None  # what clicking one of its points selects: "epoch", an option's key, or None
    epoch_x: bool = False  # a trajectory whose x axis is the epoch (the dashboard marks the current one)
    repaint: Callable | None = None  # (arrays, old options, new options) -> Repaint | None; see the module doc
    pin: Callable | None = None  # (arrays at the last analyzed checkpoint) -> options fixed for the run
    replaces: tuple[str, ...] = ()  # views it shows in full: a page showing it leaves those out (`drop_replaced`)

    def option(self, name: str) -> ViewOption | None:
        """The declaration of the renderer keyword `name`, or None if the view takes no such option."""
        return next((o for o in self.options if o.name == name), None)


_VIEWS: Registry[ViewSpec] = Registry("view", "workbench.views")  # view name -> ViewSpec
_OPTIONS: dict[str, ViewOption] = {}  # option key -> its one declaration, shared by every view that takes it
_GROUPS: dict[str, ViewGroup] = {}  # group id -> its declaration


def _check_options(name: str, options: tuple[ViewOption, ...], click: object) -> None:
    """Option names unique in the view, one declaration per key across views, a click that names a key."""
    names = [o.name for o in options]
    if len(set(names)) != len(names):
        raise ValueError(f"view {name!r}: an option is declared twice in {names}")
    for o in options:
        known = _OPTIONS.get(o.key)
        if known is not None and known != o:
            raise ValueError(f"view {name!r}: option key {o.key!r} is declared differently by another view "
                             f"({known} vs {o}); share one declaration, or give another meaning another key")
    if click is not None and not (isinstance(click, str) and (click == "epoch" or _NAME.fullmatch(click))):
        raise ValueError(f"view {name!r}: click must be 'epoch', an option's key or None, got {click!r}")


def register_view(name: str, *, scope: Literal["epoch", "trajectory"], sources: tuple[str, ...],
                  options: tuple[OptionLike, ...] = (), needs: tuple[str, ...] = (), group: str = "other",
                  order: int = 50, wide: bool = False, click: ViewOption | str | None = None,
                  epoch_x: bool | None = None, repaint: Callable | None = None, pin: Callable | None = None,
                  replaces: tuple[str, ...] = ()):
    """Decorator registering a renderer as a view; its docstring's first line describes it.

    `options` declares the keywords the renderer takes (a `ViewOption` each; a bare name is a
    pass-through option). `click` is "epoch", an option (or its key) whose control a click on
    a point sets (customdata[0]), or None. `epoch_x` defaults to True for trajectories
    (x = epoch) and must stay False for per-epoch views. `replaces` names views whose every
    curve this one also draws (e.g. loss and accuracy inside a 2x2 of training curves): a page
    that shows this view leaves them out rather than show the same curves twice.
    """
    needs = tuple(check_need(n) for n in needs)
    options = tuple(_as_option(o) for o in options)
    click = click.key if isinstance(click, ViewOption) else click
    epoch_x = scope == "trajectory" if epoch_x is None else epoch_x
    if epoch_x and scope != "trajectory":
        raise ValueError(f"view {name!r}: only a trajectory view has the epoch on its x axis")
    if (repaint or pin) and (scope != "epoch" or len(sources) != 1):
        raise ValueError(f"view {name!r}: repaint and pin are for per-epoch views of one source")
    _check_options(name, options, click)

    def wrap(fn: Callable) -> Callable:
        doc = (fn.__doc__ or "").strip().splitlines()
        _VIEWS.add(name, ViewSpec(name, scope, tuple(sources), fn, doc[0] if doc else "", options, needs,
                                  group, order, wide, click, epoch_x, repaint, pin, tuple(replaces)))
        for o in options:
            _OPTIONS.setdefault(o.key, o)
        return fn

    return wrap


def list_views(scope: str | None = None) -> list[str]:
    return _VIEWS.list_(lambda v: scope is None or v.scope == scope)


def get_view(name: str) -> ViewSpec:
    return _VIEWS.get(name)


def register_group(gid: str, title: str, *, order: int = 50, open: bool = False) -> ViewGroup:
    """Declare a group of views (its title, place and first state); an id declared twice is an error."""
    if gid in _GROUPS:
        raise ValueError(f"duplicate view group {gid!r}")
    _GROUPS[gid] = ViewGroup(gid, title, order, open)
    return _GROUPS[gid]


def list_groups() -> dict[str, ViewGroup]:
    """Every declared group by id, in page order."""
    list_views()  # loads the view plugins, which declare their groups
    return dict(sorted(_GROUPS.items(), key=lambda item: item[1].order))


def list_options(control: bool | None = None) -> dict[str, ViewOption]:
    """Every declared view option by key, in the order views declared them (`control`: only those
    with (True) or without (False) a dashboard control)."""
    list_views()  # loads the view plugins
    return {k: o for k, o in _OPTIONS.items() if control is None or o.control == control}


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


def drop_replaced(views: list[str]) -> list[str]:
    """`views` without those that another of them replaces (`register_view(replaces=...)`): what a
    page shows, so that no curve appears in two panels."""
    gone = {r for v in views for r in get_view(v).replaces}
    return [v for v in views if v not in gone]
