"""Issue 30 item 10: the report's epoch headings name the marker's own epoch when it is not a checkpoint."""

from __future__ import annotations

import numpy as np

from workbench.store import Store
from workbench.testing.synthetic import synthetic_run
from workbench.ui.report import telling_epochs


def test_a_heading_at_the_nearest_checkpoint_says_where_the_turn_is(tmp_path):
    store = Store(tmp_path)
    key = synthetic_run(store, p=7, epochs=list(range(0, 1001, 100)), n_neurons=8, n_heads=2, analyzers=["turn"])
    summary = dict(store.read_summary(key, "turn"))
    summary.update(turn_onset_epoch=np.array(750.0), turn_midpoint_epoch=np.array(900.0))
    store.write_summary(key, "turn", summary)
    marks = telling_epochs(store, key)
    assert marks[700] == ["turn onset 750, the nearest checkpoint"]  # the summary says 750: so does the heading
    assert marks[900] == ["turn midpoint"]  # a checkpoint itself: nothing to add
    assert marks[0] == ["init"] and marks[1000][-1] == "end"
