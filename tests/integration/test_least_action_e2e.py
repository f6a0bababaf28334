"""End to end for the least-action study: each model trains 100 epochs, is
analyzed by every analyzer that applies, and its report renders (issue 12)."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.analysis.pipeline import analyze
from workbench.core.variant import parse_variant
from workbench.store import RunKey, Store
from workbench.training.trainer import plan_training, train
from workbench.ui.report import write_report

SPECS = {
    "mlp": "least_action:p=11,model=mlp,hidden_dim=32,frac_train=0.5",
    "routed": "least_action:p=11,model=routed,hidden_dim=16,frac_train=0.5,routing=gini,lambda_routing=0.1",
    "routed_study": "least_action:p=11,model=routed_study,hidden_dim=16,frac_train=0.5,routing=consistency,"
                    "lambda_routing=0.1",
    "transformer": "least_action:p=11,model=transformer,d_model=32,frac_train=0.5,operation=multiply",
}


@pytest.mark.parametrize("model", SPECS)
def test_each_model_trains_analyzes_and_reports(model, tmp_path):
    store, variant = Store(tmp_path / "store"), parse_variant(SPECS[model])
    key = RunKey(*variant.key)
    epochs = 100
    train(plan_training(variant, store, epochs=epochs, schedule=f"0:{epochs}:{epochs // 2}", eval_every=25),
          store, quiet=True)
    metrics = store.read_metrics(key)
    assert {"wnorm", "smooth"} <= set(metrics) and len(metrics["wnorm"]) == len(metrics["epoch"])
    assert np.all(np.isfinite(metrics["wnorm"])) and np.all((metrics["smooth"] >= 0) & (metrics["smooth"] <= 1))
    assert metrics["train_acc"][-1] > metrics["train_acc"][0]  # it learns

    result = analyze(variant.spec, store, analyzers="all", quiet=True)
    assert not result.errors, result.errors
    clusters = store.read_artifact(key, "neuron_freq_clusters", epochs)
    numeric = [a for a in clusters.values() if np.issubdtype(a.dtype, np.number)]  # it also holds text now
    assert numeric and all(np.all(np.isfinite(a) | np.isnan(a)) for a in numeric)
    out = tmp_path / "report.html"
    write_report(store, key, out=out)
    assert out.stat().st_size > 10_000
