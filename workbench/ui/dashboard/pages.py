"""The dashboard's page registry: page name -> Page (its path, title, layout and callbacks).

A page is one file that declares itself with `register_page(Page(...))`; the app builds
its shell from the registry: the navigation links, which page a path shows, the sidebar
part each page brings, the URL query every page's state is written to and read from, and
a click on a table row that names a run. The built-in pages (explore, compare, runs) are
imported by `workbench.ui.dashboard.app`; a study's package adds one through the
`workbench.pages` entry point (its module calls `register_page`), with no edit here.

    register_page(Page("notes", "/notes", "Notes", layout=notes_layout, callbacks=notes_callbacks, order=40))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Literal

from workbench.core.registry import Registry
from workbench.store import Store

__all__ = ["Site", "StateField", "Page", "register_page", "list_pages", "get_page", "page_at", "state_fields"]


@dataclass(frozen=True)
class Site:
    """What every page is built for: the store it serves, whether it may start jobs, and the
    server's launch token its pages send back (None when it may not)."""

    store: Store
    launch: bool = False
    token: str | None = None


@dataclass(frozen=True)
class StateField:
    """One entry of the URL query: which component property it mirrors, and how it reads.

    kind: "str" (one value; `choices` limit it), "int" (one whole number >= 0), "epoch" (the
    value is a slider position; the query holds the epoch there, from the dcc.Store
    `positions`, whose data["epochs"] lists them), "csv" (a list, one comma-separated entry)
    or "list" (a list, the entry repeated).
    """

    key: str  # the query's key
    component: str  # the component id
    prop: str = "value"  # its property
    kind: Literal["str", "int", "epoch", "csv", "list"] = "str"
    choices: tuple[str, ...] = ()
    positions: str | None = None  # kind "epoch": the store listing the epoch at each position
    default: object = None  # a value the query leaves out (reading it back gives the same)


@dataclass(frozen=True)
class Page:
    name: str  # "explore": ids derive from it (page-<name>, nav-<name>, <name>-controls)
    path: str  # "/compare": the URL path that shows it ("/" is also where unknown paths go)
    title: str  # the navigation link's text
    layout: Callable[[Site], object]  # the page's body (a Dash component)
    callbacks: Callable[[object, Site], None] = lambda app, site: None  # attaches its callbacks to the app
    sidebar: Callable[[Site], object] | None = None  # its controls in the sidebar, shown only with the page
    state: tuple[StateField, ...] = ()  # what of it the URL holds
    run_tables: tuple[str, ...] = ()  # ids of its tables whose row ids are runs: a click opens that run
    order: int = 50  # its place in the navigation, lower first


_PAGES: Registry[Page] = Registry("page", "workbench.pages")  # page name -> Page


def register_page(page: Page) -> Page:
    """Add a page to the dashboard; a name or path already taken is an error."""
    if not page.path.startswith("/"):
        raise ValueError(f"page {page.name!r}: its path must start with '/', got {page.path!r}")
    taken = next((p.name for p in _PAGES.registered().values() if p.path == page.path), None)
    if taken is not None:
        raise ValueError(f"page {page.name!r}: path {page.path!r} is already page {taken!r}'s")
    keys = [f.key for p in _PAGES.registered().values() for f in p.state]
    clash = sorted({f.key for f in page.state} & set(keys))
    if clash:
        raise ValueError(f"page {page.name!r}: URL keys {clash} are already another page's")
    return _PAGES.add(page.name, page)


def list_pages() -> list[Page]:
    """Every page, in navigation order."""
    return sorted((_PAGES.get(n) for n in _PAGES.list_()), key=lambda p: p.order)


def get_page(name: str) -> Page:
    return _PAGES.get(name)


def page_at(pathname: object) -> Page:
    """The page a URL path shows: the one registered at it, else the one at "/" (else the first)."""
    pages = list_pages()
    return (next((p for p in pages if p.path == pathname), None) if isinstance(pathname, str) else None) or \
        next((p for p in pages if p.path == "/"), pages[0])


def state_fields() -> list[StateField]:
    """Every page's URL fields, in navigation order."""
    return [f for p in list_pages() for f in p.state]
