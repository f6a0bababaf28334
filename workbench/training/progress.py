"""Training progress in the terminal and in status.json, between checkpoints too.

The bar's label is the run's short label (workbench.core.variant.short_label), cut so that
the percentage, the count, the elapsed and remaining time and the loss fit an 80-column
terminal; the bar itself takes what is left. A run of few long epochs (the interleaved
demo: about a minute each) moves the bar by fractions of an epoch, so it shows signs of
life and a time estimate long before its first epoch ends. `Ticker` does that, and writes
status.json's done/total every few seconds, so the dashboard's progress moves between
checkpoints; it reads the clock once per optimizer step, which is nothing next to a step.
"""

from __future__ import annotations

import math
import shutil
import sys
import time
from typing import Callable

import numpy as np
from tqdm import tqdm  # the plain bar: tqdm.auto warns in notebooks without ipywidgets

__all__ = ["progress_bar", "bar_label", "postfix", "Ticker", "FEW_EPOCHS"]

FEW_EPOCHS = 100  # at most this many epochs: the count shows tenths of an epoch
_LABEL_MIN = 12  # characters of the label kept however narrow the terminal
_RIGHT = 62  # columns the fields take: ": 45%|" "| 1350/3000 [01:10<02:12, loss 0.0123 train 100% test 47%]"
_BAR_MIN = 6  # columns the bar itself keeps


def bar_label(label: str, columns: int | None = None) -> str:
    """`label` cut (with '…') to what leaves the bar's fields visible at `columns` (default: the terminal's)."""
    columns = columns or shutil.get_terminal_size().columns
    room = max(_LABEL_MIN, columns - _RIGHT - _BAR_MIN)
    return label if len(label) <= room else label[:room - 1] + "…"


def _bar_format(total: int) -> str:
    count = "{n:.1f}/{total_fmt}" if total <= FEW_EPOCHS else "{n:.0f}/{total_fmt}"
    return "{desc}: {percentage:3.0f}%|{bar}| " + count + " [{elapsed}<{remaining}{postfix}]"


def progress_bar(total: int, initial: int, label: str, *, disable: bool, file=None) -> tqdm:
    """A tqdm bar over epochs whose label, percentage, time estimate and loss fit the terminal (its
    width followed as it changes), or $COLUMNS (default 80) where the output is not a terminal (a job's log)."""
    out = file or sys.stderr
    tty = hasattr(out, "isatty") and out.isatty()
    return tqdm(total=total, initial=initial, disable=disable, mininterval=0.5, file=file, desc=bar_label(label),
                bar_format=_bar_format(total), dynamic_ncols=tty,
                ncols=None if tty else shutil.get_terminal_size().columns)


def _fmt(value: float, spec: str) -> str:
    return "n/a" if math.isnan(value) else format(value, spec)


def postfix(rows: list[dict[str, float]]) -> str:
    """The loss and accuracy after the bar: short, and honest for a family without a test split."""
    if len(rows) == 1:
        row = rows[0]
        test = "" if math.isnan(row["test_acc"]) else f" test {_fmt(row['test_acc'], '.0%')}"
        return f"loss {_fmt(row['train_loss'], '.3g')} train {_fmt(row['train_acc'], '.0%')}{test}"
    accs = np.array([r["test_acc"] for r in rows])
    if np.isnan(accs).all():
        return f"loss median {np.median([r['train_loss'] for r in rows]):.3g}"
    return f"test acc min {np.nanmin(accs):.3f} med {np.nanmedian(accs):.3f} grok {(accs >= 0.99).sum()}/{len(accs)}"


class Ticker:
    """A training step that, every `every_s` seconds, calls `tick(steps done)` after the step.

    Wraps the stepper `run_epochs` calls (`step(inputs, labels, step)`), so the loop itself
    stays as it is.
    """

    def __init__(self, step: Callable, tick: Callable[[int], None], every_s: float = 2.0):
        self.step, self.tick, self.every_s = step, tick, every_s
        self._next = time.monotonic() + every_s

    def __call__(self, inputs, labels, step: int) -> None:
        self.step(inputs, labels, step)
        now = time.monotonic()
        if now >= self._next:
            self._next = now + self.every_s
            self.tick(step + 1)
