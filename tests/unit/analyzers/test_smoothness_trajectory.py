"""The smoothness summary stacks the per-checkpoint spectral smoothness (least-action study)."""

import numpy as np
from _helpers import modular_family

from workbench.core.analyzer import get_analyzer
from workbench.core.context import SummaryContext


def test_smoothness_trajectory_keeps_each_checkpoint_and_the_references():
    stacked = {"smoothness": np.array([0.1, 0.4, 0.99]), "target": np.ones(3), "chance": np.full(3, 0.083),
               "power": np.zeros((3, 5, 5), np.float32), "cutoff": np.ones(3, int), "indexing": np.array(["a, b"] * 3),
               "smoothness_study": np.array([0.9, 0.8, 0.94]), "smoothness_study_soft": np.array([1.0, 0.85, 0.93]),
               "study_target": np.full(3, 0.939), "study_null_mean": np.full(3, 0.773), "study_null_sd": np.full(3, 0.015),
               "study_dc_floor": np.full(3, 0.727), "study_k": np.full(3, 1)}
    ctx = SummaryContext(epochs=np.array([0, 500, 1000]), metrics={}, artifacts=lambda name: stacked,
                         family=modular_family(5))
    out = get_analyzer("smoothness_trajectory").fn(ctx)
    assert out["epochs"].tolist() == [0, 500, 1000]
    np.testing.assert_array_equal(out["smoothness"], [0.1, 0.4, 0.99])
    assert float(out["target"]) == 1.0 and float(out["chance"]) == 0.083
    np.testing.assert_array_equal(out["smoothness_study"], [0.9, 0.8, 0.94])
    np.testing.assert_array_equal(out["smoothness_study_soft"], [1.0, 0.85, 0.93])
    assert float(out["study_null_mean"]) == 0.773 and float(out["study_target"]) == 0.939
