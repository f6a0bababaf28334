"""The compare page's block for a spread preset (`ComparePreset.spread`): the condition figure,
the table of each metric's spread per condition with its test against the reference, and the
per-seed paired ratios, as Dash components. The numbers are `workbench.query.preset_spread`'s.
"""

from __future__ import annotations

from dash import dcc, html

from workbench.core.family import ComparePreset
from workbench.query.preset_spread import CAPTION, paired_ratios, spread_arrays, spread_rows
from workbench.store import RunKey, Store
from workbench.ui.condition_figure import condition_figure

__all__ = ["spread_children"]


def _cell(text: str) -> list:
    """A table cell: the spread on one line, the test against the reference below it."""
    head, _, test = text.partition("; ")
    return [head, html.Br(), html.Small(test)] if test else [head]


def spread_children(store: Store, family: str, preset: ComparePreset, keys: list[RunKey], title: str) -> list:
    """The compare page's block for a spread preset: the figure, the spread table, the paired ratios."""
    arrays = spread_arrays(store, family, preset, keys)
    if not arrays["values"].size:
        return [html.Div("No runs of this preset in the selection.")]
    first = preset.vary[0] if preset.vary else "run"
    lead = [preset.split] if preset.split else []  # the split column only where there is a split
    header = html.Tr([html.Th(h) for h in [*lead, first, "seeds", *map(str, preset.metrics)]])
    body = [html.Tr([html.Td(v) for v in [*([s] if lead else []), c, n]] + [html.Td(_cell(t)) for t in cells])
            for s, c, n, cells in spread_rows(arrays, preset.reference)]
    notes = [html.Div(f"{split}: {label} (paired per seed): {text}") for split, label, text in paired_ratios(arrays, preset)]
    return [html.H3(title), dcc.Graph(id="compare-preset-figure", figure=condition_figure(arrays)),
            html.Div(CAPTION, className="caption"),
            html.Table([html.Thead(header), html.Tbody(body)], className="preset-table"), *notes]
