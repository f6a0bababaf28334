"""A small synthetic store shared by the dashboard's unit tests."""

from __future__ import annotations

import pytest

from workbench.store import Store
from workbench.testing.synthetic import synthetic_run
from workbench.ui.dashboard.data import variant_id

EPOCHS = [0, 100, 200, 300]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """Two runs: seed 0 with every artifact, seed 1 with only neuron_activations and turn."""
    store = Store(tmp_path_factory.mktemp("dash_store"))
    synthetic_run(store, p=7, epochs=EPOCHS, n_neurons=24, n_heads=4)
    synthetic_run(store, p=7, epochs=EPOCHS[:3], seed=1, n_neurons=24, n_heads=4,
                  analyzers=["neuron_activations", "turn"])
    return store


@pytest.fixture(scope="module")
def vid(store):
    return variant_id(store.runs()[0])
