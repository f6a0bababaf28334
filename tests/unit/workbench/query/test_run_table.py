"""`workbench list` (issue 30 item 9): runs as an aligned table that fits 120 columns (family,
short label, state, epochs, final test accuracy, turn), the full specs only with --long, the
families' parameter docs under `workbench families`, and --json with stable keys on `list`,
`jobs` and `configs`."""

from __future__ import annotations

import json
import math

import pytest

from workbench.cli import main
from workbench.cli.runs import JOB_KEYS
from workbench.cli.train import CONFIG_KEYS
from workbench.core.variant import parse_variant
from workbench.query.run_table import JSON_KEYS, run_table
from workbench.store import Store
from workbench.store.index import run_rows
from workbench.testing.synthetic import listed_run

LONG = ("universal_modular:max_p=47,train_min=2,train_max=31,d_model=64,d_mlp=256,n_layers=2,arch=miras,"
        "sampling=fresh,fresh_batch=512,curr_primes=5,curr_steps=1000,unseen_primes=17+23,r.decay_steps=6000")
SPECS = ["modular_addition:p=17,seed=1", "modular_addition", "least_action:p=17,frac_train=0.4,data_seed=2",
         "modular_arithmetic:seed=2,r.lr_schedule=warmup", "interleaved_streams:n_layers=2", LONG]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    s = Store(tmp_path_factory.mktemp("runs") / "store")
    for i, spec in enumerate(SPECS):
        listed_run(s, spec, test_acc=0.25 * (i % 4 + 1), onset=300 if i == 0 else None)
    return s


def _out(capsys, *argv) -> str:
    assert main(list(argv)) == 0
    return capsys.readouterr().out


def test_list_is_a_table_that_fits_120_columns(store, capsys):
    lines = _out(capsys, "list", "--store", str(store.root)).splitlines()
    assert lines[0].startswith("variants in ") and len(lines) == 2 + len(SPECS)  # no family docs, one line a run
    head, rows = lines[1], lines[2:]
    assert head.split() == ["FAMILY", "RUN", "STATE", "EPOCH", "TEST", "ACC", "TURN", "TAGS/NOTE"]
    assert all(len(line) <= 120 for line in lines)
    state = head.index("STATE")
    assert all(row[state:].split()[0] == "done" for row in rows)  # the columns line up
    first = next(r for r in rows if "p=17,seed=1" in r)
    assert first.split()[:2] == ["modular_addition", "p=17,seed=1"] and "1000/1000" in first
    assert first.split()[-2:] == ["0.250", "300"]
    assert next(r for r in rows if r.startswith("modular_addition ") and "(defaults)" in r)
    assert "…" in next(r for r in rows if r.startswith("universal_modular"))  # a long label is cut, not the line


def test_run_table_cuts_only_the_label(store):
    rows = run_rows(store)
    for width in (100, 120):
        assert all(len(line) <= width for line in run_table(rows, width))


def test_long_keeps_the_full_specs_and_families_has_the_docs(store, capsys):
    out = _out(capsys, "list", "--long", "--store", str(store.root))
    assert parse_variant(LONG).spec in out and "epochs 1000/1000" in out and "test acc 0.250" in out
    docs = _out(capsys, "families")
    assert "modular_addition:" in docs and "p: int = 113" in docs


def test_list_json_has_the_documented_keys(store, capsys):
    runs = json.loads(_out(capsys, "list", "--json", "--where", "test_acc>0.3", "--store", str(store.root)))
    assert len(runs) == 4 and all(set(r) == set(JSON_KEYS) for r in runs)
    one = next(r for r in runs if r["spec"] == "modular_arithmetic:" + r["variant"])
    assert one["label"] == "modular_arithmetic:seed=2,r.lr_schedule=warmup" and one["state"] == "done"
    assert one["epochs_done"] == 1000 and one["tags"] == [] and one["note"] is None


def test_json_turns_nan_into_null(tmp_path, capsys):
    store = Store(tmp_path / "store")
    listed_run(store, "modular_addition:p=17", test_acc=math.nan)
    run, = json.loads(_out(capsys, "list", "--json", "--store", str(store.root)))
    assert run["metrics"]["test_acc"] is None


def test_jobs_and_configs_json(store, capsys):
    assert json.loads(_out(capsys, "jobs", "--json", "--store", str(store.root))) == []
    configs = json.loads(_out(capsys, "configs", "--json", "--store", str(store.root)))
    assert configs and all(set(c) == {"name", "saved_in_store", *CONFIG_KEYS} for c in configs)
    assert set(JOB_KEYS) >= {"id", "kind", "state", "progress"}


@pytest.mark.parametrize("argv, problem", [(["--group", "--json"], "--json"), (["--json", "--long"], "--long")])
def test_flags_that_do_not_go_together_are_one_line(store, capsys, argv, problem):
    assert main(["list", *argv, "--store", str(store.root)]) == 2
    err = capsys.readouterr().err
    assert problem in err and len(err.strip().splitlines()) == 1
