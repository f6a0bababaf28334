"""The compare page: overlay several variants' trajectories and tabulate every variant.

Trajectories are aligned at the raw epoch or at each variant's detected turn (x = epoch
minus turn epoch), which is what makes runs with different grokking times comparable.
The overlays are built here from metrics and summary arrays: they are not views of one
run, so they have no place in the per-run view registry. The panels are test loss and
accuracy plus the trajectories analyzers declare (`register_analyzer(trajectories=...)`); the table's
columns beyond the fixed ones are the headlines they declare. Beyond the fixed panels, any
column of the selected runs' metrics tables can be overlaid (e.g. a family's extra
metrics), and a family's presets (`workbench.query.presets`) line up related runs
with their metrics and a table of final values.
"""

from __future__ import annotations

import logging
import math
from typing import Callable

import numpy as np
import plotly.graph_objects as go
from dash import Input, Output, State, dash_table, dcc, html, no_update

from workbench.core.analyzer import get_analyzer, list_analyzers
from workbench.core.errors import UserError
from workbench.query import presets
from workbench.store import RunKey, Store
from workbench.store.index import run_rows
from workbench.ui.dashboard import compare_groups, compare_pca, compare_side, data, preset_spread
from workbench.ui.dashboard.compare_groups import Grouping, draw_groups, grouping_of
from workbench.ui.dashboard.labels import colours, full_label, short_labels
from workbench.ui.dashboard.layout import variant_options
from workbench.ui.dashboard.pages import Page, StateField, register_page
from workbench.ui.dashboard.state import parse_state

__all__ = ["METRICS", "trajectory", "overlay_figure", "summary_rows", "table_columns", "layout", "register", "compare_figures",
           "restore", "metric_spec", "metric_options", "extra_panels", "preset_selection", "preset_children",
           "PAGE", "STATE"]

PATH = "/compare"
STATE = (StateField("compare", "compare-variants", kind="list"),
         StateField("align", "compare-align", choices=("epoch", "turn")),
         *compare_groups.STATE, *compare_side.STATE)  # what of the page the URL holds

log = logging.getLogger(__name__)


def _named_column(arrays: dict, table: str, names_key: str, column: str) -> np.ndarray | None:
    """The column of a [epoch, axis] table whose name (in `names_key`) is `column` or ends in '.column'."""
    names = [str(n) for n in arrays.get(names_key, [])]
    hits = [i for i, n in enumerate(names) if n == column or n.endswith("." + column)]
    return arrays[table][:, hits[0]] if hits and table in arrays else None


def _metric(name: str) -> Callable:
    return lambda store, key: (lambda m: (m["epoch"], m[name]) if m and name in m else None)(data.metrics(store, key))


def _summary_series(analyzer: str, pick: Callable[[dict], np.ndarray | None]) -> Callable:
    def load(store: Store, key: RunKey):
        arrays = data.summary(store, key, analyzer)
        ys = pick(arrays) if arrays and "epochs" in arrays else None
        return (arrays["epochs"], ys) if ys is not None else None

    return load


def _declared_series(analyzer: str, output: str, column: str | None) -> Callable:
    """Loader of a trajectory an analyzer declares (`register_analyzer(trajectories=...)`)."""
    if column is None:
        return _summary_series(analyzer, lambda a: a.get(output))
    axis = get_analyzer(analyzer).outputs[output][1]
    return _summary_series(analyzer, lambda a: _named_column(a, output, f"{axis}_names", column))


def _metrics() -> dict[str, tuple[str, bool, Callable, str]]:
    """The fixed panels: test loss and accuracy, then every trajectory analyzers declare."""
    out = {"test_loss": ("Test loss", True, _metric("test_loss"), "train"),
           "test_acc": ("Test accuracy", False, _metric("test_acc"), "train")}
    for name in list_analyzers(scope="summary"):
        for panel, (output, column, title) in get_analyzer(name).trajectories.items():
            out[panel] = (title, False, _declared_series(name, output, column), f"analyze --analyzers {name}")
    return out


# metric id -> (title, log y, loader(store, key) -> (epochs, values) | None, command that makes it)
METRICS: dict[str, tuple[str, bool, Callable, str]] = _metrics()


def metric_spec(metric: str) -> tuple[str, bool, Callable, str]:
    """METRICS' entry, or for any other metrics-table column: (its name, linear y, its loader, "train")."""
    return METRICS.get(metric) or (metric, metric.endswith("loss"), _metric(metric), "train")


def metric_options(store: Store, keys: list[RunKey]) -> list[dict]:
    """The metrics-table columns of `keys` beyond the fixed panels, for the extra-metrics picker."""
    names: dict[str, None] = {}
    for key in keys:
        names.update(dict.fromkeys(n for n in (data.metrics(store, key) or {}) if n != "epoch" and n not in METRICS))
    return [{"label": n, "value": n} for n in names]


def trajectory(store: Store, key: RunKey, metric: str, align: str) -> tuple[np.ndarray, np.ndarray] | None:
    """(x, y) of one variant's metric; x is the epoch, or epoch - turn when align == "turn".

    Returns None if the data is missing, or aligning at the turn and no turn was detected.
    """
    series = metric_spec(metric)[2](store, key)
    if series is None:
        return None
    x, y = np.asarray(series[0], dtype=float), np.asarray(series[1], dtype=float)
    if align == "turn":
        turn = data.turn_epoch(store, key)
        if turn is None:
            return None
        x = x - turn
    return x, y


def _command(key: RunKey, metric: str) -> str:
    step = metric_spec(metric)[3]
    return f"workbench {step.split()[0]} {key.family}:{key.variant}{step[len(step.split()[0]):]}"


def _why(store: Store, key: RunKey, metric: str, align: str) -> str:
    load = metric_spec(metric)[2]
    return "no turn detected" if align == "turn" and load(store, key) is not None else "run: " + _command(key, metric)


def overlay_figure(store: Store, keys: list[RunKey], metric: str, align: str = "epoch",
                   labels: dict | None = None, grouping: Grouping | None = None
                   ) -> tuple[go.Figure, list[tuple[RunKey, str]]]:
    """One metric of several variants on shared axes, each in its own colour (`labels.colours`).

    Args:
        store: the store; keys: validated RunKeys, in selection order; metric: a key of METRICS;
        align: "epoch" or "turn"; labels: legend label per key (default: `short_labels(keys)`);
        grouping: draw seed groups as mean + band instead of one line per run (compare_groups).
    Returns:
        (figure with one line per variant (or group) that has the data, [(key, why it is missing)]).
    """
    title, log_y, load, _ = metric_spec(metric)
    labels = labels or short_labels(keys)
    colour = colours(keys)
    fig, missing = go.Figure(), []
    if grouping is not None:
        turn_of = (lambda k: data.turn_epoch(store, k)) if align == "epoch" else None
        lacking = draw_groups(fig, grouping, lambda k: trajectory(store, k, metric, align), log_y, turn_of)
        missing = [(k, _why(store, k, metric, align)) for k in lacking]
        keys = []  # drawn as groups
    for key in keys:
        xy = trajectory(store, key, metric, align)
        if xy is None:
            missing.append((key, _why(store, key, metric, align)))
            continue
        fig.add_scatter(x=xy[0], y=xy[1], mode="lines", name=labels[key], line={"color": colour[key]},
                        customdata=np.asarray(load(store, key)[0])[:, None],
                        hovertemplate="epoch %{customdata[0]}<br>%{y:.4g}<extra>%{fullData.name}</extra>")
    fig.update_layout(title=title, margin=dict(l=50, r=10, t=40, b=40), legend=dict(orientation="h", y=-0.2),
                      xaxis_title="epochs since turn" if align == "turn" else "epoch", template="plotly_white",
                      height=380)
    if log_y:
        fig.update_yaxes(type="log", exponentformat="power")
    if align == "turn":
        fig.add_vline(x=0, line_dash="dash", line_color="#d62728")
    return fig, missing


def _missing_children(metric: str, keys: list[RunKey], missing: list, labels: dict) -> list:
    title = metric_spec(metric)[0]
    if not keys:
        return [html.Div(title, className="msg-title"), html.Div("Pick variants above to compare.")]
    out = [html.Div(f"{title}: not shown for", className="msg-title")] if missing else []
    for key, why in missing:
        reason, _, command = why.partition("run: ")
        out.append(html.Div([html.Span(labels[key] + " ", style={"color": colours(keys)[key], "fontWeight": 600}),
                             html.Span(reason or "no data; run:"), html.Code(command) if command else None]))
    return out


def _fmt(value: object, digits: int = 3) -> str:
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return ""
    return "" if math.isnan(v) else f"{v:.{digits}g}"


def summary_rows(store: Store, keys: list[RunKey]) -> list[dict]:
    """One table row per variant: epochs, turn onset, final accuracies, and every headline
    analyzers declare (`register_analyzer(headlines=...)`, e.g. key frequencies), all from the run
    index (workbench.store.index, kept current with the files)."""
    indexed = {RunKey(r["family"], r["variant"]): r for r in run_rows(store)}
    rows = []
    labels = short_labels(keys)
    for key in keys:
        row = indexed.get(key) or {}
        last = row.get("metrics") or {}
        markers = list((row.get("markers") or {}).values())
        headlines = {name: text.replace(",", ", ") for name, text in (row.get("headlines") or {}).items()
                     if name not in _FIXED}  # a headline never takes a fixed column's place
        rows.append({
            **headlines, "id": data.variant_id(key), "variant": labels[key], "epochs": _fmt(last.get("epoch"), 9),
            "turn": _fmt(markers[0] if markers else None, 9), "train_acc": _fmt(last.get("train_acc")),
            "test_acc": _fmt(last.get("test_acc")),
        })
    return rows


_FIXED = {"variant": "Variant", "epochs": "Epochs", "turn": "Turn onset", "train_acc": "Train acc",
          "test_acc": "Test acc"}  # column id -> title


def table_columns(rows: list[dict]) -> list[dict]:
    """The table's columns: the fixed ones, then each declared headline some row has, in registry order."""
    names = [h for a in list_analyzers() for h in get_analyzer(a).headlines.values()]
    shown = [h for h in dict.fromkeys(names) if h not in _FIXED and any(h in r for r in rows)]
    return [{"id": c, "name": n} for c, n in _FIXED.items()] + [{"id": h, "name": h.replace("_", " ").capitalize()}
                                                       for h in shown]


def layout(store: Store) -> html.Div:
    """The compare page's body."""
    options = variant_options(store)
    panels = [html.Div(id=f"cpanel-{m}", className="panel", children=[
        dcc.Graph(id=f"compare-{m}", config={"displaylogo": False, "responsive": True}, style={"height": "380px"}),
        html.Div(id=f"cmsg-{m}", className="compare-msg")]) for m in METRICS]
    return html.Div(children=[
        html.H2("Compare variants"),
        html.Div([
            dcc.Dropdown(id="compare-variants", options=options, multi=True,
                         value=[o["value"] for o in options[:2]]),
            dcc.RadioItems(id="compare-align", value="epoch", inline=True, style={"marginTop": "6px"},
                           options=[{"label": " raw epoch  ", "value": "epoch"},
                                    {"label": " aligned at each variant's turn", "value": "turn"}]),
            compare_groups.controls(),
            html.Div(className="compare-pickers", children=[
                dcc.Dropdown(id="compare-preset", options=presets.preset_options(store), clearable=True,
                             placeholder="Line up a study's runs (a family's preset)…"),
                dcc.Dropdown(id="compare-metrics", options=[], value=[], multi=True,
                             placeholder="More metrics from the runs' metrics tables…")]),
        ]),
        html.Div(id="compare-preset-table"),
        html.Div(id="compare-group-table"),
        html.Div(id="compare-extra", className="group-body"),  # what was picked comes first
        html.Div(panels, className="group-body"),
        compare_side.section(options),
        html.H3("All variants (click a row to open it; type in the second row to filter)"),
        dash_table.DataTable(
            id="compare-table", columns=table_columns([]), data=[],
            sort_action="native", filter_action="native", tooltip_duration=None,
            style_table={"width": "100%"}, style_header={"whiteSpace": "normal", "fontWeight": 600},
            style_cell={"textAlign": "left", "fontSize": 13, "whiteSpace": "normal", "height": "auto",
                        "overflowWrap": "anywhere", "minWidth": "60px"}),
    ])


def _selected(store: Store, vids: object) -> list[RunKey]:
    """The selected runs, in order; unknown or repeated variant ids (untrusted) are dropped."""
    keys = []
    for vid in vids if isinstance(vids, list) else []:
        try:
            key = data.resolve_variant(store, vid)
        except UserError:
            continue
        if key not in keys:
            keys.append(key)
    return keys


def _panel(metric: str, fig: go.Figure, message: list) -> html.Div:
    return html.Div(className="panel" if fig.data else "panel empty", children=[
        dcc.Graph(figure=fig, config={"displaylogo": False, "responsive": True}, style={"height": "380px"}),
        html.Div(message, className="compare-msg")])


def compare_figures(store: Store, vids: object, align: object, metrics: tuple[str, ...] = tuple(METRICS),
                    grouping: tuple = ()) -> list[tuple[go.Figure, list, str]]:
    """Callback body: (figure, message, panel class) per metric (default: the fixed panels);
    `grouping` is the (group, band, thin) controls' values."""
    keys = _selected(store, vids)
    align = align if align in ("epoch", "turn") else "epoch"
    labels = short_labels(keys)
    groups = grouping_of(store, keys, *grouping) if grouping else None
    out = []
    for metric in metrics:
        fig, missing = overlay_figure(store, keys, metric, align, labels, groups)
        message = _missing_children(metric, keys, missing, labels)
        out.append((fig, message, "panel" if fig.data else "panel empty"))
    return out


def extra_panels(store: Store, vids: object, metrics: object, align: object, grouping: tuple = ()) -> list:
    """One panel per picked metrics-table column that the selected runs have (names are untrusted)."""
    known = {o["value"] for o in metric_options(store, _selected(store, vids))}
    picked = [m for m in metrics if isinstance(m, str) and m in known] if isinstance(metrics, list) else []
    figures = compare_figures(store, vids, align, picked, grouping)
    return [_panel(m, fig, msg) for m, (fig, msg, _) in zip(picked, figures)]


def group_table(store: Store, vids: object, grouping: tuple) -> list:
    """The seed-group table and the shared PCA basis panel of the selection (empty unless grouped by seeds)."""
    groups = grouping_of(store, _selected(store, vids), *grouping)
    return compare_groups.group_table_children(groups) + compare_pca.pca_children(store, groups)


def preset_selection(store: Store, preset_id: object, vids: object) -> tuple:
    """(variant ids, metrics) a preset lines up around the current selection; no_update if none."""
    found = presets.get_preset(preset_id)
    if found is None:
        return no_update, no_update
    family, preset = found
    keys = presets.line_up(store, family, preset, _selected(store, vids))
    return [data.variant_id(k) for k in keys], list(preset.metrics)


def preset_children(store: Store, preset_id: object, vids: object) -> list:
    """The preset's table: final value of each of its metrics per selected run, and its ratios."""
    found = presets.get_preset(preset_id)
    keys = _selected(store, vids)
    if found is None or not keys:
        return []
    family, preset = found
    keys = [k for k in keys if k.family == family]
    if preset.spread:
        name = str(preset_id).partition("/")[2]
        return preset_spread.spread_children(store, family, preset, keys, f"{family}, {name}: seed spread at the last evaluation")
    rows, ratios = presets.preset_table(store, family, preset, keys)
    header = html.Tr([html.Th(preset.vary[0] if preset.vary else "run")] + [html.Th(m) for m in preset.metrics])
    body = [html.Tr([html.Td(label)] + [html.Td(_fmt(values[m], 4)) for m in preset.metrics])
            for label, values in rows]
    notes = [html.Div(f"{label}: {_fmt(value, 4) or 'needs exactly one run of each'}") for label, value in ratios]
    title = f"{family}: values at the last evaluation"
    return [html.H3(title), html.Table([html.Thead(header), html.Tbody(body)], className="preset-table"), *notes]


def restore(search: object, vids: object) -> tuple:
    """Compare selection, alignment and grouping from the URL (`no_update` for what it does not name)."""
    state = parse_state(search, STATE)
    return tuple(state.get(f.key, no_update) for f in STATE)


def register(app, store: Store) -> None:
    """Attach the compare page's callbacks (they idle while the page is hidden)."""
    outputs = [o for m in METRICS for o in (Output(f"compare-{m}", "figure"), Output(f"cmsg-{m}", "children"),
                                            Output(f"cpanel-{m}", "className"))]

    grouping = [Input("compare-group", "value"), Input("compare-band", "value"), Input("compare-thin", "value")]

    @app.callback(*[Output(f.component, f.prop) for f in STATE], Input("url", "search"),
                  State("compare-variants", "value"))
    def _restore(search, vids):
        return restore(search, vids)

    @app.callback(*outputs, Input("compare-variants", "value"), Input("compare-align", "value"),
                  Input("url", "pathname"), *grouping)
    def _overlays(vids, align, pathname, group, band, thin):
        if pathname != PATH:
            return [no_update] * len(outputs)
        try:
            return [x for triple in compare_figures(store, vids, align, grouping=(group, band, thin)) for x in triple]
        except Exception:  # never a 500: keep what the page shows
            log.exception("compare failed")
            return [no_update] * len(outputs)

    @app.callback(Output("compare-variants", "value", allow_duplicate=True),
                  Output("compare-metrics", "value", allow_duplicate=True), Input("compare-preset", "value"),
                  State("compare-variants", "value"), prevent_initial_call=True)
    def _preset(preset_id, vids):
        return preset_selection(store, preset_id, vids)

    @app.callback(Output("compare-metrics", "options"), Input("compare-variants", "value"))
    def _metric_options(vids):
        return metric_options(store, _selected(store, vids))

    @app.callback(Output("compare-extra", "children"), Output("compare-preset-table", "children"),
                  Output("compare-group-table", "children"),
                  Input("compare-variants", "value"), Input("compare-metrics", "value"),
                  Input("compare-align", "value"), Input("compare-preset", "value"), Input("url", "pathname"), *grouping)
    def _extra(vids, metrics, align, preset_id, pathname, group, band, thin):
        if pathname != PATH:
            return no_update, no_update, no_update
        try:
            return (extra_panels(store, vids, metrics, align, (group, band, thin)),
                    preset_children(store, preset_id, vids), group_table(store, vids, (group, band, thin)))
        except Exception:  # never a 500: keep what the page shows
            log.exception("compare extras failed")
            return no_update, no_update, no_update

    compare_side.register(app, store, PATH)

    @app.callback(Output("compare-table", "data"), Output("compare-table", "columns"),
                  Output("compare-table", "tooltip_data"), Input("url", "pathname"))
    def _table(pathname):
        if pathname != PATH:
            return no_update, no_update, no_update
        keys = store.runs()
        rows = summary_rows(store, keys)
        return rows, table_columns(rows), [{"variant": full_label(k)} for k in keys]


PAGE = register_page(Page("compare", PATH, "Compare", layout=lambda site: layout(site.store),
                          callbacks=lambda app, site: register(app, site.store), state=STATE,
                          run_tables=("compare-table",), order=20))
