"""A report spec rendered offline: its title, prose and views in order, one standalone HTML page.

The page is built as `workbench report` builds a run's report (workbench.ui.report: plotly.js
inlined once, nothing fetched, files that cannot be read left out and named at the top). Each
view reads its own run (the spec's, a view's `variant`, or the one given), at an epoch given as a
number (the nearest checkpoint) or a word: init, end of memorization, end, or an epoch marker
such as "turn onset" (workbench.ui.report.telling_epochs).
"""

from __future__ import annotations

import html
import time
from pathlib import Path

import plotly.offline

from workbench.core.errors import UserError
from workbench.core.variant import parse_variant
from workbench.core.view import get_view
from workbench.query.report_specs import ReportSpec, SpecView, epoch_word, parse_range
from workbench.query.views import view_figure
from workbench.store import RunKey, Store
from workbench.ui.report import _CSS, _LOG_X, Omissions, _figure_html, telling_epochs

__all__ = ["write_spec_report", "resolve_epoch", "spec_blocks"]


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
    words = {w: e for e, labels in telling_epochs(store, key, omit).items() for w in labels}
    word = epoch_word(epoch)
    if word not in words:
        return None, f"this run has no {word} (its epochs: {', '.join(words) or 'none'})"
    return words[word], f"{word} (epoch {words[word]})"


def _block(store: Store, default: str, view: SpecView, omit: Omissions) -> str:
    """One view's heading, prose and figure."""
    spec = view.variant or default
    key = _key(store, spec)
    epoch, label = resolve_epoch(store, key, view.epoch, omit) if get_view(view.view).scope == "epoch" else (None, "")
    if epoch is None and label.startswith("this run has no"):
        return f"<h3>{html.escape(view.view)}</h3><p class=desc>left out: {html.escape(label)}</p>\n"
    fig = view_figure(store, key, view.view, epoch, **view.options)
    if view.range is not None:
        fig.update_xaxes(range=list(parse_range(view.range)))
    where = ", ".join(x for x in (label, spec if view.variant else "") if x)
    head = html.escape(view.view + (f" — {where}" if where else ""))
    prose = f"<p>{html.escape(view.prose)}</p>" if view.prose else ""
    desc = html.escape(get_view(view.view).description)
    return f"<h3>{head}</h3>{prose}<p class=desc>{desc}</p>\n{_figure_html(fig)}\n"


def spec_blocks(store: Store, spec: ReportSpec, variant: str, omit: Omissions) -> str:
    """Every view of `spec` as HTML, in order (the log-x switch first when any draws over training)."""
    blocks = "".join(_block(store, variant, v, omit) for v in spec.views)
    trajectories = any(get_view(v.view).scope == "trajectory" for v in spec.views)
    return (_LOG_X if trajectories else "") + blocks


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
    variant = variant or spec.variant
    if not variant:
        raise UserError(f"report spec {name!r} names no variant: give one (workbench report VARIANT --spec {name})")
    variant = parse_variant(variant).spec
    key = _key(store, variant)
    omit = Omissions()
    body = spec_blocks(store, spec, variant, omit)
    prose = "".join(f"<p>{html.escape(p)}</p>" for p in spec.prose.split("\n\n") if p.strip())
    page = (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{html.escape(spec.title)}</title>"
            f"<style>{_CSS}</style>\n<script type=\"text/javascript\">{plotly.offline.get_plotlyjs()}</script>\n"
            f"</head><body><h1>{html.escape(spec.title)}</h1><p class=desc>{html.escape(variant)}; report spec "
            f"{html.escape(name)}; written {time.strftime('%Y-%m-%d %H:%M')}</p>{prose}\n{omit.html()}{body}"
            "</body></html>\n")
    return store.write_report(key, page, out if out is not None else store.spec_report_path(key, name))
