"""The SQLite run index: rows equal what the files say, stay right when the files change
behind its back, survive concurrent writers, and `index --rebuild` regenerates them."""

from __future__ import annotations

import math
import os
import sqlite3
import subprocess
import sys
import time

import numpy as np
import pytest

from workbench.cli import main
from workbench.store import Store
from workbench.store._io import save_npz
from workbench.store.index import connect, rebuild, refresh, run_facts, run_rows
from workbench.testing.synthetic import listed_run


def _age(store: Store, seconds: float = 10.0) -> None:
    """Backdate every file and folder, as if written `seconds` ago (so stamps are not racy)."""
    past = time.time() - seconds
    for folder, dirs, files in os.walk(store.root):
        for name in files + dirs:
            os.utime(os.path.join(folder, name), (past, past))
    os.utime(store.root, (past, past))


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "store")
    listed_run(s, "modular_addition:p=17,seed=1", test_acc=0.25, onset=300)
    listed_run(s, "modular_addition:p=19,seed=1", test_acc=1.0, onset=math.nan)
    listed_run(s, "modular_addition:p=23,seed=2", test_acc=0.5)
    _age(s)
    return s


def _indexed(store: Store) -> dict[str, str]:
    with connect(store) as conn:
        return {r["variant"]: r["stamp"] for r in conn.execute("SELECT variant, stamp FROM runs")}


def test_rows_are_what_the_files_say_and_are_kept(store):
    rows = run_rows(store)
    assert [r["spec"] for r in rows] == [run_facts(store, k)["spec"] for k in store.runs()]
    first = rows[0]
    assert first["metrics"]["test_acc"] == 0.25 and first["markers"]["turn_onset_epoch"] == 300
    assert first["checkpoints"] == list(range(0, 1001, 100)) and first["params"]["p"] == 17
    assert rows[1]["markers"] == {} and "turn" in rows[1]["unmarked"]  # analyzed, no turn
    assert rows[2]["unmarked"] == [] and rows[2]["run_dir"] == str(store.run_dir(store.runs()[2]))
    assert len(_indexed(store)) == 3 and "racy" not in _indexed(store).values()
    assert run_rows(store) == rows  # the second read comes from the index


def test_a_stale_index_never_answers_wrong(store):
    run_rows(store)
    key = store.runs()[0]
    listed_run(store, "modular_addition:p=17,seed=1", test_acc=0.75, onset=500)  # rewritten behind its back
    listed_run(store, "modular_addition:p=29,seed=0", test_acc=0.1)  # a new run
    import shutil

    shutil.rmtree(store.run_dir(store.runs()[2]))  # p=23 removed
    rows = {r["spec"].split(":")[1].split(",")[0]: r for r in run_rows(store)}
    assert set(rows) == {"p=17", "p=19", "p=29"}
    assert rows["p=17"]["metrics"]["test_acc"] == 0.75 and rows["p=17"]["markers"]["turn_onset_epoch"] == 500
    assert key in store.runs() and len(_indexed(store)) == 3


def test_a_file_corrupted_in_place_shows_as_damaged(store):
    run_rows(store)
    path = store.metrics_path(store.runs()[0])
    path.write_bytes(path.read_bytes()[:40])
    rows = run_rows(store)
    assert rows[1]["damaged"] is None and str(path) in rows[0]["damaged"]


def test_a_running_status_of_a_dead_process_reads_interrupted(store, capsys):
    from workbench.store._io import save_json

    key = store.runs()[0]
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    save_json({"job": "train", "state": "running", "done": 400, "total": 1000, "pid": int(dead.stdout),
               "updated": time.time() - 10}, store.status_path(key))
    _age(store)
    run_rows(store)
    assert main(["list", "--long", "--store", str(store.root)]) == 0
    assert "interrupted: train at 400/1000" in capsys.readouterr().out


def test_refresh_and_rebuild(store):
    refresh(store, store.runs()[:1])
    assert list(_indexed(store)) == [store.runs()[0].variant]
    with connect(store) as conn:
        conn.execute("UPDATE runs SET metrics = ? WHERE 1", ('{"test_acc": 0.0}',))  # a wrong row ...
    assert rebuild(store) == (3, None)  # ... is regenerated from the files
    assert [r["metrics"]["test_acc"] for r in run_rows(store)] == [0.25, 1.0, 0.5]


def test_a_file_that_is_not_a_database_is_moved_aside_and_rebuilt(store, capsys):
    store.index_path().write_bytes(b"this is not a database" * 100)
    assert main(["list", "--long", "--store", str(store.root)]) == 0
    out, err = capsys.readouterr()
    assert out.count("modular_addition:p=") == 3 and len(err.strip().splitlines()) == 1
    assert "unusable" in err and "moved it to" in err and len(_indexed(store)) == 3  # healed: a usable index again
    assert main(["index", "--rebuild", "--store", str(store.root)]) == 0
    assert "3 runs indexed" in capsys.readouterr().out and len(_indexed(store)) == 3


def test_nothing_is_created_for_a_missing_store(tmp_path, capsys):
    assert main(["list", "--store", str(tmp_path / "none")]) == 0
    assert not (tmp_path / "none").exists()
    assert main(["index", "--rebuild", "--store", str(tmp_path / "none")]) == 2
    assert not (tmp_path / "none").exists()


def test_list_where_and_sort(store, capsys):
    def listed(*args) -> list[str]:
        assert main(["list", "--long", "--store", str(store.root), *args]) == 0
        out = capsys.readouterr().out.split("variants in ", 1)[1]
        return [line.split(":")[1].split(",")[0] for line in out.splitlines()[1:]]

    assert listed("--where", "p=17 and turn<1000") == ["p=17"]
    assert listed("--where", "turn_onset>=300 or test_acc>=0.9") == ["p=17", "p=19"]
    assert listed("--where", "not (seed=1) and r.lr=0.001") == ["p=23"]
    assert listed("--where", "family=modular_addition and epochs=1000", "--sort=-test_acc") == ["p=19", "p=23", "p=17"]
    assert listed("--sort=turn,-p") == ["p=17", "p=23", "p=19"]  # no turn: last, whatever the order


@pytest.mark.parametrize("clause", ["p=", "p 17", "p=17 and", "(p=17", "p=17)", "17=p", "p=17 p=19", "",
                                    "p<abc", "nosuch=1", "p=17 && seed=1", "p=='17"])
def test_a_malformed_where_is_one_line_and_exit_2(store, clause, capsys):
    before = store.index_path().exists()
    assert main(["list", "--store", str(store.root), "--where", clause]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("workbench: error:") and "\n" not in err and "Traceback" not in err
    assert store.index_path().exists() == before or "unknown field" in err


def _hammer(root: str, worker: int, rounds: int) -> None:
    """Child process body: refresh runs and insert jobs as fast as it can."""
    from workbench.store import Store
    from workbench.store.index import connect, refresh, writing

    store = Store(root)
    for i in range(rounds):
        refresh(store, store.runs())
        with connect(store) as conn, writing(conn):
            conn.execute("INSERT INTO jobs (kind, target, args, runs, state, created) VALUES (?, ?, ?, ?, ?, ?)",
                         ("train", f"w{worker}", "{}", "[]", "done", time.time()))


def test_two_processes_writing_at_once_do_not_corrupt_it(store):
    run_rows(store)
    code = "import sys; from tests.unit.workbench.store.test_index import _hammer; _hammer(sys.argv[1], int(sys.argv[2]), 30)"
    env = {**os.environ, "PYTHONPATH": os.getcwd(), "OMP_NUM_THREADS": "1"}
    procs = [subprocess.Popen([sys.executable, "-c", code, str(store.root), str(w)], env=env,
                              stderr=subprocess.PIPE, text=True) for w in (1, 2)]
    for _ in range(30):  # and this process reads (and re-indexes) meanwhile
        assert len(run_rows(store)) == 3
    errors = [p.communicate(timeout=300)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errors
    assert not any("warning" in e for e in errors), errors  # no writer gave up on a locked index
    with sqlite3.connect(store.index_path()) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("SELECT COUNT(*) FROM jobs").fetchone()[0] == 60
        assert conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 3


def test_markers_written_after_indexing_are_seen(store):
    run_rows(store)
    key = store.runs()[2]
    save_npz({"turn_onset_epoch": np.array(700.0), "turn_midpoint_epoch": np.array(800.0)},
             store.summary_path(key, "turn"))
    assert run_rows(store)[2]["markers"] == {"turn_onset_epoch": 700, "turn_midpoint_epoch": 800}


def test_a_long_headline_is_cut_at_a_comma_in_a_listing_line():
    from workbench.query.listing import _brief

    assert _brief("8,19,41") == "8,19,41"
    whole = "embed.W_E 13.3,pos_embed.W_pos 2.83,blocks.0.attn.W_Q 2.99,unembed.W_U 14.1"
    assert _brief(whole) == "embed.W_E 13.3,pos_embed.W_pos 2.83,…"
    assert _brief("x" * 50) == "x" * 40 + "…"
