"""The index heals (issues 24 and 33): a damaged index.sqlite (one bad page) is moved aside with one
line and rebuilt from the files, its readable jobs and configs carried over, whichever command
meets it first; a damaged row (bad JSON) is read again from the files; a read-only index is one
line, exit 2; nothing is lost."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

from contextlib import closing

import pytest

from workbench.cli import main
from workbench.store import Store
from workbench.store import _indexdb
from workbench.store.index import connect, run_rows, writing
from workbench.store.jobs import list_jobs
from workbench.testing.synthetic import listed_run
from workbench.training.config import stored_configs

SPEC = "modular_addition:p=17,frac_train=0.5"
_OPEN = sqlite3.connect  # before any test patches it


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "store")
    for p in (17, 19, 23):
        listed_run(s, f"modular_addition:p={p},seed=1", test_acc=0.5)
    past = time.time() - 10  # not racy
    for folder, dirs, files in os.walk(s.root):
        for name in files + dirs:
            os.utime(os.path.join(folder, name), (past, past))
    assert main(["configs", "save", "fast17", SPEC, "--epochs", "40", "--store", str(s.root)]) == 0
    with closing(connect(s)) as conn, writing(conn):
        conn.execute("INSERT INTO jobs (kind, target, args, runs, state, created) VALUES ('train', 'x', '{}', '[]', "
                     "'done', ?)", (time.time(),))
    assert len(run_rows(s)) == 3
    return s


def _damage_runs_page(store: Store) -> None:
    """Overwrite the runs table's root page with garbage: SQLite opens the file, then finds it malformed."""
    with sqlite3.connect(store.index_path()) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'runs'").fetchone()[0]
        size = conn.execute("PRAGMA page_size").fetchone()[0]
    with open(store.index_path(), "r+b") as f:
        f.seek((page - 1) * size)
        f.write(b"\xde\xad\xbe\xef" * (size // 4))


def _one_warning(err: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "unusable" in lines[0] and "moved it to" in lines[0] and "Traceback" not in err, err


@pytest.mark.parametrize("argv", [["list"], ["list", "--where", "p=17"], ["index"], ["index", "--rebuild"]])
def test_a_malformed_page_heals_on_the_first_command(store, argv, capsys):
    _damage_runs_page(store)
    with pytest.raises(Exception, match="malformed"):  # what every command met before
        with sqlite3.connect(store.index_path()) as raw:
            raw.execute("SELECT * FROM runs").fetchall()
    capsys.readouterr()
    assert main([*argv, "--store", str(store.root)]) == 0
    out, err = capsys.readouterr()
    _one_warning(err) if argv != ["index", "--rebuild"] else None
    assert "p=17" in out or "runs" in out
    with sqlite3.connect(store.index_path()) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert len(run_rows(store)) == 3 and list(stored_configs(store)) == ["fast17"]  # carried over
    assert [j["target"] for j in list_jobs(store)] == ["x"]
    assert list(Path(store.root).glob("index.sqlite.unusable-*"))  # the damaged file is kept, not deleted
    assert main(["list", "--store", str(store.root)]) == 0 and capsys.readouterr().err == ""  # healed once


def test_a_damaged_row_is_read_again_from_the_files(store):
    with closing(connect(store)) as conn, writing(conn):
        conn.execute("UPDATE runs SET metrics = '{not json' WHERE variant LIKE 'p=17,%'")
    rows = run_rows(store)
    assert rows[0]["metrics"]["test_acc"] == 0.5
    with closing(connect(store)) as conn:
        assert "{not json" not in [r["metrics"] for r in conn.execute("SELECT metrics FROM runs")]


def test_a_damaged_job_or_config_row_is_one_line(store, capsys):
    with closing(connect(store)) as conn, writing(conn):
        conn.execute("UPDATE jobs SET args = '[', runs = '{'")
        conn.execute("UPDATE configs SET body = 'nope'")
    assert main(["jobs", "--store", str(store.root)]) == 0
    assert "damaged" in capsys.readouterr().out
    assert main(["configs", "--store", str(store.root)]) == 0
    assert "fast17" in capsys.readouterr().err  # listed as damaged, the repository's still listed
    assert main(["train", "--config", "fast17", "--store", str(store.root)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is damaged" in err and "--replace" in err


@pytest.fixture
def read_only_index(monkeypatch):
    """Open the index as SQLite opens a file it may not write (we run as root, so chmod would not do)."""
    def connect_ro(path, *args, **kwargs):
        return _OPEN(f"file:{path}?mode=ro", *args, uri=True, **kwargs)

    monkeypatch.setattr(_indexdb.sqlite3, "connect", connect_ro)


@pytest.mark.parametrize("argv", [["index", "--rebuild"], ["configs", "save", "other", SPEC]])
def test_a_read_only_index_is_one_line_exit_2_and_nothing_lost(store, argv, read_only_index, capsys):
    before = _dump(store)
    assert main([*argv, "--store", str(store.root)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("workbench: error: run index") and "readonly" in err and err.count("\n") == 1, err
    assert _dump(store) == before and not list(Path(store.root).glob("index.sqlite.unusable-*"))


def _dump(store: Store) -> list[str]:
    with closing(_OPEN(f"file:{store.index_path()}?mode=ro", uri=True)) as conn:
        return list(conn.iterdump())
