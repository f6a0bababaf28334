"""Tags and a note per run (issue 30, run management): kept by the store in annotations.json
(atomic, under the run's annotate lock), indexed (an index from before tags is migrated and
its rows read again), filterable with --where tag=NAME, shown by `workbench list`; bad input
is one line, exit status 2, and writes nothing."""

from __future__ import annotations

import json
import sqlite3
import threading

import pytest

from workbench.cli import main
from workbench.store import RunKey, Store
from workbench.store.annotations import add_tags, read_annotations
from workbench.store.index import run_rows
from workbench.testing.synthetic import listed_run

A, B = "modular_addition:p=17,seed=1", "modular_addition:p=19,seed=1"


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "store")
    listed_run(s, A, test_acc=0.25)
    listed_run(s, B, test_acc=1.0)
    return s


def _cli(capsys, *argv) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _key(store: Store, spec: str) -> RunKey:
    return next(k for k in store.runs() if spec.split(":")[1].split(",")[0] in k.variant)


def test_tag_note_list_and_where(store, capsys):
    root = ["--store", str(store.root)]
    assert _cli(capsys, "tag", A, "baseline", "wd1", *root)[1].endswith("tags baseline, wd1\n")
    assert _cli(capsys, "tag", A, "baseline", *root)[0] == 0  # again: no duplicate
    assert _cli(capsys, "note", A, "  the one that never groks  ", *root)[0] == 0
    assert read_annotations(store, _key(store, A)) == {"tags": ["baseline", "wd1"], "note": "the one that never groks"}
    table = _cli(capsys, "list", *root)[1]
    assert 'baseline,wd1 "the one' in table and "TAGS/NOTE" in table
    assert "note 'the one that never groks'" in _cli(capsys, "list", "--long", *root)[1]
    runs = json.loads(_cli(capsys, "list", "--json", "--where", "tag=baseline", *root)[1])
    assert [r["tags"] for r in runs] == [["baseline", "wd1"]] and runs[0]["note"] == "the one that never groks"
    others = json.loads(_cli(capsys, "list", "--json", "--where", "tag!=baseline", *root)[1])
    assert [r["spec"].split(",")[0] for r in others] == ["modular_addition:p=19"]
    assert _cli(capsys, "tag", A, "--remove", "wd1", *root)[1].endswith("tags baseline\n")
    assert _cli(capsys, "note", A, "", *root)[1].endswith("no note\n")
    assert run_rows(store)[0]["tags"] == ["baseline"] and run_rows(store)[0]["note"] is None


@pytest.mark.parametrize("argv, problem", [
    (["tag", A, "bad tag"], "bad tag 'bad tag'"),
    (["tag", A, "x,y"], "bad tag"),
    (["tag", A, "a" * 41], "bad tag"),
    (["tag", "modular_addition:p=23", "x"], "no run modular_addition:p=23"),
    (["tag", A, "--remove", "nope"], "has no tag 'nope'"),
    (["tag", "modular_addition:p=18", "x"], "prime"),
    (["note", A, "x" * 2001], "at most 2000 characters"),
    (["note", "", "x"], "empty VARIANT"),
])
def test_bad_input_is_one_line_and_writes_nothing(store, capsys, argv, problem):
    code, out, err = _cli(capsys, *argv, "--store", str(store.root))
    assert code == 2 and problem in err and len(err.strip().splitlines()) == 1 and out == ""
    assert not any(store.annotations_path(k).exists() for k in store.runs())


def test_concurrent_tags_all_land(store):
    key = _key(store, A)
    threads = [threading.Thread(target=add_tags, args=(store, key, [f"t{i}"])) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(read_annotations(store, key)["tags"]) == [f"t{i}" for i in range(8)]


def test_an_index_from_before_tags_is_migrated(store):
    add_tags(store, _key(store, A), ["old"])
    run_rows(store)
    with sqlite3.connect(store.index_path()) as conn:  # what a workbench without tags left
        conn.execute("ALTER TABLE runs DROP COLUMN tags")
        conn.execute("ALTER TABLE runs DROP COLUMN note")
        conn.execute("PRAGMA user_version = 2")
    assert sorted(map(tuple, (r["tags"] for r in run_rows(store)))) == [(), ("old",)]
    with sqlite3.connect(store.index_path()) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 3


def test_a_damaged_annotations_file_is_named_not_fatal(store, capsys):
    store.annotations_path(_key(store, A)).write_text('{"tags": "x"}')
    code, out, _ = _cli(capsys, "list", "--store", str(store.root))
    assert code == 0 and "damaged: corrupt file" in out and "annotations.json" in out
