"""Epoch markers read from summary files written by hand, for the real and a stand-in analyzer."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from analyzers.turn import turn, turn_value
from workbench.core.analyzer import get_analyzer, list_analyzers
from workbench.core.context import SummaryContext
from workbench.store import RunKey, Store, markers
from workbench.store._io import save_npz
from workbench.store.markers import marker_label, marker_names, read_markers, scan_markers

KEY = RunKey("modular_addition", "p=17,seed=1")
ONSET, MIDPOINT = "turn_onset_epoch", "turn_midpoint_epoch"


def write_turn(store: Store, onset: float, midpoint: float) -> None:
    save_npz({ONSET: np.array(onset), MIDPOINT: np.array(midpoint), "velocity_peak_epoch": np.array(1450.0),
              "turn_epoch": np.array(onset)}, store.summary_path(KEY, "turn"))


@pytest.fixture
def phase_analyzer(monkeypatch):
    """A stand-in summary analyzer "phase" with one marker, seen only by workbench.store.markers."""
    phase = dataclasses.replace(get_analyzer("turn"), name="phase", markers=("memorized_epoch",),
                                outputs={"memorized_epoch": ()})
    specs = {n: get_analyzer(n) for n in list_analyzers(scope="summary")} | {"phase": phase}
    monkeypatch.setattr(markers, "list_analyzers", lambda scope=None: sorted(specs))
    monkeypatch.setattr(markers, "get_analyzer", specs.__getitem__)
    return phase


def test_turn_declares_onset_and_midpoint_markers():
    assert get_analyzer("turn").markers == (ONSET, MIDPOINT)
    assert marker_names()[ONSET] == marker_names()[MIDPOINT] == "turn"


def test_markers_are_whole_epochs_and_not_detected_ones_are_omitted(tmp_path):
    store = Store(tmp_path)
    assert read_markers(store, KEY) == {} and scan_markers(store, KEY).corrupt == []  # not analyzed
    write_turn(store, 800.0, 1550.0)
    found = read_markers(store, KEY)
    assert found == {ONSET: 800, MIDPOINT: 1550} and all(type(v) is int for v in found.values())
    write_turn(store, float("nan"), float("nan"))
    assert read_markers(store, KEY) == {}


def test_any_summary_analyzer_can_declare_markers(tmp_path, phase_analyzer):
    store = Store(tmp_path)
    write_turn(store, 800.0, 1550.0)
    save_npz({"memorized_epoch": np.array(299.6)}, store.summary_path(KEY, "phase"))
    assert read_markers(store, KEY) == {ONSET: 800, MIDPOINT: 1550, "memorized_epoch": 300}
    assert marker_names()["memorized_epoch"] == "phase"


def test_a_corrupt_summary_is_skipped_and_named(tmp_path, phase_analyzer):
    store = Store(tmp_path)
    save_npz({"memorized_epoch": np.array(300.0)}, store.summary_path(KEY, "phase"))
    store.summary_path(KEY, "turn").parent.mkdir(parents=True)
    store.summary_path(KEY, "turn").write_bytes(b"PK\x03\x04 not a zip")
    scan = scan_markers(store, KEY)
    assert scan.markers == {"memorized_epoch": 300}
    assert [e.path for e in scan.corrupt] == [store.summary_path(KEY, "turn")] and "\n" not in str(scan.corrupt[0])
    assert read_markers(store, KEY).get(ONSET) is None


@pytest.mark.parametrize("value", [np.array([800.0, 900.0]), np.array("800"), np.array(True)])
def test_a_marker_that_is_not_one_number_makes_its_file_corrupt(tmp_path, value):
    store = Store(tmp_path)
    save_npz({ONSET: value, MIDPOINT: np.array(1550.0)}, store.summary_path(KEY, "turn"))
    scan = scan_markers(store, KEY)
    assert scan.markers == {} and "turn_onset_epoch" in scan.corrupt[0].problem


def test_a_summary_from_before_markers_has_none(tmp_path):
    store = Store(tmp_path)
    save_npz({"turn_epoch": np.array(1539.59), "loss_turn_epoch": np.array(1539.59)}, store.summary_path(KEY, "turn"))
    assert scan_markers(store, KEY) == ({}, [])


def test_labels_come_from_names():
    assert marker_label(ONSET) == "turn onset" and marker_label(MIDPOINT) == "turn midpoint"
    assert marker_label("memorized_epoch") == "memorized" and marker_label("cleanup_end") == "cleanup end"


def test_every_reader_shows_the_analyzers_own_numbers(tmp_path):
    epochs = np.arange(0, 4001, 50)
    loss = 1e-6 + 3.0 / (1 + np.exp((epochs - 2000) / 150))
    ckpt = np.arange(0, 4001, 500)
    ctx = SummaryContext(epochs=ckpt, metrics={"epoch": epochs, "test_loss": loss},
                         artifacts=lambda name: {"flat": np.outer(ckpt, np.ones(4)).astype(np.float32)}, family={})
    out = turn(ctx)
    store = Store(tmp_path)
    save_npz(out, store.summary_path(KEY, "turn"))
    # by hand: midpoint 2000, onset 2000 - 2 * 150 * arccosh(sqrt(10)) = 1454.5 -> evaluation epoch 1450
    assert read_markers(store, KEY) == {ONSET: float(out[ONSET]), MIDPOINT: float(out[MIDPOINT])}
    assert read_markers(store, KEY) == {ONSET: 1450, MIDPOINT: 2000}
    assert read_markers(store, KEY)[ONSET] == turn_value(out) == float(out["turn_epoch"]) == 1450
