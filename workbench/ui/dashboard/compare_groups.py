"""The compare page's "group by" control: selected runs drawn and tabulated as seed groups.

With "group by: seed groups" the selected runs that differ only in seed params
(`workbench.query.groups`) become one group each; a run in no finished group (still
training, unreadable) stands alone. Every overlay then draws a group as its mean line with
a band (min–max or the 95% interval of the mean; `bands`), optionally with the runs' thin
lines, and the turn of each run as a rug with the group's range. The group table gives
mean ± std [95% interval] per quantity and marks each group against the first one with
`workbench.query.stats.compare`: Welch's t and an exact permutation test over the seeds,
"differs" only when both p < 0.05; its last row names each group's outliers
(`workbench.query.outliers`: beyond max(3, the 95% normal null) MAD spreads from the median).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import plotly.graph_objects as go
from dash import dcc, html

from workbench.query.group_listing import group_names
from workbench.query.groups import Group, group_rows
from workbench.query.group_compare import NOTE, QUANTITIES, comparison_table
from workbench.store import RunKey, Store
from workbench.store.index import run_rows
from workbench.query.bands import BANDS, add_group, add_rug
from workbench.ui.dashboard.labels import PALETTE, short_labels
from workbench.ui.dashboard.pages import StateField

__all__ = ["STATE", "Grouping", "grouping_of", "controls", "draw_groups", "group_table_children", "QUANTITIES"]

STATE = (StateField("group", "compare-group", choices=("runs", "seeds"), default="runs"),
         StateField("band", "compare-band", choices=tuple(BANDS), default="minmax"),
         StateField("thin", "compare-thin", kind="list"))  # what of the grouping the URL holds


@dataclass(frozen=True)
class Grouping:
    """Selected runs as groups, and how to draw them."""

    names: list[str]
    keys: list[list[RunKey]]  # per group, its runs
    groups: list[Group | None]  # per group, its statistics (None for a run standing alone)
    band: str = "minmax"
    runs: bool = False

    def colour(self, i: int) -> str:
        return PALETTE[i % len(PALETTE)]


def grouping_of(store: Store, keys: list[RunKey], group: object, band: object, thin: object) -> Grouping | None:
    """The selection as seed groups (in selection order), or None unless `group` is "seeds" (values untrusted)."""
    if group != "seeds" or not keys:
        return None
    wanted = set(keys)
    rows = [r for r in run_rows(store) if RunKey(r["family"], r["variant"]) in wanted]
    found, outside = group_rows(rows)
    by_spec = {r["spec"]: RunKey(r["family"], r["variant"]) for r in rows if r.get("spec")}
    members = [[by_spec[s] for s in g.runs] for g in found]
    alone = [k for k in keys if not any(k in m for m in members)]
    order = sorted(range(len(found)), key=lambda i: keys.index(members[i][0]))
    labels = short_labels(alone) if alone else {}
    return Grouping([group_names(found)[i] for i in order] + [labels[k] for k in alone],
                    [members[i] for i in order] + [[k] for k in alone], [found[i] for i in order] + [None] * len(alone),
                    band if band in BANDS else "minmax", isinstance(thin, list) and "runs" in thin)


def controls() -> html.Div:
    """The group-by, band and thin-lines controls."""
    return html.Div(className="compare-group-controls", style={"marginTop": "6px"}, children=[
        html.Span("group by: "),
        dcc.RadioItems(id="compare-group", value="runs", inline=True, style={"display": "inline-block"},
                       options=[{"label": " each run  ", "value": "runs"},
                                {"label": " seed groups (runs differing only in seeds)  ", "value": "seeds"}]),
        html.Span("   band: "),
        dcc.RadioItems(id="compare-band", value="minmax", inline=True, style={"display": "inline-block"},
                       options=[{"label": f" {label}  ", "value": kind} for kind, label in BANDS.items()]),
        dcc.Checklist(id="compare-thin", value=[], inline=True, style={"display": "inline-block"},
                      options=[{"label": " the runs' thin lines", "value": "runs"}]),
    ])


def draw_groups(fig: go.Figure, grouping: Grouping, xy_of: Callable[[RunKey], tuple | None], log_y: bool,
                turn_of: Callable[[RunKey], float | None] | None = None) -> list[RunKey]:
    """Each group's band/mean/thin lines on `fig` (and its turns as a rug when `turn_of`); the runs without data."""
    missing = []
    for i, (name, keys) in enumerate(zip(grouping.names, grouping.keys)):
        series = []
        for key in keys:
            xy = xy_of(key)
            series.append(xy) if xy is not None else missing.append(key)
        add_group(fig, name, grouping.colour(i), series, band=grouping.band, runs=grouping.runs, log_y=log_y)
        turns = [t for t in (turn_of(k) for k in keys) if t is not None] if turn_of else []
        add_rug(fig, grouping.colour(i), turns, row=i)
    return missing


def group_table_children(grouping: Grouping | None) -> list:
    """The group table: per quantity, each group's spread and each later group against the first."""
    if grouping is None:
        return []
    head, body = comparison_table(grouping.names, [len(k) for k in grouping.keys], grouping.groups)
    return [html.H3("Seed groups"),
            html.Table([html.Thead(html.Tr([html.Th(h) for h in head])),
                        html.Tbody([html.Tr([html.Td(c) for c in row]) for row in body])],
                       className="preset-table", id="compare-group-table"),
            html.Div(NOTE, className="compare-msg")]
