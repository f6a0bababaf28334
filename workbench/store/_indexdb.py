"""The run index's SQLite file: connection, schema and migrations, and healing a damaged file.

Every SQLite failure leaves here as one line: `IndexUnavailable` for a file SQLite cannot
use (not a database, a malformed page, a newer schema) and `IndexBusy` for one it cannot
use now (locked past the busy timeout, read-only, a missing folder). A connection runs
each statement to completion (`_Result` holds its rows), so a damaged page met while
reading is reported where the statement runs, not later inside a caller's loop.

`set_aside` moves a damaged file out of the way (one line on stderr) and carries what it
can still read of the tables that have no other home (jobs, configs) into a new file;
workbench.store.index then reads the run rows again from the files, which are the truth.
"""

from __future__ import annotations

import os
import sqlite3
import sys
import time
from contextlib import closing, contextmanager
from typing import Iterator

from workbench.core.errors import UserError
from workbench.store.file_store import Store

__all__ = ["connect", "writing", "set_aside", "IndexUnavailable", "IndexBusy", "SCHEMA_VERSION"]

SCHEMA_VERSION = 3
_BUSY_MS = 30_000  # how long a writer waits for another's transaction before giving up

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS runs (
        family TEXT NOT NULL, variant TEXT NOT NULL, spec TEXT, config TEXT, epochs INTEGER,
        epochs_done INTEGER, n_checkpoints INTEGER, checkpoints TEXT, analyzers TEXT, params TEXT, recipe TEXT,
        metrics TEXT, markers TEXT, unmarked TEXT, headlines TEXT, status TEXT, damaged_record TEXT, damaged TEXT,
        stamp TEXT NOT NULL, indexed REAL NOT NULL, tags TEXT, note TEXT, PRIMARY KEY (family, variant))""",
    """CREATE TABLE IF NOT EXISTS jobs (
        id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, target TEXT NOT NULL, args TEXT NOT NULL,
        runs TEXT NOT NULL, state TEXT NOT NULL, pid INTEGER, created REAL NOT NULL, started REAL,
        finished REAL, error TEXT, pid_start INTEGER, own_group INTEGER)""",
    """CREATE TABLE IF NOT EXISTS configs (
        name TEXT PRIMARY KEY, body TEXT NOT NULL, saved REAL NOT NULL)""",
)
_MIGRATIONS = {  # schema version -> the statements that bring a file from the version before to it
    2: ("ALTER TABLE jobs ADD COLUMN pid_start INTEGER",  # a job's process: pid + start time (store._proc)
        "ALTER TABLE jobs ADD COLUMN own_group INTEGER"),
    3: ("ALTER TABLE runs ADD COLUMN tags TEXT",  # a run's tags and note (workbench.store.annotations)
        "ALTER TABLE runs ADD COLUMN note TEXT",
        "DELETE FROM runs"),  # rows from before have no tags: every run is read again from its files
}
_CARRIED = ("jobs", "configs")  # tables a damaged file's readable rows are carried over from
_DAMAGED = (11, 26)  # SQLITE_CORRUPT, SQLITE_NOTADB


class IndexUnavailable(UserError):
    """The index file exists but SQLite cannot use it (corrupt, or from a newer workbench).

    `damaged` says whether the file itself is bad (then it may be moved aside and rebuilt),
    `problem` what SQLite said, and `inode` is the file's, so that of two processes only
    the first moves it.
    """

    def __init__(self, path: object, problem: str, damaged: bool = True, inode: int | None = None):
        self.problem, self.damaged, self.inode = problem, damaged, inode
        super().__init__(f"run index {path} is unusable ({problem}); " + (
            "`workbench index --rebuild` or `workbench list` recreates it from the store" if damaged else
            "use the workbench that wrote it, or move the file away"))


class IndexBusy(UserError):
    """The index cannot be opened or written now (locked past the timeout, a read-only or missing folder)."""


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split())


class _Result:
    """A statement's outcome, its rows read to the end (what callers use of a cursor)."""

    def __init__(self, cursor: sqlite3.Cursor):
        self.rows, self.lastrowid, self.rowcount = cursor.fetchall(), cursor.lastrowid, cursor.rowcount

    def fetchall(self) -> list:
        return self.rows

    def fetchone(self):
        return self.rows[0] if self.rows else None

    def __iter__(self):
        return iter(self.rows)


class _Connection(sqlite3.Connection):
    """A connection whose every failure is IndexUnavailable or IndexBusy (one line)."""

    path: str = ""
    inode: int | None = None

    def _failure(self, err: sqlite3.Error) -> Exception:
        code = getattr(err, "sqlite_errorcode", None)
        if code in _DAMAGED or type(err) is sqlite3.DatabaseError:
            return IndexUnavailable(self.path, _one_line(err), inode=self.inode)
        if isinstance(err, sqlite3.OperationalError):  # locked past the timeout, read-only: not the file's fault
            return IndexBusy(f"run index {self.path} cannot be used now: {_one_line(err)}")
        return err  # a statement's own mistake (a constraint, a misuse): a bug, not the file's

    def execute(self, sql, parameters=()):  # type: ignore[override]
        try:
            return _Result(super().execute(sql, parameters))
        except sqlite3.Error as err:
            raise self._failure(err) from None

    def executemany(self, sql, seq):  # type: ignore[override]
        try:
            return _Result(super().executemany(sql, seq))
        except sqlite3.Error as err:
            raise self._failure(err) from None


def connect(store: Store) -> sqlite3.Connection:
    """Open (creating if needed) the store's index in WAL mode with the current schema.

    Raises:
        IndexUnavailable for a file that is not a usable SQLite database; IndexBusy where it
        cannot be opened now (a missing or read-only folder, locked past the busy timeout).
    """
    path = store.index_path()
    try:
        conn = sqlite3.connect(path, timeout=_BUSY_MS / 1000, isolation_level=None, factory=_Connection)
        conn.path, conn.inode = str(path), os.stat(path).st_ino
    except (sqlite3.Error, OSError) as err:  # a missing or unreadable folder
        raise IndexBusy(f"run index {path} cannot be opened: {_one_line(err)}") from None
    try:
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {_BUSY_MS:d}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        _ensure_schema(conn)
    except UserError:
        conn.close()
        raise
    return conn


def _ensure_schema(conn: _Connection) -> None:
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version == SCHEMA_VERSION:
        return
    if version > SCHEMA_VERSION:
        raise IndexUnavailable(conn.path, f"schema version {version} is newer than this workbench's {SCHEMA_VERSION}",
                               damaged=False)
    with writing(conn):
        version = conn.execute("PRAGMA user_version").fetchone()[0]  # another process may have got here first
        for statement in _SCHEMA if version == 0 else [s for v in range(version + 1, SCHEMA_VERSION + 1)
                                                       for s in _MIGRATIONS[v]]:
            conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION:d}")


@contextmanager
def writing(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One short write transaction: BEGIN IMMEDIATE (takes the write lock up front) ... COMMIT."""
    conn.execute("BEGIN IMMEDIATE")  # IndexBusy if another writer held it past the busy timeout
    try:
        yield conn
    except BaseException:
        try:
            conn.execute("ROLLBACK")
        except UserError:
            pass  # SQLite rolled it back itself (a failed statement on a damaged or read-only file)
        raise
    conn.execute("COMMIT")


# ---------------------------------------------------------------------- healing
def set_aside(store: Store, err: IndexUnavailable) -> str | None:
    """Move a damaged index file aside (with its -wal/-shm) and start a new one holding what
    can still be read of its jobs and configs; warn once. Returns where it went, or None
    if another process already replaced it."""
    path = store.index_path()
    try:
        if err.inode is not None and os.stat(path).st_ino != err.inode:
            return None  # another process healed it first
        moved = f"{path}.unusable-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
        os.replace(path, moved)
    except FileNotFoundError:
        return None
    for suffix in ("-wal", "-shm"):
        if os.path.exists(f"{path}{suffix}"):
            os.replace(f"{path}{suffix}", f"{moved}{suffix}")
    carried = _carry(moved, store)
    print(f"workbench: warning: run index {path} was unusable ({err.problem}); moved it to {moved} and rebuilt it "
          "from the store's files"
          + (f" ({carried} carried over)" if carried else ""), file=sys.stderr)
    return moved


def _carry(old: str, store: Store) -> str:
    """Copy the readable rows of the damaged file's jobs and configs into the new index."""
    counts = []
    try:
        src = sqlite3.connect(f"file:{old}?mode=ro", uri=True)
    except sqlite3.Error:
        return ""
    with closing(src), closing(connect(store)) as dst:
        for table in _CARRIED:
            try:
                cursor = src.execute(f"SELECT * FROM {table}")  # a constant name, never user input
                names = [d[0] for d in cursor.description]
                rows = cursor.fetchall()
            except sqlite3.Error:
                continue  # the damage is in this table: its rows are lost, the moved file keeps them
            keep = [n for n in names if n in _columns(dst, table)]
            with writing(dst):
                dst.executemany(f"INSERT OR IGNORE INTO {table} ({', '.join(keep)}) VALUES "
                                f"({', '.join('?' * len(keep))})", [[r[names.index(n)] for n in keep] for r in rows])
            counts.append(f"{len(rows)} {table}")
    return ", ".join(counts)


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
