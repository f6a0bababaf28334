"""A variant whose name is over NAME_MAX (255 bytes) lives in a directory named by a prefix and a
hash of its name (workbench.store._layout.variant_dir), and is still addressed by its full spec:
train, resume, analyze, list, the run index and the dashboard's run ids all use the spec."""

from __future__ import annotations

import pytest

from workbench.cli import main
from workbench.core.family import registered
from workbench.core.variant import parse_variant
from workbench.store import RunKey, Store
from workbench.store.index import run_rows
from workbench.testing import ToyFamily
from workbench.ui.dashboard import data
from workbench.ui.dashboard.runs import run_rows as dashboard_rows

# every param and recipe override spelled at full length: 316 bytes of name
LONG = ("toy_seams:p=5,hidden=4,seed=1234567890123456789,data_seed=1234567890123456788,r.lr=0.00123456789012345,"
        "r.weight_decay=0.0123456789012345,r.betas=0.912345678901234+0.981234567890123,r.lr_schedule=warmup,"
        "r.warmup_steps=3,r.batch_seed=1234567890123456789,r.grad_clip=1.2345678901234")
ARGS = ["--schedule", "0:20:10", "--eval-every", "5", "--quiet"]


@pytest.fixture(autouse=True)
def toy_registered():
    with registered(ToyFamily()):
        yield


def test_a_long_variant_trains_resumes_analyzes_and_lists_under_its_full_spec(tmp_path, capsys):
    variant = parse_variant(LONG)
    spec, key = variant.spec, RunKey(*variant.key)
    assert len(variant.dir_name.encode()) > 255 and key.variant == variant.dir_name
    store = Store(tmp_path)
    assert main(["train", LONG, "--epochs", "20", *ARGS, "--store", str(tmp_path)]) == 0
    folder = store.run_dir(key)
    assert folder.is_dir() and len(folder.name.encode()) <= 255 and "~" in folder.name
    assert variant.dir_name.startswith(folder.name.split("~")[0])  # a readable prefix of the name
    assert store.runs() == [key] and store.read_record(key).variant == spec
    first = store.load_checkpoint(key, 10)

    assert main(["train", LONG, "--extra-epochs", "20", *ARGS[2:], "--store", str(tmp_path)]) == 0  # resumes
    assert store.checkpoint_epochs(key)[-1] == 40 and store.runs() == [key]
    assert all((first[n] == store.load_checkpoint(key, 10)[n]).all() for n in first)  # the same run, extended
    capsys.readouterr()
    assert main(["train", LONG, "--epochs", "40", "--store", str(tmp_path)]) == 0
    assert f"{spec}: already trained to epoch 40" in capsys.readouterr().out  # the whole spec, to type again

    assert main(["analyze", LONG, "--store", str(tmp_path), "--quiet"]) == 0
    assert main(["list", "--long", "--store", str(tmp_path)]) == 0
    assert spec in capsys.readouterr().out
    row, = run_rows(store)
    assert (row["family"], row["variant"], row["spec"]) == ("toy_seams", variant.dir_name, spec)
    assert row["checkpoints"][-1] == 40 and row["damaged_record"] is None and row["damaged"] is None


def test_the_dashboard_addresses_a_long_run_by_its_full_name(tmp_path):
    variant = parse_variant(LONG)
    assert main(["train", LONG, "--epochs", "10", "--schedule", "0:10:10", "--quiet", "--store", str(tmp_path)]) == 0
    store = Store(tmp_path)
    row, = dashboard_rows(store)
    assert row["id"] == f"toy_seams/{variant.dir_name}" and row["variant"] == variant.dir_name
    key = data.resolve_variant(store, row["id"])
    assert key == RunKey(*variant.key) and data.epochs(store, key) == [0, 10]


def test_a_sweep_of_long_variants_differing_only_in_a_seed_gets_one_directory_each(tmp_path):
    swept = LONG.replace("seed=1234567890123456789,data", "seed=1|2,data")
    assert main(["sweep", swept, "--epochs", "10", "--schedule", "0:10:10", "--no-analyze", "--quiet",
                 "--store", str(tmp_path)]) == 0
    specs = [LONG.replace("seed=1234567890123456789,data", f"seed={s},data") for s in (1, 2)]
    keys = [RunKey(*parse_variant(s).key) for s in specs]
    store = Store(tmp_path)
    assert sorted(store.runs()) == sorted(keys) and store.run_dir(keys[0]) != store.run_dir(keys[1])
    assert all(len(store.run_dir(k).name) <= 255 and store.checkpoint_epochs(k) == [0, 10] for k in keys)
