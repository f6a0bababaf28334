"""One standalone, offline HTML report of a run group (runs differing only in seeds): its spread.

Sections: the group table (per final metric, marker and numeric headline: n, mean ± std,
95% bootstrap interval of the mean, min–max and each run's value), its outliers, the turn's
distribution over the runs, every view over training drawn as the group
(`workbench.query.group_views`: mean with a min–max or 95% band, thin runs, or both) and
each headline against its null (`workbench.query.group_nulls`: each run's percentile, the
pooled null's band). A run missing what a section needs is listed at the top, with why.

It shares the run report's page style, its offline plotly.js and its log-x switch
(workbench.ui.report_page), so the two read alike.
"""

from __future__ import annotations

import html
import textwrap
import time
from pathlib import Path

from workbench.analysis.group import group_id
from workbench.core.view import get_view
from workbench.query.bands import BANDS
from workbench.query.group_listing import find_group, run_name
from workbench.query.group_nulls import group_null_rows
from workbench.query.group_views import group_keys, group_view_figure, grouped_views, marker_figure
from workbench.query.groups import Group, agreement
from workbench.query.outliers import RULE, group_outliers, outlier_line
from workbench.query.stats import number
from workbench.store import RunKey, Store
from workbench.ui.report_page import LOG_X, figure_html, page, sectioned, table

__all__ = ["write_group_report"]


def _short(text: str, width: int = 60) -> str:
    return textwrap.shorten(text.replace(",", ", "), width, placeholder=" …")


def _spread_rows(g: Group) -> list[list[str]]:
    rows = []
    for name, s in g.stats.items():
        per_run = dict(zip([spec for spec in g.runs if not any(m[0] == spec and m[1] == name for m in g.missing)],
                           g.values.get(name, ())))
        runs = ", ".join(f"{run_name(g, spec)} {number(v, 4)}" for spec, v in per_run.items())
        interval = f"[{number(s.lo, 3)}, {number(s.hi, 3)}]" if s.n > 1 else "-"
        rows.append([name, str(s.n), f"{number(s.mean, 4)} ± {number(s.std, 2)}" if s.n > 1 else number(s.mean, 4),
                     interval, f"{number(s.min, 4)} – {number(s.max, 4)}", runs])
    rows += [[name, str(len(v)), _short(agreement(v)), "-", "-", _short("; ".join(v), 160)] for name, v in g.texts.items()]
    return rows


def _summary(g: Group) -> str:
    spread = table(["quantity", "n", "mean ± std", "95% interval of the mean", "min – max", "each run"], _spread_rows(g))
    found = group_outliers(g)
    outliers = outlier_line(found, lambda s: run_name(g, s)) if found else "none"
    return (f"<p class=desc>std with ddof=1; the interval is the 95% percentile bootstrap of the mean (10,000 "
            f"resamples, seed 0); with 3 runs it is nearly their range.</p>{spread}"
            f"<h3>Outliers</h3><p>{html.escape(outliers)}</p><p class=desc>{html.escape(RULE)}</p>")


def _left_out(g: Group, left: dict[str, dict[str, str]]) -> str:
    """The block at the top: the parts of the report some runs are missing from, which runs and why
    (parts missing the same runs for the same reason share a line)."""
    runs_of: dict[tuple[str, str], list[str]] = {}  # (part, why) -> runs
    for spec, quantity, why in g.missing:
        runs_of.setdefault((quantity, why), []).append(spec)
    for what, runs in left.items():
        for spec, why in runs.items():  # a hint naming the run reads once for all of them
            runs_of.setdefault((what, why.replace(spec, "RUN")), []).append(spec)
    parts_of: dict[tuple[str, tuple], list[str]] = {}
    for (what, why), specs in runs_of.items():
        parts_of.setdefault((why, tuple(dict.fromkeys(specs))), []).append(what)
    items = []
    for (why, specs), whats in parts_of.items():
        who = f"all {g.n} runs" if len(specs) == g.n else ", ".join(run_name(g, s) for s in specs)
        items.append(f"{', '.join(whats)}: {who} ({why})")
    if not items:
        return ""
    lis = "".join(f"<li>{html.escape(i)}</li>" for i in items)
    return f"<div class=omitted><b>Left out of this report, and why</b><ul>{lis}</ul></div>"


def _spec(key: RunKey) -> str:
    return f"{key.family}:{key.variant}"


def _curves(store: Store, g: Group, keys: list[RunKey], band: str, draw: str, left: dict) -> str:
    blocks = []
    for name in grouped_views(store, keys):
        drawn = group_view_figure(store, keys, name, band=band, draw=draw)
        if drawn.left_out:
            left[name] = {_spec(k): why.removeprefix(f"{name}: ") for k, why in drawn.left_out.items()}
        if len(drawn.left_out) == len(keys):  # no run to draw: the list at the top says why
            continue
        desc = html.escape(get_view(name).description)
        blocks.append(f"<h3>{html.escape(name)}</h3><p class=desc>{desc}</p>\n{figure_html(drawn.figure)}\n")
    return LOG_X + "".join(blocks)


def _nulls(store: Store, g: Group, keys: list[RunKey], left: dict) -> str:
    rows, why = group_null_rows(store, keys)
    for key, reasons in why.items():
        for reason in reasons:
            left.setdefault("against the null", {})[_spec(key)] = reason
    if not rows:
        return "<p>No analyzer with a null was run on these runs.</p>"
    name = {k: run_name(g, _spec(k)) for k in keys}
    body = []
    for r in rows:
        lo, hi = r.band()
        values = list(r.values.values())
        body.append([r.headline, r.kind, f"{number(sum(values) / len(values), 4)} (n={len(values)})",
                     f"{number(lo, 3)} – {number(hi, 3)} ({len(r.pooled())} draws)",
                     ", ".join(f"{name[k]} {p:.0f}" for k, p in r.pctl.items())])
    note = ("Each run's value at its last analyzed checkpoint, read against its own null's draws (percentile: the "
            "share of draws below it, ties half); the band is the central 95% of every run's draws pooled.")
    return f"<p class=desc>{note}</p>" + table(["headline", "null", "group mean", "null's 95% band",
                                                   "percentile of each run"], body)


def _sections(store: Store, g: Group, band: str, draw: str) -> tuple[list[tuple[str, str, str]], dict]:
    keys = group_keys(g)
    left: dict[str, dict[str, str]] = {}
    runs = table(["run", "spec"], [[run_name(g, s), s] for s in g.runs])
    label = lambda k: run_name(g, _spec(k))  # noqa: E731
    sections = [("spread", "Spread over the runs", _summary(g)),
                ("turn", "The turn", figure_html(marker_figure(store, keys, label))),
                ("curves", f"Over training (band: {BANDS[band]})", _curves(store, g, keys, band, draw, left)),
                ("nulls", "Against the null", _nulls(store, g, keys, left)),
                ("runs", "Runs", runs)]
    return sections, left


def write_group_report(store: Store, group: Group | str, out: str | Path | None = None, *, band: str = "ci",
                       draw: str = "band") -> Path:
    """Write the standalone offline HTML report of a run group.

    Args:
        store: the store.
        group: a Group, its spec or label, or a `--where` clause that selects exactly one group.
        out: output file (default: <store>/.groups/<group id>/report.html).
        band: "minmax", "ci" or "none"; draw: "band", "runs" or "both" (the curves over training).
    Returns:
        The path written.
    Raises:
        UserError for no or several matching groups, a bad band or draw, or an output that cannot be written.
    """
    g = find_group(store, group)
    sections, left = _sections(store, g, band, draw)
    title = f"Group {g.spec} (n={g.n})"
    nav, content = sectioned(sections)
    body = (f"<p class=desc>runs differing only in {html.escape(', '.join(g.seeds))}; "
            f"written {time.strftime('%Y-%m-%d %H:%M')}</p><nav>{nav}</nav>\n{_left_out(g, left)}{content}")
    return store.write_group_report(group_id(list(g.runs)), page(title, body), out)
