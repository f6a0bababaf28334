"""What a caller holds of a stored thing, without its path: a table of arrays (`ArraysRef`)
and a checkpoint read once (`StoredCheckpoint`, with its identity)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from workbench.store._io import _reading, load_safetensors

__all__ = ["ArraysRef", "StoredCheckpoint", "checkpoint_identity", "METRICS"]

METRICS = "metrics"  # the source name of a run's metrics table (views name it among analyzers)


class ArraysRef(NamedTuple):
    """One table of arrays of a run: its metrics (source METRICS), an analyzer's summary
    (epoch None), its artifact at `epoch`, or its null (`null`: the draws of its declared
    chance level, workbench.analysis.nulls). What a view reads, named without a path."""

    source: str
    epoch: int | None = None
    null: bool = False


def checkpoint_identity(raw: bytes) -> str:
    """Identity of a checkpoint's contents, stored in each artifact to detect stale ones.

    Hashes the tensor bytes and the header with its keys sorted: safetensors writes the
    metadata in a per-process order, so the same weights saved twice differ as bytes.

    Raises:
        ValueError if `raw` is not a safetensors file.
    """
    try:
        n = int.from_bytes(raw[:8], "little")
        header = json.dumps(json.loads(raw[8:8 + n]), sort_keys=True).encode()
    except ValueError as err:
        raise ValueError(f"not a safetensors file ({err})") from None
    return hashlib.sha256(header + raw[8 + n:]).hexdigest()[:16]


@dataclass(frozen=True)
class StoredCheckpoint:
    """One checkpoint file read once (`Store.read_checkpoint`): its identity now, its tensors when asked for."""

    epoch: int
    identity: str
    path: Path  # where it was read from, for messages
    raw: bytes

    def weights(self, device: str = "cpu") -> dict:
        """The checkpoint's tensors (CorruptFile if they cannot be parsed)."""
        with _reading(self.path):
            return load_safetensors(self.raw, device=device)
