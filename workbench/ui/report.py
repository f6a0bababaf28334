"""One standalone, offline HTML report per variant: a summary, every whole-run view, and
every per-epoch view at a few telling epochs (init, end of memorization, the epoch markers
such as the turn's onset, the end).

A file that cannot be read leaves out only what needs it: the report says what was left
out and why at its top, and one stderr line names each such file. Only an unreadable
variant.json stops it.

plotly.js is inlined exactly once; each figure is a `<div>` plus a call into it. No file
is fetched from the network (no CDN, no MathJax), so the report opens on a plane.
"""

from __future__ import annotations

import re

import html
import sys
import time
from pathlib import Path

import numpy as np

from workbench.core.errors import CorruptFile, UserError
from workbench.core.schedule import parse_schedule
from workbench.core.view import get_view
from workbench.query.views import is_placeholder, run_spec, run_views, source_refs, view_figure
from workbench.store import ArraysRef, RunKey, Store
from workbench.store.markers import marker_label, marker_names, read_headlines, scan_markers
from workbench.ui.report_page import LOG_X, figure_html, page, sectioned
from workbench.ui.sections import report_sections

__all__ = ["write_report", "telling_epochs", "label_word", "NEAREST", "report_summary", "Omissions"]

MEMORIZED_ACC = 0.99  # train accuracy that marks the end of memorization


class Omissions:
    """What the report leaves out because a file could not be read: {file: (problem, [what])}."""

    def __init__(self) -> None:
        self.files: dict[str, tuple[str, list[str]]] = {}

    def add(self, err: CorruptFile, what: str) -> None:
        """Record that `what` is left out because of `err` (warn on stderr the first time a file fails)."""
        if str(err.path) not in self.files:
            from tqdm import tqdm

            tqdm.write(f"workbench: warning: report leaves out what needs {err.path}: {err.problem}", file=sys.stderr)
            self.files[str(err.path)] = (err.problem, [])
        self.files[str(err.path)][1].append(what)

    def load(self, store: Store, key: RunKey, ref: ArraysRef, what: str) -> dict | None:
        """The arrays of `ref`, or None if they are absent or unreadable (then recorded)."""
        try:
            return store.read_arrays(key, ref) if store.has_arrays(key, ref) else None
        except CorruptFile as err:
            self.add(err, what)
            return None

    def html(self) -> str:
        if not self.files:
            return ""
        items = "".join(f"<li><code>{html.escape(f)}</code>: {html.escape(problem)}; left out: "
                        f"{html.escape(', '.join(dict.fromkeys(what)))}</li>" for f, (problem, what) in self.files.items())
        return f"<div class=omitted><b>Left out: files that could not be read</b><ul>{items}</ul></div>\n"


def _markers(store: Store, key: RunKey, omit: Omissions) -> dict[str, int]:
    scan = scan_markers(store, key)
    for err in scan.corrupt:
        omit.add(err, "epoch markers")
    return scan.markers


NEAREST = ", the nearest checkpoint"  # a marker label's tail where the marker falls between checkpoints


def label_word(label: str) -> str:
    """The epoch word of a `telling_epochs` label: 'turn onset 750, the nearest checkpoint' -> 'turn onset'."""
    return re.sub(rf" [0-9.e+-]+{re.escape(NEAREST)}$", "", label)


def telling_epochs(store: Store, key: RunKey, omit: Omissions | None = None) -> dict[int, list[str]]:
    """Checkpoint epochs worth a look, each with why: init, end of memorization, markers, end.

    Args:
        store: the store.
        key: the run.
        omit: collects files that could not be read (their marks are left out).
    Returns:
        {epoch: [labels]} in epoch order (one epoch may carry several labels); the markers
        are the summary analyzers' (workbench.store.markers), e.g. the turn's onset.
    """
    omit = omit if omit is not None else Omissions()
    ckpts = store.checkpoint_epochs(key)
    if not ckpts:
        return {}
    marks: dict[int, list[str]] = {ckpts[0]: ["init"]}
    metrics = omit.load(store, key, ArraysRef("metrics"), "end of memorization")
    if metrics is not None and len(metrics.get("epoch", ())) and "train_acc" in metrics:
        hit = np.flatnonzero(metrics["train_acc"] >= MEMORIZED_ACC)
        later = [c for c in ckpts if hit.size and c >= metrics["epoch"][hit[0]]]
        if later:
            marks.setdefault(later[0], []).append("end of memorization")
    for name, epoch in _markers(store, key, omit).items():
        nearest = min(ckpts, key=lambda c: abs(c - epoch))  # the heading then says where the marker itself is,
        exact = nearest == epoch  # as the summary does ("Epoch 700 (turn onset 750, the nearest checkpoint)")
        marks.setdefault(nearest, []).append(marker_label(name) + ("" if exact else f" {epoch:g}{NEAREST}"))
    marks.setdefault(ckpts[-1], []).append("end")
    return dict(sorted(marks.items()))


def _chosen_epochs(store: Store, key: RunKey, spec: str | None, omit: Omissions) -> dict[int, list[str]]:
    if spec is None:
        return telling_epochs(store, key, omit)

    ckpts = store.checkpoint_epochs(key)
    chosen = [e for e in parse_schedule(spec) if e in set(ckpts)]
    if not chosen:
        raise UserError(f"no checkpoints match --epochs {spec!r}; checkpoints: {ckpts}")
    return {e: [] for e in chosen}


def _metric_rows(metrics: dict | None) -> list[tuple[str, str]]:
    names = ("epoch", "train_acc", "test_acc", "train_loss", "test_loss")
    if metrics is None or not all(n in metrics for n in names) or not len(metrics["epoch"]):
        return []
    last = {n: metrics[n][-1] for n in names}
    # a split with no rows (e.g. no test set under fresh batches) has NaN metrics: shown as absent
    shown = {n: "—" if np.isnan(v) else f"{v:{'.3f' if n.endswith('acc') else '.3g'}}" for n, v in last.items()}
    return [("trained epochs", str(int(last["epoch"]))),
            ("final train / test accuracy", f"{shown['train_acc']} / {shown['test_acc']}"),
            ("final train / test loss", f"{shown['train_loss']} / {shown['test_loss']}")]


def _marker_rows(store: Store, key: RunKey, omit: Omissions) -> list[tuple[str, str]]:
    found = _markers(store, key, omit)
    return [(marker_label(m), f"epoch {found[m]}" if m in found else
             "not detected" if store.has_summary(key, analyzer) else "not analyzed")
            for m, analyzer in marker_names().items()]


def report_summary(store: Store, key: RunKey, omit: Omissions | None = None) -> list[tuple[str, str]]:
    """(label, value) rows: final accuracies, epoch markers, and the headlines analyzers
    declare (e.g. key frequencies, embedding frequencies, participation ratios, primes whose
    accuracy regressed).

    A row whose file cannot be read is left out and recorded in `omit`.
    """
    omit = omit if omit is not None else Omissions()
    rows = _metric_rows(omit.load(store, key, ArraysRef("metrics"), "summary: final accuracy and loss"))
    rows += _marker_rows(store, key, omit)
    headlines = read_headlines(store, key, on_error=lambda err: omit.add(err, "summary: headlines"))
    rows += [(f"{name.replace('_', ' ')} (final)", value.replace(",", ", ")) for name, value in headlines.items()]
    return rows


def _unreadable(store: Store, key: RunKey, name: str, epoch: int | None) -> CorruptFile | None:
    """The first of a view's source files that exists but cannot be read, if any."""
    for ref in source_refs(store, key, name, epoch):
        try:
            store.read_arrays(key, ref) if store.has_arrays(key, ref) else None
        except CorruptFile as err:
            return err
    return None


def _view_block(store: Store, key: RunKey, name: str, epoch: int | None, omit: Omissions) -> str:
    """A view's heading, description and figure; '' if a file it needs is corrupt (recorded)."""
    fig = view_figure(store, key, name, epoch)
    if is_placeholder(fig):  # missing data keeps its hint; a corrupt file leaves the view out
        err = _unreadable(store, key, name, epoch)
        if err is not None:
            omit.add(err, name + (f" at epoch {epoch}" if epoch is not None else ""))
            return ""
    desc = html.escape(get_view(name).description)
    return f"<h3>{html.escape(name)}</h3><p class=desc>{desc}</p>\n{figure_html(fig)}\n"


def _versions(store: Store, key: RunKey) -> str:
    """'torch 2.13.0, ...' from variant.json, which must be readable for a report at all."""
    versions = store.read_record(key).versions
    return ", ".join(f"{k} {v}" for k, v in versions.items()) if versions else ""


def _sections(store: Store, key: RunKey, epochs: dict[int, list[str]], omit: Omissions,
              progress: bool) -> list[tuple[str, str, str]]:
    """(anchor, heading, body html) per report section."""
    from tqdm import tqdm


    trajectory, per_epoch = run_views(store, key, scope="trajectory"), run_views(store, key, scope="epoch")
    rows = report_summary(store, key, omit)
    versions = _versions(store, key)
    rows += [("library versions", versions)] if versions else []
    table = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in rows)
    sections = [("summary", "Summary", f"<table class=summary>{table}</table>")]
    with tqdm(total=len(trajectory) + len(epochs) * len(per_epoch), desc="report",
              unit="figure", file=sys.stderr, disable=not progress, leave=False) as bar:
        def block(name: str, epoch: int | None) -> str:
            bar.set_postfix_str(name + (f" @ {epoch}" if epoch is not None else ""), refresh=False)
            out = _view_block(store, key, name, epoch, omit)
            bar.update()
            return out

        sections.append(("trajectories", "Over training", LOG_X + "".join(block(n, None) for n in trajectory)))
        sections += report_sections(store, key, figure_html)  # the family's spread presets around this run
        for epoch, why in epochs.items():
            label = f"Epoch {epoch}" + (f" ({', '.join(why)})" if why else "")
            sections.append((f"epoch-{epoch}", label, "".join(block(n, epoch) for n in per_epoch)))
    return sections


def write_report(store: Store, key: RunKey, out: str | Path | None = None, epochs: str | None = None,
                 progress: bool = False) -> Path:
    """Write the standalone offline HTML report of one run.

    A view or summary row whose file cannot be read is left out; the report lists what was
    left out and why at its top, and one stderr line names each such file.

    Args:
        store: the store.
        key: the run.
        out: output file (default: the run's report.html in the store).
        epochs: schedule SPEC of checkpoints for the per-epoch views (default: init, end of
            memorization, epoch markers such as the turn, end).
        progress: show a progress bar over the figures on stderr.
    Returns:
        The path written.
    Raises:
        UserError if the run does not exist, no checkpoint matches `epochs`, or the output
        cannot be written; CorruptFile if the run's variant.json cannot be read.
    """
    spec = run_spec(key)
    if not store.exists(key):
        raise UserError(f"no trained run for {spec!r} in {store.root}; run: workbench train {spec}")
    _versions(store, key)  # a run without a readable record cannot be reported: fail before the work
    omit = Omissions()
    sections = _sections(store, key, _chosen_epochs(store, key, epochs, omit), omit, progress)
    nav, content = sectioned(sections)
    body = f"<p class=desc>written {time.strftime('%Y-%m-%d %H:%M')}</p><nav>{nav}</nav>\n{omit.html()}{content}"
    return store.write_report(key, page(spec, body), out)
