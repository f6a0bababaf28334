"""A report spec rendered offline: its title, prose and views in order, one standalone HTML page.

The page is built as `workbench report` builds a run's report (workbench.ui.report_page: plotly.js
inlined once, nothing fetched, files that cannot be read left out and named at the top). Each
view reads its own run (the spec's, a view's `variant`, or the one given), at an epoch given as a
number (the nearest checkpoint) or a word: init, end of memorization, end, or an epoch marker
such as "turn onset" (workbench.ui.report.telling_epochs).
"""

from __future__ import annotations

import html
import time
from dataclasses import dataclass
from pathlib import Path

import plotly.graph_objects as go

from workbench.core.errors import UserError
from workbench.core.variant import parse_variant
from workbench.core.view import get_view
from workbench.query.group_listing import find_group
from workbench.query.group_views import group_keys, group_view_figure
from workbench.query.report_specs import ReportSpec, SpecView, epoch_word, is_full_probe, parse_range
from workbench.query.views import PROBE_OPTION, run_names, view_figure
from workbench.store import RunKey, Store
from workbench.ui.report import Omissions, label_word, telling_epochs
from workbench.ui.report_page import LOG_X, figure_html, page

__all__ = ["write_spec_report", "resolve_epoch", "spec_blocks", "spec_items", "spec_variant", "SpecItem"]


def _key(store: Store, spec: str) -> RunKey:
    key = RunKey(*parse_variant(spec).key)
    if not store.exists(key):
        raise UserError(f"no trained run for {spec!r} in {store.root}; run `workbench train {spec}` first")
    return key


def resolve_epoch(store: Store, key: RunKey, epoch: int | str | None, omit: Omissions) -> tuple[int | None, str]:
    """(checkpoint epoch, its label) for a spec's `epoch`: None stays None (the last analyzed);
    (None, why) for a word this run has no epoch for (e.g. no turn was detected)."""
    if epoch is None:
        return None, ""
    ckpts = store.checkpoint_epochs(key)
    if isinstance(epoch, int) or str(epoch).strip().isdigit():
        nearest = min(ckpts, key=lambda c: abs(c - int(epoch)))
        return nearest, f"epoch {nearest}" + ("" if nearest == int(epoch) else f" (nearest to {int(epoch)})")
    found = {label_word(w): (e, w) for e, labels in telling_epochs(store, key, omit).items() for w in labels}
    word = epoch_word(epoch)
    if word not in found:
        return None, f"this run has no {word} (its epochs: {', '.join(found) or 'none'})"
    epoch, label = found[word]
    return epoch, f"{label} (epoch {epoch})"  # e.g. "turn onset 1600, the nearest checkpoint (epoch 1500)"


@dataclass(frozen=True)
class SpecItem:
    """One view of a spec as shown: a heading, its prose and description, and a figure or why it has none."""

    head: str
    prose: str
    desc: str
    figure: go.Figure | None
    note: str = ""


def _reading(store: Store, view: SpecView) -> tuple[Store, dict]:
    """(the store as the view reads it: on its named probe's artifacts, if any; the view's options,
    with that probe where the view declares a probe option, as the trace does)."""
    if is_full_probe(view.probe):
        return store, view.options
    declared = any(o.name == PROBE_OPTION for o in get_view(view.view).options)
    return store.with_probe(view.probe), view.options | ({PROBE_OPTION: view.probe} if declared else {})


def _group_item(store: Store, view: SpecView, desc: str) -> SpecItem:
    """A curve over training drawn for a run group (mean and 95% band), or why it cannot be."""
    try:
        group = find_group(store, str(view.group))
    except UserError as err:
        return SpecItem(view.view, view.prose, desc, None, f"left out: {err}")
    at, options = _reading(store, view)
    fig = group_view_figure(at, group_keys(group), view.view, band="ci", **options).figure
    return SpecItem(f"{view.view} — group {group.label} (n={group.n})", view.prose, desc, _ranged(fig, view))


def _ranged(fig: go.Figure, view: SpecView) -> go.Figure:
    return fig.update_xaxes(range=list(parse_range(view.range))) if view.range is not None else fig


def _item(store: Store, default: str, view: SpecView, omit: Omissions) -> SpecItem:
    desc = get_view(view.view).description
    if view.group is not None:
        return _group_item(store, view, desc)
    spec = view.variant or default
    key = _key(store, spec)
    epoch, label = resolve_epoch(store, key, view.epoch, omit) if get_view(view.view).scope == "epoch" else (None, "")
    if epoch is None and label.startswith("this run has no"):
        return SpecItem(view.view, view.prose, desc, None, f"left out: {label}")
    if not is_full_probe(view.probe) and view.probe not in run_names(store, key, "probes"):
        return SpecItem(view.view, view.prose, desc, None, f"left out: this run's family has no probe {view.probe!r} "
                        f"(its probes: {', '.join(run_names(store, key, 'probes'))})")
    at, options = _reading(store, view)
    fig = _ranged(view_figure(at, key, view.view, epoch, **options), view)
    probe = "" if is_full_probe(view.probe) else f"probe {view.probe}"
    where = ", ".join(x for x in (label, probe, spec if view.variant else "") if x)
    return SpecItem(view.view + (f" — {where}" if where else ""), view.prose, desc, fig)


def spec_items(store: Store, spec: ReportSpec, variant: str, omit: Omissions) -> list[SpecItem]:
    """Every view of `spec` for run `variant` (a view's own `variant` wins), in order."""
    return [_item(store, variant, v, omit) for v in spec.views]


def _item_html(item: SpecItem) -> str:
    prose = f"<p>{html.escape(item.prose)}</p>" if item.prose else ""
    body = figure_html(item.figure) if item.figure is not None else f"<p class=desc>{html.escape(item.note)}</p>"
    return f"<h3>{html.escape(item.head)}</h3>{prose}<p class=desc>{html.escape(item.desc)}</p>\n{body}\n"


def spec_blocks(store: Store, spec: ReportSpec, variant: str, omit: Omissions) -> str:
    """Every view of `spec` as HTML, in order (the log-x switch first when any draws over training)."""
    blocks = "".join(_item_html(item) for item in spec_items(store, spec, variant, omit))
    trajectories = any(get_view(v.view).scope == "trajectory" for v in spec.views)
    return (LOG_X if trajectories else "") + blocks


def spec_variant(name: str, spec: ReportSpec, variant: str | None) -> str:
    """The run a spec reads: `variant`, else the spec's; UserError naming the spec without either."""
    variant = variant or spec.variant
    if not variant:
        raise UserError(f"report spec {name!r} names no variant: give one (workbench report VARIANT --spec {name})")
    return parse_variant(variant).spec


def write_spec_report(store: Store, name: str, spec: ReportSpec, variant: str | None = None,
                      out: str | Path | None = None) -> Path:
    """Render report spec `spec` (named `name`) offline for a run.

    Args:
        store: the store.
        name: the spec's name (the default file is the run's report_<name>.html).
        spec: the parsed spec.
        variant: the run (default: the spec's `variant`); a view's own `variant` wins for that view.
        out: output file.
    Returns:
        The path written.
    Raises:
        UserError for a run that is not trained, an epoch word the run lacks, or a bad view option.
    """
    variant = spec_variant(name, spec, variant)
    key = _key(store, variant)
    omit = Omissions()
    body = spec_blocks(store, spec, variant, omit)
    prose = "".join(f"<p>{html.escape(p)}</p>" for p in spec.prose.split("\n\n") if p.strip())
    lead = (f"<p class=desc>{html.escape(variant)}; report spec {html.escape(name)}; "
            f"written {time.strftime('%Y-%m-%d %H:%M')}</p>{prose}\n{omit.html()}")
    return store.write_report(key, page(spec.title, lead + body),
                              out if out is not None else store.spec_report_path(key, name))
