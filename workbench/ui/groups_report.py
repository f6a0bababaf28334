"""One standalone, offline HTML report of several run groups side by side: a grid with its seed spread.

`workbench report --groups CLAUSE` (for example the cells of a sweep such as
configs/sweeps/mod97_grid.yaml: `--groups "family='modular_arithmetic' and r.steps=20000"`).
Sections:

- the groups: per quantity (final test accuracy and loss, train accuracy, the turn's onset)
  each group's mean ± std [95% bootstrap interval of the mean], each group against the first
  (`workbench.query.group_compare`: "differs" only when Welch's t and the permutation test
  over seeds agree), and each group's outliers;
- reaching a test accuracy: per group and threshold (0.5, 0.95) each run's first evaluated
  epoch at or above it, how many runs reached it within their budget, and the spread of the
  epochs of those that did (a mean over only the runs that reached it is labelled so);
- test accuracy and test loss over training, each group as its mean with a band
  (workbench.query.bands) and its runs' turns as a rug;
- the runs no group holds (still training, unreadable), with the reason.

It shares the run report's page style and offline plotly.js (workbench.ui.report_page).
"""

from __future__ import annotations

import html
import time
from pathlib import Path

import numpy as np
import plotly.graph_objects as go

from workbench.analysis.group import group_id
from workbench.core.errors import UserError
from workbench.query.bands import BANDS, add_group, add_rug
from workbench.query.group_compare import NOTE, difference_rows, spread_rows
from workbench.query.group_listing import group_names, group_table, run_name
from workbench.query.group_views import group_keys
from workbench.query.groups import Group
from workbench.query.stats import spread
from workbench.store import Store
from workbench.ui.palette import PALETTE
from workbench.ui.report_page import figure_html, page, sectioned, table

__all__ = ["write_groups_report", "THRESHOLDS", "first_epochs"]

THRESHOLDS = (0.5, 0.95)  # test accuracy a run is asked to reach


COLUMNS = ("epoch", "test_acc", "test_loss")  # what the report reads of each run's metrics, once


def first_epochs(metrics: dict, thresholds=THRESHOLDS) -> dict[float, float | None]:
    """Per threshold, the first evaluated epoch of a run's `metrics` with test accuracy >= it (None: never)."""
    epochs, acc = np.asarray(metrics["epoch"], dtype=float), np.asarray(metrics["test_acc"], dtype=float)
    out = {}
    for t in thresholds:
        hit = np.flatnonzero(acc >= t)
        out[t] = float(epochs[hit[0]]) if hit.size else None
    return out


def _seeds(g: Group, i: int) -> str:
    """Run i of the group by the seed params that vary in it, e.g. 'seed=1,data_seed=1'."""
    varying = {name: values for name, values in g.seeds.items() if len(set(values)) > 1} or g.seeds
    return ",".join(f"{name}={values[i]}" for name, values in varying.items()) or run_name(g, g.runs[i])


def _reaching(metrics: list[list[dict]], groups: list[Group], names: list[str]) -> str:
    rows = []
    for g, name, runs in zip(groups, names, metrics):
        firsts = [first_epochs(m) for m in runs]
        for t in THRESHOLDS:
            reached = [e[t] for e in firsts if e[t] is not None]
            each = ", ".join(f"{_seeds(g, i)}: {f'{e[t]:,.0f}' if e[t] is not None else f'not within {g.epochs:,}'}"
                             for i, e in enumerate(firsts))
            if not reached:
                summary = "-"
            elif len(reached) == 1:
                summary = f"{reached[0]:,.0f}"
            else:
                summary = spread(reached).brief()
            if 0 < len(reached) < g.n:
                summary += f" (the {len(reached)} that reached it)"
            rows.append([name, f"{t:g}", f"{len(reached)}/{g.n}", summary, each])
    note = ("The first evaluated epoch at or above each test accuracy, per run; runs are evaluated at their eval_every, "
            "so an epoch is a multiple of it. A run that never reached it within its planned epochs is counted, not "
            "averaged.")
    return f"<p class=desc>{html.escape(note)}</p>" + table(
        ["group", "test acc ≥", "reached", "epoch: mean ± std [95% interval]", "each run"], rows)


def _curves(metrics: list[list[dict]], groups: list[Group], names: list[str], band: str) -> str:
    blocks = []
    for column, title, log_y in (("test_acc", "Test accuracy", False), ("test_loss", "Test loss", True)):
        fig = go.Figure()
        for i, (g, name, runs) in enumerate(zip(groups, names, metrics)):
            series = [(np.asarray(m["epoch"], dtype=float), np.asarray(m[column], dtype=float)) for m in runs]
            colour = PALETTE[i % len(PALETTE)]
            add_group(fig, name, colour, series, band=band, runs=False, log_y=log_y)
            add_rug(fig, colour, list(g.values.get("turn_onset_epoch", ())), row=i)
        fig.update_layout(title=f"{title} over training: each group's mean, band {BANDS[band]}; ticks: each run's "
                                "turn onset", height=520, xaxis_title="epoch", yaxis_title=column,
                          yaxis_type="log" if log_y else "linear", template="plotly_white",
                          legend=dict(orientation="h", y=-0.18))
        blocks.append(figure_html(fig))
    return "".join(blocks)


def write_groups_report(store: Store, where: str | None, out: str | Path | None = None, *, band: str = "ci") -> Path:
    """Write the offline HTML report of the run groups `where` selects (`workbench list --group --where`).

    Raises:
        UserError (one line) for a malformed clause, a bad band, no group selected, or an output that cannot be written.
    """
    if band not in BANDS:
        raise UserError(f"unknown band {band!r}; choose one of {', '.join(BANDS)}")
    listing = group_table(store, where=where)
    groups = list(listing)
    if not groups:
        raise UserError(f"no run group matches {where!r} (`workbench list --group` lists them)")
    names = group_names(groups)
    metrics = [[store.read_metrics(key, keys=COLUMNS) for key in group_keys(g)] for g in groups]
    spread_html = table(*spread_rows(names, groups))
    if len(groups) > 1:
        spread_html += f"<h3>Against the first group ({html.escape(names[0])})</h3>" + table(*difference_rows(names, groups))
    spread_html += f"<p class=desc>{html.escape(NOTE)}</p>"
    outside = table(["run", "why it is in no group"], [[s, why] for s, why in listing.outside]) if listing.outside \
        else "<p>Every run the clause selects is in a group.</p>"
    sections = [("spread", "The groups", spread_html),
                ("reaching", "Reaching a test accuracy", _reaching(metrics, groups, names)),
                ("curves", "Over training", _curves(metrics, groups, names, band)),
                ("outside", "Runs in no group", outside)]
    nav, content = sectioned(sections)
    title = f"{len(groups)} run groups" + (f" where {where}" if where else "")
    intro = (f"<p class=desc>groups of runs differing only in seed params; selected by {html.escape(where or 'all')}; "
             f"written {time.strftime('%Y-%m-%d %H:%M')}</p>")
    every = [spec for g in groups for spec in g.runs]
    return store.write_group_report(group_id(every), page(title, intro + f"<nav>{nav}</nav>\n{content}"), out)
