"""The explore page's components: its controls in the sidebar and the groups of panels.

Every id that a callback uses is created here, and `STATE` says which of them the URL
holds. The slider's value is a position in the run's list of checkpoint epochs (kept in
the `epochs` store), so dragging and the arrow keys always land on a checkpoint. The option
controls come from the views' declarations (`options.py`).
"""

from __future__ import annotations

from dash import dcc, html

from workbench.store import Store
from workbench.ui.dashboard import curves, data, live, options, playback
from workbench.ui.dashboard.groups import GROUPS, PANELS, Group, panel_id
from workbench.ui.dashboard.labels import family_colour, full_label, short_labels
from workbench.ui.dashboard.pages import Site, StateField

__all__ = ["FORMATS", "GRAPH_CONFIG", "STATE", "panel_class", "lone_views", "variant_options", "sidebar", "explore_page",
           "store_problem"]

FORMATS = ("png", "svg", "html")  # per-figure export formats
GRAPH_CONFIG = {"displaylogo": False, "responsive": True,  # fit the column whenever drawn or resized
                "modeBarButtonsToRemove": ["toImage"]}  # it saves 'newplot.png'; the panel's buttons name files
# before its first draw a panel holds the room a figure takes, so the page does not jump as panels
# draw, and the panels counted as on screen at load are about those that stay there
_BLANK = {"data": [], "layout": {"xaxis": {"visible": False}, "yaxis": {"visible": False}, "height": 420,
                                 "margin": {"l": 0, "r": 0, "t": 0, "b": 0}}}
# what of the explore page the URL holds, in the query's order
STATE = (StateField("variant", "variant"), StateField("epoch", "epoch", kind="epoch", positions="epochs"),
         *options.state_fields(), *curves.STATE, StateField("groups", "groups", "data", kind="csv"))


def panel_class(view: str, empty: bool = False, lone: bool = False) -> str:
    """The panel's CSS classes: its width (`lone`: a half-width panel alone in its row spans it),
    whether it follows the epoch, whether it shows a message."""
    panel = PANELS[view][1]
    classes = ["panel", "per-epoch" if panel.per_epoch else "trajectory"]
    return " ".join(classes + (["wide"] if panel.wide else []) + (["lone"] if lone and not panel.wide else [])
                    + (["empty"] if empty else []))


def lone_views(shown: list[str]) -> set[str]:
    """The half-width panels left alone in their row of two when only the views `shown` are on the
    page: each group's odd one out before a wide panel or at the group's end."""
    lone = set()
    for group in GROUPS:
        pending = None  # a half-width panel waiting for a partner in its row
        for panel in (p for p in group.panels if p.view in shown):
            if panel.wide:
                lone |= {pending} if pending else set()
                pending = None
            else:
                pending = None if pending else panel.view
        lone |= {pending} if pending else set()
    return lone


def variant_options(store: Store) -> list[dict]:
    """Picker options grouped by family (a coloured badge each), labelled with only the parameters
    that differ within the family; the search matches family, label and full spec, the full spec
    is the tooltip (`title`, also shown under the picker)."""
    keys = sorted(store.runs(), key=lambda k: k.family)  # stable: each family keeps the store's order
    labels = short_labels(keys)
    out = []
    for k in keys:
        short = labels[k].removeprefix(f"{k.family}: ") if labels[k] != k.family else "(its only run)"
        badge = {"background": family_colour(k.family, [r.family for r in keys])}
        label = html.Span([html.Span(k.family, className="fam-badge", style=badge),
                           html.Span(short, className="run-label")], title=full_label(k), className="pick")
        out.append({"label": label, "value": data.variant_id(k), "title": full_label(k),
                    "search": f"{k.family} {short} {k.variant}"})
    return out


def store_problem(store: Store) -> str | None:
    """What is wrong with the store and what to run, or None when it has runs."""
    root = store.root
    if not root.exists():
        return (f"The store {root} does not exist. Start the dashboard with --store DIR pointing at a store "
                f"(default: $WORKBENCH_STORE or ./artifacts), or train into this one: "
                f"workbench demo --store {root}")
    if not store.runs():
        return f"The store {root} has no runs yet. Train and analyze one: workbench demo --store {root}"
    return None


def _panel(view: str) -> html.Div:
    tools = [html.Button(fmt.upper(), id={"type": "export", "view": view, "fmt": fmt}, className="export",
                         title=f"download this figure as {fmt.upper()}", n_clicks=0) for fmt in FORMATS]
    if PANELS[view][1].per_epoch:  # the CLI's `render --epochs A:B --out f.gif`, over every analyzed checkpoint
        tools.append(html.Button("GIF", id={"type": "export", "view": view, "fmt": "gif"}, className="export",
                                 title="download this view animated over the run's analyzed checkpoints (GIF)",
                                 n_clicks=0))
    return html.Div(id=f"panel-{view}", className=panel_class(view), title=view, children=[
        html.Div(tools, className="panel-tools"),
        html.Div(id=f"msg-{view}", className="panel-msg"),
        dcc.Graph(id=panel_id(view), config=GRAPH_CONFIG, figure=_BLANK),
    ])


def _group(group: Group, is_open: bool) -> html.Div:
    return html.Div(id=f"group-{group.gid}", className="group open" if is_open else "group closed", children=[
        html.Button(group.title, id=f"toggle-{group.gid}", className="group-head", n_clicks=0),
        html.Div([_panel(p.view) for p in group.panels], className="group-body"),
    ])


def _control(label: str, *children) -> html.Div:
    return html.Div([html.Label(label), *children], className="control")


def sidebar(site: Site) -> html.Div:
    """The explore page's part of the sidebar: variant, epoch, the option controls, batch export."""
    picks = variant_options(site.store)
    first = data.default_run(site.store)
    return html.Div([
        _control("Variant", dcc.Dropdown(id="variant", options=picks, clearable=False, optionHeight=34,
                                         maxHeight=10 * 46, placeholder="search runs…",  # ~10 runs (46 px each) visible
                                         value=data.variant_id(first) if first else None),
                 html.Div(id="variant-readout", className="readout spec")),
        _control("Epoch", dcc.Slider(id="epoch", min=0, max=0, step=1, marks={}, value=0, included=False,
                                     updatemode="mouseup"),
                 playback.controls(),
                 html.Div(id="epoch-readout", className="readout"),
                 *live.components(),
                 html.Div("rendering…", id="busy-note", className="busy-note")),
        *[options.control(o) for o in options.CONTROLS],
        curves.controls(),
        html.Div("Click a point on a trajectory to jump to its epoch.", className="readout"),
        playback.hint(),
        _control("Export open panels", html.Div(
            [html.Button(fmt.upper(), id=f"export-all-{fmt}", className="export", n_clicks=0,
                         title=f"download every open panel as {fmt.upper()}") for fmt in FORMATS]),
                 html.Div(id="gif-note", className="readout")),
        dcc.Store(id="epochs", data={"vid": None, "epochs": [], "turn": None}),
        dcc.Store(id="option-ranges", data={}),  # the selected run's range per option control (options.ranges)
        dcc.Store(id="groups", data=[g.gid for g in GROUPS if g.open]),
        dcc.Store(id="drawn", data={}),
        dcc.Store(id="visible", data=None),  # panel views on screen (the browser's IntersectionObserver)
        dcc.Store(id="export-pending", data=None),  # a batch export waiting for every open panel to be drawn
        dcc.Store(id="marker-epoch"),
        playback.overlay(),
    ])


def explore_page(site: Site) -> html.Div:
    """Every group of panels; which are open comes from the `groups` store."""
    return html.Div(id="panels", className="", children=[_group(g, g.open) for g in GROUPS])
