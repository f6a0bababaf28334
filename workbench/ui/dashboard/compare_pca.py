"""The compare page's "shared PCA basis" panel: the selected runs' parameter trajectories on one basis.

With "group by: seed groups" every selected run's param_snapshot path is projected on one
PCA basis fitted to all of them (`workbench.query.shared_paths`: the group_trajectories
artifact where current, else computed the same way), drawn on PC2/PC3 (PC1 is mostly the
drift of the weights' norm; this is the plane the loop geometry reads), coloured by seed
group, with a circle at each run's first checkpoint, a square at its last and an × where
its path crosses itself. Runs of another parameter count get their own basis (a second
plot); runs without snapshots are named with the command that makes them.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from dash import dcc, html
from plotly.subplots import make_subplots

from workbench.core.errors import UserError
from workbench.query.shared_paths import Basis, SharedPaths, shared_paths
from workbench.store import RunKey, Store
from workbench.query.bands import rgba
from workbench.ui.dashboard.compare_groups import Grouping
from workbench.ui.dashboard.labels import short_labels

__all__ = ["pca_children", "pca_figure", "NOTE"]

NOTE = ("One PCA basis fitted to every selected run's parameter snapshots together, so loop sizes and "
        "self-intersections compare across runs (each run's own PCA would give it its own axes and scale). "
        "Drawn on PC2/PC3; ○ first checkpoint, □ last, × where a run's path crosses itself. It is meaningful for "
        "runs that share the model seed: runs of different model seeds move in nearly orthogonal directions of "
        "weight space (|cos| ≤ 0.006 between five p=53 seeds). Even with one model seed, runs on different data "
        "part ways (the p=17 MLP's runs over 3 data seeds × 2 fractions: cos 0.15–0.21 between their "
        "displacements), so the leading components can each belong mostly to one run.")


def _group_of(grouping: Grouping) -> dict[RunKey, int]:
    return {k: i for i, keys in enumerate(grouping.keys) for k in keys}


def _axis(basis: Basis, pc: int) -> str:
    return f"PC{pc + 1} ({100 * basis.explained[pc]:.1f}% of variance)"


def _draw_basis(fig: go.Figure, basis: Basis, col: int, grouping: Grouping, labels: dict, shown: set) -> None:
    group = _group_of(grouping)
    for run in basis.runs:
        i = group.get(run.key, 0)
        colour, name = grouping.colour(i), grouping.names[i] if i < len(grouping.names) else labels.get(run.key, "")
        first = name not in shown
        shown.add(name)
        x, y = run.scores[:, 1], run.scores[:, 2]
        text = [f"{labels.get(run.key, '')}<br>epoch {int(e)}" for e in run.epochs]
        fig.add_scatter(x=x, y=y, mode="lines+markers", line={"color": rgba(colour, 0.8), "width": 1.5},
                        marker={"size": 3}, name=name, legendgroup=name, showlegend=first, text=text,
                        hovertemplate="%{text}<extra></extra>", row=1, col=col)
        fig.add_scatter(x=[x[0], x[-1]], y=[y[0], y[-1]], mode="markers", showlegend=False, legendgroup=name,
                        marker={"color": colour, "size": 9, "symbol": ["circle-open", "square"]}, hoverinfo="skip",
                        row=1, col=col)
        if len(run.crossing_points):
            where = [f"{labels.get(run.key, '')} crosses itself<br>epochs {int(a)} and {int(b)}"
                     for a, b in run.crossing_epochs]
            fig.add_scatter(x=run.crossing_points[:, 0], y=run.crossing_points[:, 1], mode="markers", text=where,
                            marker={"symbol": "x", "size": 11, "color": colour, "line": {"width": 1, "color": "#222"}},
                            showlegend=False, legendgroup=name, hovertemplate="%{text}<extra></extra>", row=1, col=col)
    fig.update_xaxes(title_text=_axis(basis, 1), row=1, col=col)
    fig.update_yaxes(title_text=_axis(basis, 2), row=1, col=col)


def pca_figure(paths: SharedPaths, grouping: Grouping) -> go.Figure:
    """One PC2/PC3 plot per basis (parameter space), runs coloured by group, crossings marked ×."""
    labels = short_labels([r.key for b in paths.bases for r in b.runs])
    titles = [f"{len(b.runs)} runs on one basis ({'the group_trajectories artifact' if b.source == 'artifact' else 'computed here'})"
              for b in paths.bases]
    fig = make_subplots(rows=1, cols=max(1, len(paths.bases)), subplot_titles=titles or None)
    shown: set = set()
    for col, basis in enumerate(paths.bases, start=1):
        _draw_basis(fig, basis, col, grouping, labels, shown)
    fig.update_layout(template="plotly_white", height=460, margin=dict(l=60, r=10, t=50, b=40),
                      legend=dict(orientation="h", y=-0.18), title="Parameter trajectories on a shared PCA basis")
    return fig


def _loop_lines(paths: SharedPaths, labels: dict) -> list:
    """'p=17 data_seed=0: crosses itself 2x (first at epochs 4000/12000), loop area / length 0.031'."""
    out = []
    for basis in paths.bases:
        for run in basis.runs:
            n = len(run.crossing_epochs)
            where = f" (first at epochs {int(run.crossing_epochs[0][0])}/{int(run.crossing_epochs[0][1])})" if n else ""
            area = "n/a" if np.isnan(run.area_per_length) else f"{run.area_per_length:.3g}"
            out.append(f"{labels[run.key]}: {'crosses itself ' + str(n) + 'x' + where if n else 'no self-crossing'}, "
                       f"loop area / path length {area}")
    return out


def pca_children(store: Store, grouping: Grouping | None) -> list:
    """The panel (title, figure, per-run loop geometry, runs left out), or nothing when not grouped by seeds."""
    if grouping is None:
        return []
    keys = [k for keys in grouping.keys for k in keys]
    body: list = [html.H3("Shared PCA basis"), html.Div(NOTE, className="compare-msg")]
    try:
        paths = shared_paths(store, keys)
    except UserError as err:  # a damaged snapshot: say so here, keep the group table above
        return [html.Div([*body, html.Div(f"not drawn: {err}", className="compare-msg")], className="panel",
                         id="compare-pca-panel")]
    labels = short_labels(keys)
    if paths.bases:
        body.append(dcc.Graph(id="compare-shared-pca", figure=pca_figure(paths, grouping),
                              config={"displaylogo": False, "responsive": True}, style={"height": "460px"}))
        body += [html.Details([html.Summary("loop geometry per run (PC2/PC3, basis units)"),
                               *[html.Div(line) for line in _loop_lines(paths, labels)]], className="compare-msg")]
    body += [html.Div(f"{labels[k]}: not on the basis: {why}", className="compare-msg") for k, why in paths.left_out.items()]
    return [html.Div(body, className="panel", id="compare-pca-panel")]
