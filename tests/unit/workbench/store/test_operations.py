"""Store operations: the typed record round-trips old files byte for byte, metrics append in
epoch order, an artifact's stamp decides whether it is current, the resume file keeps the one
it replaces, and a checkpoint read once carries its identity."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from workbench.core.errors import CorruptFile, MissingFile, UserError
from workbench.store import ArraysRef, RunKey, RunRecord, Store, checkpoint_identity

FIXTURE = Path(__file__).resolve().parents[3] / "fixtures" / "store_v1"
KEY = RunKey("modular_addition", "p=7,seed=0")
PLAN = {"variant": "modular_addition:p=7,seed=0", "epochs": 10, "schedule": "0:10:5", "eval_every": 5}


@pytest.fixture
def old(tmp_path) -> Store:
    shutil.copytree(FIXTURE, tmp_path / "store")
    return Store(tmp_path / "store")


def test_an_old_record_loads_and_is_written_back_byte_for_byte(old):
    key = old.runs()[0]
    before = old.variant_path(key).read_bytes()
    record = old.read_record(key)
    assert record.epochs == 10 and record.eval_every == 5 and record.stacked is None and record.config is None
    assert record.recipe["betas"] == [0.9, 0.98]  # the recipe record of its day, kept as it was
    old.write_record(key, record)
    assert old.variant_path(key).read_bytes() == before  # no field added, none dropped
    assert old.read_variant(key).spec == record.variant


def test_unknown_fields_survive_and_densify_notes_are_carried(tmp_path):
    store = Store(tmp_path)
    store.write_record(KEY, RunRecord(**PLAN, future_field={"a": 1}, densified=[{"epochs": [3]}]))
    assert json.loads(store.variant_path(KEY).read_text())["future_field"] == {"a": 1}
    prior = store.read_record(KEY)
    again = RunRecord(**PLAN, stacked=False).carrying(prior)
    assert again.densified == [{"epochs": [3]}] and not hasattr(again, "future_field")
    assert RunRecord(**PLAN).carrying(None).to_json() == PLAN


@pytest.mark.parametrize("field, value, problem", [
    ("epochs", "10", "'epochs' is str, not int"),
    ("epochs", True, "'epochs' is bool, not int"),
    ("params", [1], "'params' is list, not dict"),
    ("checkpoint_epochs", [0, "5"], "'checkpoint_epochs' is not a valid list"),
])
def test_a_wrong_typed_field_is_one_corrupt_file_line(tmp_path, field, value, problem):
    store = Store(tmp_path)
    store.write_record(KEY, RunRecord(**PLAN))
    doc = {**PLAN, field: value}
    store.variant_path(KEY).write_text(json.dumps(doc))
    with pytest.raises(CorruptFile, match=problem) as err:
        store.read_record(KEY)
    assert "\n" not in str(err.value) and "variant.json" in str(err.value)


def test_a_record_without_a_required_field_is_corrupt(tmp_path):
    store = Store(tmp_path)
    store.write_record(KEY, RunRecord(**PLAN))
    store.variant_path(KEY).write_text(json.dumps({"variant": PLAN["variant"], "epochs": 3}))
    with pytest.raises(CorruptFile, match="missing key 'schedule'"):
        store.read_record(KEY)
    with pytest.raises(MissingFile):
        store.read_record(RunKey("modular_addition", "p=11"))


def test_metrics_write_then_append_in_epoch_order(tmp_path):
    store = Store(tmp_path)
    store.write_metrics(KEY, {"epoch": [0, 10], "test_acc": [0.1, 0.9]}, last_epoch=10)
    store.append_metrics(KEY, {5: {"test_acc": 0.5}})
    table = store.read_metrics(KEY)
    assert table["epoch"].tolist() == [0, 5, 10] and table["test_acc"].tolist() == [0.1, 0.5, 0.9]
    assert table["epoch"].dtype == np.int64 and store.has_metrics(KEY)
    with pytest.raises(UserError, match="columns"):
        store.append_metrics(KEY, {7: {"train_acc": 0.5}})
    with pytest.raises(CorruptFile, match="missing array 'train_loss'"):
        store.read_metrics(KEY, keys=("train_loss",))


def test_the_stamp_decides_whether_an_artifact_is_current(tmp_path):
    store = Store(tmp_path)
    assert not store.artifact_current(KEY, "a", 10, {"version": "1"})
    store.write_artifact(KEY, "a", 10, {"x": np.arange(3)}, {"version": "1", "checkpoint": "abc"})
    assert store.artifact_current(KEY, "a", 10, {"version": "1", "checkpoint": "abc", "options": "{}"})
    assert not store.artifact_current(KEY, "a", 10, {"version": "2", "checkpoint": "abc"})
    assert store.read_artifact(KEY, "a", 10)["x"].tolist() == [0, 1, 2]
    assert store.read_arrays(KEY, ArraysRef("a", 10)).keys() == {"x"} and store.artifact_epochs(KEY, "a") == [10]
    store.write_summary(KEY, "s", {"y": np.ones(2)}, {"stamp": "1:0,10"})
    assert store.summary_current(KEY, "s", {"stamp": "1:0,10"}) and not store.summary_current(KEY, "s", {"stamp": "x"})
    store.artifact_path(KEY, "a", 10).write_bytes(b"garbage")  # unreadable: recompute, never raise
    assert not store.artifact_current(KEY, "a", 10, {"version": "1"})


def test_resume_keeps_the_state_it_replaces(tmp_path):
    store = Store(tmp_path)
    assert store.resume_epoch(KEY) is None and store.previous_resume_epoch(KEY) is None
    store.save_resume(KEY, {"w": torch.zeros(2)}, {"epoch": "5"})
    store.save_resume(KEY, {"w": torch.ones(2)}, {"epoch": "10"})
    assert store.resume_epoch(KEY) == 10 and store.previous_resume_epoch(KEY) == 5
    store.rewind_resume(KEY)
    assert store.resume_epoch(KEY) == 5 and torch.equal(store.load_resume(KEY)["w"], torch.zeros(2))
    store.drop_resume(KEY)
    assert not store.has_resume(KEY)


def test_a_checkpoint_read_once_has_its_identity(tmp_path):
    store = Store(tmp_path)
    store.save_checkpoint(KEY, 10, {"w": torch.arange(4.0)}, {"epoch": "10", "b": "1", "a": "2"})
    stored = store.read_checkpoint(KEY, 10)
    assert stored.identity == checkpoint_identity(store.checkpoint_path(KEY, 10).read_bytes())
    assert torch.equal(stored.weights()["w"], store.load_checkpoint(KEY, 10)["w"])
    store.save_checkpoint(KEY, 20, {"w": torch.arange(4.0)}, {"epoch": "10", "a": "2", "b": "1"})
    assert store.read_checkpoint(KEY, 20).identity == stored.identity  # metadata order does not matter
    store.checkpoint_path(KEY, 20).write_bytes(b"\x05")
    with pytest.raises(CorruptFile, match="epoch_000020.safetensors"):
        store.read_checkpoint(KEY, 20)


def test_status_report_and_job_log(tmp_path):
    store = Store(tmp_path)
    assert store.read_status(KEY) is None
    store.write_status(KEY, 3, 10, "running", job="analyze")
    assert store.read_status(KEY)["state"] == "running" and store.read_status(KEY, as_written=True)["done"] == 3
    assert store.write_report(KEY, "<html></html>") == store.report_path(KEY)
    assert store.report_path(KEY).read_text() == "<html></html>"
    with pytest.raises(UserError, match="is a directory"):
        store.write_report(KEY, "x", out=tmp_path)
    assert not store.has_job_log(1) and store.job_log_tail(1, 10) is None
    with store.open_job_log(1) as log:
        log.write(b"first\r\nsecond line\n")
    assert store.has_job_log(1) and store.job_log_tail(1, 12) == "second line\n"
