"""What a run's files say about it, as one plain dict: the row the run index keeps.

`run_facts` reads variant.json, metrics.npz, status.json and the epoch markers and
headlines that analyzers declare (through workbench.markers, naming no analyzer), and
lists the checkpoints and analyzers done. A file that cannot be read does not raise: the
row says which file and what is wrong, as `workbench list` shows it.

`stamp` is what says whether a kept row is still true: the (mtime, size) of every file
and folder the row was read from. Store files are replaced atomically, so adding or
rewriting one changes its own stamp or its folder's. A stamp taken within `_RACY_S` of a
write is "racy" (a second write in the same clock tick would not change it) and never
matches, so such a row is read again next time (the racy-git rule).
"""

from __future__ import annotations

import functools
import os
import time

import numpy as np

from workbench.core.errors import CorruptFile, MissingFile
from workbench.store import RunKey, Store

__all__ = ["run_facts", "stamp", "RACY"]

RACY = "racy"  # the stamp of a run written too recently to trust its mtimes
_RACY_S = 2.0  # seconds: coarse filesystem clocks, and NFS clients a little out of step


@functools.lru_cache(maxsize=1)
def _watched() -> tuple[str, ...]:
    """The files and folders whose change can change a run's row, relative to its run directory.

    The same for every run, so computed once (through `Store`, which owns the layout) and
    joined as strings: building Paths was most of a warm listing's time.
    """
    from workbench.core.analyzer import get_analyzer, list_analyzers

    store, key = Store("store"), RunKey("family", "variant")
    paths = [store.variant_path(key), store.metrics_path(key), store.status_path(key),
             store.checkpoint_dir(key), store.run_dir(key) / Store.ANALYSIS_DIR]
    for name in list_analyzers():
        info = get_analyzer(name)
        if info.markers:
            paths.append(store.summary_path(key, name))
        if info.headlines:
            paths.append(store.analysis_dir(key, name))
    run = store.run_dir(key)
    return ("",) + tuple(str(p.relative_to(run)) for p in paths)


def stamp(store: Store, key: RunKey) -> str:
    """'mtime:size;...' of the run's watched paths ('-' for absent ones), or RACY if one is fresh."""
    now, parts, run = time.time(), [], str(store.run_dir(key))
    for rel in _watched():
        try:
            st = os.stat(os.path.join(run, rel) if rel else run)
        except OSError:
            parts.append("-")
            continue
        if st.st_mtime > now - _RACY_S:
            return RACY
        parts.append(f"{st.st_mtime_ns}:{st.st_size}")
    return ";".join(parts)


def _final_metrics(store: Store, key: RunKey) -> dict[str, float]:
    """{metric: its last value} for every 1-D metric in metrics.npz ({} without one)."""
    from workbench._io import load_npz

    try:
        arrays = load_npz(store.metrics_path(key), keys=("test_acc",))
    except MissingFile:
        return {}
    return {name: float(values[-1]) if np.isfinite(values[-1]) else None
            for name, values in arrays.items() if values.ndim == 1 and len(values) and values.dtype.kind in "iuf"}


def _analyses(store: Store, key: RunKey) -> dict:
    """Markers, analyzers that found none of theirs, and headlines (CorruptFile for a bad summary)."""
    from workbench.markers import marker_names, read_headlines, scan_markers

    scan = scan_markers(store, key)
    if scan.corrupt:
        raise scan.corrupt[0]
    declared = marker_names()
    unmarked = sorted(set(declared.values()) - {declared[m] for m in scan.markers})
    unmarked = [a for a in unmarked if store.summary_path(key, a).exists()]
    return {"markers": scan.markers, "unmarked": unmarked, "headlines": read_headlines(store, key)}


def _status(store: Store, key: RunKey) -> dict | None:
    """status.json as written (the reader decides whether "running" is still true)."""
    from workbench._status import read_status
    from workbench._io import load_json

    if read_status(store, key) is None:  # raises CorruptFile for a bad one
        return None
    try:
        return load_json(store.status_path(key), expect=dict)
    except MissingFile:
        return None


def run_facts(store: Store, key: RunKey) -> dict:
    """The run's row: identity, progress, final metrics, markers, headlines and job status.

    Returns:
        A JSON-ready dict. `damaged_record` holds the error when variant.json cannot be
        read (no spec, params or plan then); `damaged` the first other file that cannot be
        (what the rest say is kept).
    """
    from workbench._record import read_record

    row = {"family": key.family, "variant": key.variant,
           "damaged_record": None, "damaged": None, "checkpoints": store.checkpoint_epochs(key),
           "analyzers": store.analyzers_done(key), "metrics": {}, "markers": {}, "unmarked": [], "headlines": {},
           "status": None}
    try:
        info = read_record(store, key)
        row.update(spec=str(info["variant"]), epochs=int(info["epochs"]), config=info.get("config"),
                   params=info.get("params") if isinstance(info.get("params"), dict) else {},
                   recipe=info.get("recipe") if isinstance(info.get("recipe"), dict) else {})
    except (CorruptFile, MissingFile) as err:  # the other files are still read (the compare table shows them)
        row["damaged_record"] = str(err)
    for field, read in (("metrics", _final_metrics), (None, _analyses), ("status", _status)):
        try:
            found = read(store, key)
        except CorruptFile as err:  # the first bad file is named; what the others say is kept
            row["damaged"] = row["damaged"] or str(err)
            continue
        row.update({field: found} if field else found)
    return row
