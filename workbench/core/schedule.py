"""Checkpoint schedules: `start:stop:step` ranges (stop excluded) and single epochs.

    >>> checkpoint_epochs("0:300:50", 300)
    [0, 50, 100, 150, 200, 250, 300]

Epoch 0 (init) and the final epoch are always included. Numbers are plain ASCII decimal
(no `1_000`, no full-width digits), and a SPEC may name at most `MAX_CHECKPOINTS` epochs:
the count is checked from the ranges' lengths before any set is built, so
`0:10000000000:1` is refused at once instead of exhausting memory.
"""

from __future__ import annotations

import re

from workbench.core.errors import UserError

__all__ = ["parse_schedule", "checkpoint_epochs", "MAX_CHECKPOINTS"]

MAX_CHECKPOINTS = 100_000  # a checkpoint of the largest variant is ~MBs; 10^5 of them is already a lot
_INT = re.compile(r"[+-]?[0-9]{1,18}", re.ASCII)  # 18 digits: any epoch a run could reach


def _int(text: str, spec: str) -> int:
    text = text.strip()
    if not _INT.fullmatch(text):
        raise UserError(f"malformed schedule {spec!r}: {text!r} is not a plain decimal integer")
    return int(text)


def _part(part: str, spec: str) -> range:
    """One comma-separated part as a range (a single epoch is a range of one)."""
    fields = part.split(":")
    if len(fields) == 1:
        e = _int(fields[0], spec)
        if e < 0:
            raise UserError(f"out-of-range schedule {spec!r}: epoch {e} is negative")
        return range(e, e + 1)
    if len(fields) != 3:
        raise UserError(f"malformed schedule {spec!r}: part {part!r} is neither START:STOP:STEP nor an epoch")
    start, stop, step = (_int(f, spec) for f in fields)
    if step <= 0:
        raise UserError(f"malformed schedule {spec!r}: step in {part!r} must be positive")
    if start < 0 or stop < start:
        raise UserError(f"out-of-range schedule {spec!r}: range {part!r} needs 0 <= start <= stop")
    return range(start, stop, step)


def parse_schedule(spec: str) -> list[int]:
    """Parse a SPEC into its sorted, de-duplicated epochs (without 0/final added).

    Raises:
        UserError for a malformed part, a negative or reversed range, or more than
        MAX_CHECKPOINTS epochs.
    """
    if not spec or not spec.strip():
        raise UserError("malformed schedule '': expected parts like 0:1500:100 or 12000")
    parts = [_part(part.strip(), spec) for part in spec.split(",")]
    count = sum(len(r) for r in parts)  # an upper bound on the epochs (parts may overlap)
    if count > MAX_CHECKPOINTS:
        raise UserError(f"out-of-range schedule {spec!r}: {count:,} checkpoint epochs, more than {MAX_CHECKPOINTS:,}")
    return sorted({e for r in parts for e in r})


def checkpoint_epochs(spec: str, total_epochs: int, clip: bool = False) -> list[int]:
    """The epochs to checkpoint when training `total_epochs`: the SPEC plus 0 and the end.

    Epochs beyond `total_epochs` are an error, or dropped when `clip` is set (family
    default schedules are written for the full recipe and clipped to shorter runs).
    """
    if total_epochs <= 0:
        raise UserError(f"epochs must be positive, got {total_epochs}")
    epochs = parse_schedule(spec)
    beyond = [e for e in epochs if e > total_epochs]
    if beyond and not clip:
        raise UserError(f"out-of-range schedule {spec!r}: epoch {beyond[0]} is past the last epoch {total_epochs}")
    return sorted({0, total_epochs, *(e for e in epochs if e <= total_epochs)})
