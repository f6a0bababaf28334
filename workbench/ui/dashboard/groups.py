"""The explore page's groups: which views sit together, and what each panel depends on.

Every view declares its place (`register_view(group=..., order=..., wide=..., click=...)`)
and plugins declare their groups' titles, page order and first state (`register_group`),
so a new view or group appears on the page without an edit here; a group a view names
that nobody declared follows the declared ones, titled from its id. Groups pair a summary
with its detail (e.g. a scatter of units next to one unit's heatmap). What a panel
follows decides which controls re-render it: the epoch for a per-epoch view, and the
controls of the options its view declares, so scrubbing the epoch never re-renders a
trajectory and changing an option re-renders only the panels that take it.
"""

from __future__ import annotations

from dataclasses import dataclass

from workbench.core.view import get_view, list_groups, list_views

__all__ = ["Panel", "Group", "GROUPS", "PANELS", "panel_id", "build_groups"]


@dataclass(frozen=True)
class Panel:
    view: str
    per_epoch: bool  # it shows one checkpoint (else the whole run: the epoch never re-renders it)
    options: tuple[str, ...] = ()  # the keys of the controls it follows (its view's declared options)
    click: str | None = None  # what clicking a point selects: "epoch" or a control's key
    wide: bool = False  # spans both columns of the group grid
    epoch_x: bool = False  # a trajectory whose x axis is the epoch (carries the current-epoch marker)


@dataclass(frozen=True)
class Group:
    gid: str
    title: str
    panels: tuple[Panel, ...]
    open: bool = False  # expanded on first load


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
        groups.append(Group(gid, title, tuple(Panel(s.name, s.scope == "epoch", tuple(o.key for o in s.options
                                                                                        if o.control),
                                                     s.click, s.wide, s.epoch_x) for s in members), is_open))
    return tuple(groups)


GROUPS: tuple[Group, ...] = build_groups(list_views())
PANELS: dict[str, tuple[Group, Panel]] = {p.view: (g, p) for g in GROUPS for p in g.panels}  # view -> place


def panel_id(view: str) -> str:
    """The dcc.Graph id of a view's panel."""
    return f"fig-{view}"
