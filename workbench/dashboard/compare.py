"""The compare page: overlay several variants' trajectories and tabulate every variant.

Trajectories are aligned at the raw epoch or at each variant's detected turn (x = epoch
minus turn epoch), which is what makes runs with different grokking times comparable.
The overlays are built here from metrics and summary arrays: they are not views of one
run, so they have no place in the per-run view registry. Beyond the fixed panels, any
column of the selected runs' metrics tables can be overlaid (e.g. a family's extra
metrics), and a family's presets (`workbench.dashboard.presets`) line up related runs
with their metrics and a table of final values.
"""

from __future__ import annotations

import logging
import math
from typing import Callable

import numpy as np
import plotly.graph_objects as go
from dash import Input, Output, State, dash_table, dcc, html, no_update

from workbench.dashboard import data, presets
from workbench.dashboard.labels import colours, full_label, short_labels
from workbench.dashboard.layout import variant_options
from workbench.dashboard.state import parse_state
from workbench.errors import UserError
from workbench.store import RunKey, Store

__all__ = ["METRICS", "trajectory", "overlay_figure", "summary_rows", "layout", "register", "compare_figures",
           "restore", "metric_spec", "metric_options", "extra_panels", "preset_selection", "preset_children"]

log = logging.getLogger(__name__)


def _matrix_column(arrays: dict, table: str, matrix: str) -> np.ndarray | None:
    names = [str(n) for n in arrays.get("matrix_names", [])]
    hits = [i for i, n in enumerate(names) if n == matrix or n.endswith("." + matrix) or n.endswith(matrix)]
    return arrays[table][:, hits[0]] if hits and table in arrays else None


def _metric(name: str) -> Callable:
    return lambda store, key: (lambda m: (m["epoch"], m[name]) if m and name in m else None)(data.metrics(store, key))


def _summary_series(analyzer: str, pick: Callable[[dict], np.ndarray | None]) -> Callable:
    def load(store: Store, key: RunKey):
        arrays = data.summary(store, key, analyzer)
        ys = pick(arrays) if arrays and "epochs" in arrays else None
        return (arrays["epochs"], ys) if ys is not None else None

    return load


# metric id -> (title, log y, loader(store, key) -> (epochs, values) | None, command that makes it)
METRICS: dict[str, tuple[str, bool, Callable, str]] = {
    "test_loss": ("Test loss", True, _metric("test_loss"), "train"),
    "test_acc": ("Test accuracy", False, _metric("test_acc"), "train"),
    "total_norm": ("Total weight norm", False,
                   _summary_series("weight_trajectory", lambda a: a.get("total_norm")), "analyze --analyzers weight_trajectory"),
    "pr_embed": ("Participation ratio of W_E", False,
                 _summary_series("dimensionality_trajectory", lambda a: _matrix_column(a, "participation_ratio", "W_E")),
                 "analyze --analyzers dimensionality_trajectory"),
}


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


def overlay_figure(store: Store, keys: list[RunKey], metric: str, align: str = "epoch",
                   labels: dict | None = None) -> tuple[go.Figure, list[tuple[RunKey, str]]]:
    """One metric of several variants on shared axes, each in its own colour (`labels.colours`).

    Args:
        store: the store; keys: validated RunKeys, in selection order; metric: a key of METRICS;
        align: "epoch" or "turn"; labels: legend label per key (default: `short_labels(keys)`).
    Returns:
        (figure with one line per variant that has the data, [(key, why it is missing)]).
    """
    title, log_y, load, _ = metric_spec(metric)
    labels = labels or short_labels(keys)
    colour = colours(keys)
    fig, missing = go.Figure(), []
    for key in keys:
        xy = trajectory(store, key, metric, align)
        if xy is None:
            why = "no turn detected" if align == "turn" and load(store, key) is not None else \
                "run: " + _command(key, metric)
            missing.append((key, why))
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


def _last_artifact(store: Store, key: RunKey, analyzer: str) -> dict | None:
    found = store.artifact_epochs(key, analyzer)
    return data.artifact(store, key, analyzer, found[-1]) if found else None


def _cos_sin_balance(store: Store, key: RunKey, freqs: list[int]) -> str:
    embed = _last_artifact(store, key, "embedding_fourier")
    if not embed or "cos_sin_ratio" not in embed or not freqs:
        return ""
    ratio = np.asarray(embed["cos_sin_ratio"], dtype=float)
    picked = [ratio[k - 1] for k in freqs if 0 < k <= len(ratio)]
    return _fmt(np.mean(picked)) if picked else ""


def _final_pr(store: Store, key: RunKey) -> str:
    dims = data.summary(store, key, "dimensionality_trajectory")
    if not dims or "participation_ratio" not in dims or not len(dims["participation_ratio"]):
        return ""
    names = [str(n).split(".")[-1] for n in dims["matrix_names"]]
    return " · ".join(f"{n} {_fmt(v)}" for n, v in zip(names, dims["participation_ratio"][-1]))


def summary_rows(store: Store, keys: list[RunKey]) -> list[dict]:
    """One table row per variant: turn, final accuracies, key freqs, participation ratios, cos/sin balance.

    Final metrics, the first epoch marker (the turn onset) and the key frequencies come from
    the run index (workbench.index, kept current with the files); the rest from the files.
    """
    from workbench.index import run_rows

    indexed = {RunKey(r["family"], r["variant"]): r for r in run_rows(store)}
    rows = []
    labels = short_labels(keys)
    for key in keys:
        row = indexed.get(key) or {}
        last = row.get("metrics") or {}
        markers = list((row.get("markers") or {}).values())
        text = (row.get("headlines") or {}).get("key_freqs", "")  # a declared headline, not an analyzer's arrays
        freqs = [int(k) for k in text.split(",") if k.strip().isdigit()]
        rows.append({
            "id": data.variant_id(key), "variant": labels[key], "epochs": _fmt(last.get("epoch"), 9),
            "turn": _fmt(markers[0] if markers else None, 9), "train_acc": _fmt(last.get("train_acc")),
            "test_acc": _fmt(last.get("test_acc")), "key_freqs": text.replace(",", ", "),
            "participation": _final_pr(store, key), "cos_sin": _cos_sin_balance(store, key, freqs),
        })
    return rows


_COLUMNS = [("variant", "Variant"), ("epochs", "Epochs"), ("turn", "Turn onset"), ("train_acc", "Train acc"),
            ("test_acc", "Test acc"), ("key_freqs", "Key freqs"), ("participation", "Final participation ratio"),
            ("cos_sin", "cos/sin balance")]


def layout(store: Store) -> html.Div:
    """The compare page (hidden until the URL is /compare)."""
    options = variant_options(store)
    panels = [html.Div(id=f"cpanel-{m}", className="panel", children=[
        dcc.Graph(id=f"compare-{m}", config={"displaylogo": False, "responsive": True}, style={"height": "380px"}),
        html.Div(id=f"cmsg-{m}", className="compare-msg")]) for m in METRICS]
    return html.Div(id="page-compare", className="page hidden", children=[
        html.H2("Compare variants"),
        html.Div([
            dcc.Dropdown(id="compare-variants", options=options, multi=True,
                         value=[o["value"] for o in options[:2]]),
            dcc.RadioItems(id="compare-align", value="epoch", inline=True, style={"marginTop": "6px"},
                           options=[{"label": " raw epoch  ", "value": "epoch"},
                                    {"label": " aligned at each variant's turn", "value": "turn"}]),
            html.Div(className="compare-pickers", children=[
                dcc.Dropdown(id="compare-preset", options=presets.preset_options(store), clearable=True,
                             placeholder="Line up a study's runs (a family's preset)…"),
                dcc.Dropdown(id="compare-metrics", options=[], value=[], multi=True,
                             placeholder="More metrics from the runs' metrics tables…")]),
        ]),
        html.Div(id="compare-preset-table"),
        html.Div(id="compare-extra", className="group-body"),  # what was picked comes first
        html.Div(panels, className="group-body"),
        html.H3("All variants (click a row to open it; type in the second row to filter)"),
        dash_table.DataTable(
            id="compare-table", columns=[{"id": c, "name": n} for c, n in _COLUMNS], data=[],
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


def compare_figures(store: Store, vids: object, align: object,
                    metrics: tuple[str, ...] = tuple(METRICS)) -> list[tuple[go.Figure, list, str]]:
    """Callback body: (figure, message, panel class) per metric (default: the fixed panels)."""
    keys = _selected(store, vids)
    align = align if align in ("epoch", "turn") else "epoch"
    labels = short_labels(keys)
    out = []
    for metric in metrics:
        fig, missing = overlay_figure(store, keys, metric, align, labels)
        message = _missing_children(metric, keys, missing, labels)
        out.append((fig, message, "panel" if fig.data else "panel empty"))
    return out


def extra_panels(store: Store, vids: object, metrics: object, align: object) -> list:
    """One panel per picked metrics-table column that the selected runs have (names are untrusted)."""
    known = {o["value"] for o in metric_options(store, _selected(store, vids))}
    picked = [m for m in metrics if isinstance(m, str) and m in known] if isinstance(metrics, list) else []
    return [_panel(m, fig, msg) for m, (fig, msg, _) in zip(picked, compare_figures(store, vids, align, picked))]


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
    rows, ratios = presets.preset_table(store, family, preset, keys)
    head = html.Tr([html.Th(preset.vary[0] if preset.vary else "run")] + [html.Th(m) for m in preset.metrics])
    body = [html.Tr([html.Td(label)] + [html.Td(_fmt(values[m], 4)) for m in preset.metrics])
            for label, values in rows]
    notes = [html.Div(f"{label}: {_fmt(value, 4) or 'needs exactly one run of each'}") for label, value in ratios]
    title = f"{family}: values at the last evaluation"
    return [html.H3(title), html.Table([html.Thead(head), html.Tbody(body)], className="preset-table"), *notes]


def restore(search: object, vids: object) -> tuple:
    """Compare selection and alignment from the URL (`no_update` for what it does not name)."""
    state = parse_state(search)
    return state.get("compare", no_update), state.get("align", no_update)


def register(app, store: Store) -> None:
    """Attach the compare page's callbacks (they idle while the page is hidden)."""
    outputs = [o for m in METRICS for o in (Output(f"compare-{m}", "figure"), Output(f"cmsg-{m}", "children"),
                                            Output(f"cpanel-{m}", "className"))]

    @app.callback(Output("compare-variants", "value"), Output("compare-align", "value"), Input("url", "search"),
                  State("compare-variants", "value"))
    def _restore(search, vids):
        return restore(search, vids)

    @app.callback(*outputs, Input("compare-variants", "value"), Input("compare-align", "value"),
                  Input("url", "pathname"))
    def _overlays(vids, align, pathname):
        if pathname != "/compare":
            return [no_update] * len(outputs)
        try:
            return [x for triple in compare_figures(store, vids, align) for x in triple]
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
                  Input("compare-variants", "value"), Input("compare-metrics", "value"),
                  Input("compare-align", "value"), Input("compare-preset", "value"), Input("url", "pathname"))
    def _extra(vids, metrics, align, preset_id, pathname):
        if pathname != "/compare":
            return no_update, no_update
        try:
            return extra_panels(store, vids, metrics, align), preset_children(store, preset_id, vids)
        except Exception:  # never a 500: keep what the page shows
            log.exception("compare extras failed")
            return no_update, no_update

    @app.callback(Output("compare-table", "data"), Output("compare-table", "tooltip_data"),
                  Input("url", "pathname"))
    def _table(pathname):
        if pathname != "/compare":
            return no_update, no_update
        keys = store.runs()
        return summary_rows(store, keys), [{"variant": full_label(k)} for k in keys]
