"""Sections of the offline run report that are not views: a family's spread presets around the
run (`ComparePreset.spread`), each as its condition figure, its spread table and its paired ratios.

Plain HTML, no Dash: `workbench.ui.report` adds them to the page; the compare page draws the same
arrays (`workbench.query.preset_spread`) as Dash components.
"""

from __future__ import annotations

import html
from typing import Callable

import plotly.graph_objects as go

from workbench.query.preset_spread import CAPTION, paired_ratios, spread_arrays, spread_rows
from workbench.query.presets import line_up, spread_presets
from workbench.store import RunKey, Store
from workbench.ui.condition_figure import condition_figure

__all__ = ["report_sections"]


def report_sections(store: Store, key: RunKey, figure_html: Callable[[go.Figure], str]) -> list[tuple[str, str, str]]:
    """(anchor, heading, body html) for the report of `key`: one per spread preset of its family
    that lines up more than this run around it (the figure, the table, the paired ratios)."""
    out = []
    for i, (name, preset) in enumerate(spread_presets(key.family)):
        keys = line_up(store, key.family, preset, [key])
        if len(keys) < 2:
            continue
        arrays = spread_arrays(store, key.family, preset, keys)
        lead = [preset.split] if preset.split else []
        head = "".join(f"<th>{html.escape(str(h))}</th>" for h in [*lead, preset.vary[0], "seeds", *preset.metrics])
        body = "".join("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in [*([s] if lead else []), c, n, *cells])
                       + "</tr>" for s, c, n, cells in spread_rows(arrays, preset.reference))
        ratios = "".join(f"<p>{html.escape(f'{s}: {label} (paired per seed): {text}')}</p>"
                         for s, label, text in paired_ratios(arrays, preset))
        out.append((f"preset-{i}", f"{name}: seed spread at the last evaluation",
                    f"{figure_html(condition_figure(arrays))}<p class=desc>{html.escape(CAPTION)}</p>"
                    f"<table class=summary><tr>{head}</tr>{body}</table>{ratios}"))
    return out
