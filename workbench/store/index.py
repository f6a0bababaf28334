"""The run index: one SQLite file in the store (`Store.index_path()`), so that listing and
querying thousands of runs reads one table instead of every run's files.

The filesystem stays the source of truth. A run's row (`run_facts`: family, params,
recipe, config, run directory, epochs, checkpoints, final metrics, epoch markers,
headlines, job status, tags and note, read from variant.json, metrics.npz, status.json,
annotations.json and the summaries; a file that cannot be read does not raise, the row names it) is derived from
its files and kept with their `stamp`: the (mtime, size) of every file and folder the row
was read from. Store files are replaced atomically, so adding or rewriting one changes its
own stamp or its folder's; a stamp taken within `_RACY_S` of a write is "racy" (a second
write in the same clock tick would not change it) and never matches (the racy-git rule). Every
read re-stats the run and reads again the rows whose stamp changed, the runs that are new,
and drops those that are gone, so a stale or missing index never gives a wrong answer,
only a slower one. `workbench index --rebuild` regenerates every row from the store alone.
Tables that own data with no file (jobs, named configs) live here too, and `rebuild`
keeps them.

The index heals: a file SQLite finds damaged (not a database, a malformed page) is moved
aside with one line on stderr the first time a listing or a rebuild meets it, its
readable jobs and configs are carried into a new file, and the rows are read again from
the files. Every SQLite failure reaches callers as one line: `IndexUnavailable` (damaged,
or from a newer workbench) or `IndexBusy` (locked, read-only), never a traceback.

Writers (train and analyze at their end, Ray workers, two CLI processes, the dashboard)
share the file in WAL mode with short `BEGIN IMMEDIATE` transactions and a busy timeout,
so concurrent writers wait for each other instead of failing or corrupting it. Every
statement is parameterized; no SQL is built from user input.
"""

from __future__ import annotations

import functools
import json
import os
import sqlite3
import sys
import time
from contextlib import closing
from typing import Iterable

import numpy as np

from workbench.core.analyzer import get_analyzer, list_analyzers
from workbench.core.errors import CorruptFile, MissingFile, UserError
from workbench.store._indexdb import SCHEMA_VERSION, IndexBusy, IndexUnavailable, connect, set_aside, writing
from workbench.store.annotations import read_annotations
from workbench.store.file_store import RunKey, Store
from workbench.store.markers import marker_names, read_headlines, scan_markers

__all__ = ["connect", "writing", "run_rows", "refresh", "rebuild", "run_facts", "stamp", "RACY", "IndexUnavailable",
           "IndexBusy", "SCHEMA_VERSION"]

_CHUNK = 200  # rows per transaction: short transactions keep other writers waiting briefly

_JSON_COLUMNS = ("checkpoints", "analyzers", "params", "recipe", "metrics", "markers", "unmarked", "headlines",
                 "status", "tags")
_PLAIN_COLUMNS = ("family", "variant", "spec", "config", "epochs", "damaged_record", "damaged", "note")


# ------------------------------------------------------------------- run facts
RACY = "racy"  # the stamp of a run written too recently to trust its mtimes
_RACY_S = 2.0  # seconds: coarse filesystem clocks, and NFS clients a little out of step


@functools.lru_cache(maxsize=1)
def _watched() -> tuple[str, ...]:
    """The files and folders whose change can change a run's row, relative to its run directory.

    The same for every run, so computed once (through `Store`, which owns the layout) and
    joined as strings: building Paths was most of a warm listing's time.
    """
    store, key = Store("store"), RunKey("family", "variant")
    paths = [store.variant_path(key), store.metrics_path(key), store.status_path(key), store.annotations_path(key),
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
    try:
        arrays = store.read_metrics(key, keys=("test_acc",))
    except MissingFile:
        return {}
    return {name: float(values[-1]) if np.isfinite(values[-1]) else None
            for name, values in arrays.items() if values.ndim == 1 and len(values) and values.dtype.kind in "iuf"}


def _analyses(store: Store, key: RunKey) -> dict:
    """Markers, analyzers that found none of theirs, and headlines (CorruptFile for a bad summary)."""
    scan = scan_markers(store, key)
    if scan.corrupt:
        raise scan.corrupt[0]
    declared = marker_names()
    unmarked = sorted(set(declared.values()) - {declared[m] for m in scan.markers})
    unmarked = [a for a in unmarked if store.has_summary(key, a)]
    return {"markers": scan.markers, "unmarked": unmarked, "headlines": read_headlines(store, key)}


def _status(store: Store, key: RunKey) -> dict | None:
    """status.json as written (the reader decides whether "running" is still true); CorruptFile for a bad one."""
    return store.read_status(key, as_written=True)


def run_facts(store: Store, key: RunKey) -> dict:
    """The run's row: identity, progress, final metrics, markers, headlines and job status.

    Returns:
        A JSON-ready dict. `damaged_record` holds the error when variant.json cannot be
        read (no spec, params or plan then); `damaged` the first other file that cannot be
        (what the rest say is kept).
    """
    row = {"family": key.family, "variant": key.variant,
           "damaged_record": None, "damaged": None, "checkpoints": store.checkpoint_epochs(key),
           "analyzers": store.analyzers_done(key), "metrics": {}, "markers": {}, "unmarked": [], "headlines": {},
           "status": None, "tags": [], "note": None}
    try:
        info = store.read_record(key)
        row.update(spec=info.variant, epochs=info.epochs, config=info.config, params=info.params or {},
                   recipe=info.recipe or {})
    except (CorruptFile, MissingFile) as err:  # the other files are still read (the compare table shows them)
        row["damaged_record"] = str(err)
    for field, read in (("metrics", _final_metrics), (None, _analyses), ("status", _status), (None, read_annotations)):
        try:
            found = read(store, key)
        except CorruptFile as err:  # the first bad file is named; what the others say is kept
            row["damaged"] = row["damaged"] or str(err)
            continue
        row.update({field: found} if field else found)
    return row


# ------------------------------------------------------------------------ rows
def _encode(row: dict, run_stamp: str) -> tuple:
    ckpts = row.get("checkpoints") or []
    return (*(row.get(c) for c in _PLAIN_COLUMNS), ckpts[-1] if ckpts else 0, len(ckpts),
            *(json.dumps(row.get(c)) for c in _JSON_COLUMNS), run_stamp, time.time())


_UPSERT = (f"INSERT OR REPLACE INTO runs ({', '.join(_PLAIN_COLUMNS)}, epochs_done, n_checkpoints, "
           f"{', '.join(_JSON_COLUMNS)}, stamp, indexed) VALUES ({', '.join('?' * (len(_PLAIN_COLUMNS) + len(_JSON_COLUMNS) + 4))})")


def _decode(record: sqlite3.Row) -> dict | None:
    """An indexed row as run_facts gave it; None for a damaged one (it is read again from the files)."""
    try:
        row = {c: record[c] for c in _PLAIN_COLUMNS}
        row.update({c: json.loads(record[c]) for c in _JSON_COLUMNS})
    except (TypeError, ValueError):
        return None
    return row


def _save(conn: sqlite3.Connection, fresh: list[tuple[RunKey, str, dict]], gone: Iterable[RunKey] = ()) -> None:
    """Write rows (and drop vanished runs) in short transactions."""
    for i in range(0, len(fresh), _CHUNK):
        with writing(conn):
            conn.executemany(_UPSERT, [_encode(row, s) for _, s, row in fresh[i:i + _CHUNK]])
    gone = list(gone)
    if gone:
        with writing(conn):
            conn.executemany("DELETE FROM runs WHERE family = ? AND variant = ?", gone)


def _with_dir(store: Store, row: dict) -> dict:
    return {**row, "run_dir": str(store.run_dir(RunKey(row["family"], row["variant"])))}


def _warn(err: BaseException | str) -> None:
    print(f"workbench: warning: {err}", file=sys.stderr)


def _usable(store: Store) -> bool:
    """Whether the index may be opened: the store exists and can be written."""
    return store.root.is_dir() and os.access(store.root, os.W_OK)


def _healing(store: Store, work):
    """`work()`, and once more after moving a damaged index aside (`_indexdb.set_aside`)."""
    try:
        return work()
    except IndexUnavailable as err:
        if not err.damaged:
            raise
        set_aside(store, err)
    return work()


def run_rows(store: Store) -> list[dict]:
    """Every run in the store, as current rows (see module docstring), in `store.runs()` order.

    Rows whose run changed since they were indexed are read again from the files and
    written back; a damaged index is moved aside and rebuilt (one line on stderr); one that
    cannot be used (a read-only store, one from a newer workbench, locked: warned) is
    bypassed and every row read from the files.
    """
    keys = store.runs()
    if not keys or not _usable(store):
        return [_with_dir(store, run_facts(store, k)) for k in keys]
    try:
        out = _healing(store, lambda: _indexed_rows(store, keys))
    except UserError as err:
        _warn(err)
        out = [run_facts(store, k) for k in keys]
    return [_with_dir(store, row) for row in out]


def _indexed_rows(store: Store, keys: list[RunKey]) -> list[dict]:
    with closing(connect(store)) as conn:
        kept = {RunKey(r["family"], r["variant"]): r for r in conn.execute("SELECT * FROM runs")}
        out, fresh = [], []
        for key in keys:
            s, old = stamp(store, key), kept.get(key)
            row = _decode(old) if old is not None and s != RACY and old["stamp"] == s else None
            if row is None:
                row = run_facts(store, key)
                fresh.append((key, s, row))
            out.append(row)
        try:
            _save(conn, fresh, set(kept) - set(keys))
        except IndexBusy as err:  # another writer held it past the timeout, or read-only: the answer is still right
            _warn(f"run index not updated: {err}")
    return out


def refresh(store: Store, keys: Iterable[RunKey]) -> None:
    """Re-index these runs now (train and analyze call this at their end); never raises.

    The index is derived data: if it cannot be written, the next reader reads the files.
    """
    if not store.root.is_dir():
        return
    try:
        fresh = [(RunKey(*k), stamp(store, RunKey(*k)), run_facts(store, RunKey(*k))) for k in keys]

        def save() -> None:
            with closing(connect(store)) as conn:
                _save(conn, fresh)

        _healing(store, save)
    except (UserError, OSError) as err:
        _warn(f"run index not updated: {err}")


def rebuild(store: Store) -> tuple[int, str | None]:
    """Regenerate every run row from the store; an index SQLite finds damaged anywhere
    (`PRAGMA quick_check`) is moved aside first, its readable jobs and configs carried over.

    Returns:
        (runs indexed, the path the unusable file was moved to, or None).
    Raises:
        UserError if the store does not exist or cannot be written, or the index cannot be (read-only).
    """
    if not store.root.is_dir():
        raise UserError(f"store {str(store.root)!r} does not exist")
    store.ensure_writable()
    moved = None
    try:
        with closing(connect(store)) as conn:
            check = conn.execute("PRAGMA quick_check").fetchone()[0]
            if check != "ok":
                raise IndexUnavailable(store.index_path(), f"damaged: {check}", inode=conn.inode)
    except IndexUnavailable as err:
        moved = set_aside(store, err)
    with closing(connect(store)) as conn:
        keys = store.runs()
        fresh = [(k, stamp(store, k), run_facts(store, k)) for k in keys]
        with writing(conn):
            conn.execute("DELETE FROM runs")
        _save(conn, fresh)
    return len(keys), moved
