"""The explore page's groups: which views sit together, and what each panel depends on.

Every view declares its place (`register_view(group=..., order=..., wide=..., click=...)`)
and plugins declare their groups' titles, page order and first state (`register_group`),
so a new view or group appears on the page without an edit here; a group a view names
that nobody declared follows the declared ones, titled from its id. Groups pair a
summary with its detail (e.g. neuron clusters next to one neuron's heatmap). A panel's
`deps` decide which controls re-render it, so scrubbing the epoch never re-renders a
trajectory and picking a neuron re-renders only the heatmap.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from workbench.core.view import get_view, list_groups, list_views

__all__ = ["Panel", "Group", "GROUPS", "PANELS", "panel_id", "build_groups"]

Deps = Literal["trajectory", "epoch", "neuron", "head"]  # trajectory: no epoch; neuron/head: epoch + that

@dataclass(frozen=True)
class Panel:
    view: str
    deps: Deps
    click: str | None = None  # what clicking a point selects: "epoch" or an option's key
    wide: bool = False  # spans both columns of the group grid
    epoch_x: bool = False  # a trajectory whose x axis is the epoch (carries the current-epoch marker)


@dataclass(frozen=True)
class Group:
    gid: str
    title: str
    panels: tuple[Panel, ...]
    open: bool = False  # expanded on first load


def _deps(view) -> Deps:
    if view.scope == "trajectory":
        return "trajectory"
    names = {o.name for o in view.options}
    return "neuron" if "neuron" in names else "head" if "head" in names else "epoch"


def build_groups(views: list[str]) -> tuple[Group, ...]:
    """The page's groups for `views`, from each view's declared group, order and panel settings."""
    specs = [get_view(v) for v in views]
    declared = list_groups()
    gids = [g for g in declared if any(s.group == g for s in specs)]
    gids += list(dict.fromkeys(s.group for s in specs if s.group not in declared))
    groups = []
    for gid in gids:
        members = sorted((s for s in specs if s.group == gid), key=lambda s: s.order)
        known = declared.get(gid)
        title, is_open = (known.title, known.open) if known else (gid.replace("_", " ").capitalize(), False)
        groups.append(Group(gid, title, tuple(Panel(s.name, _deps(s), s.click, s.wide, s.epoch_x)
                                               for s in members), is_open))
    return tuple(groups)


GROUPS: tuple[Group, ...] = build_groups(list_views())
PANELS: dict[str, tuple[Group, Panel]] = {p.view: (g, p) for g in GROUPS for p in g.panels}  # view -> place


def panel_id(view: str) -> str:
    """The dcc.Graph id of a view's panel."""
    return f"fig-{view}"
