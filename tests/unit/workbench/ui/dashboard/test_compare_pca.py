"""The compare page's shared PCA basis panel: runs coloured by group, crossings marked, bare runs named."""

from __future__ import annotations

import numpy as np

from workbench.query.shared_paths import Basis, RunPath, SharedPaths
from workbench.store import RunKey, Store
from workbench.testing.synthetic import synthetic_run
from workbench.ui.dashboard import compare
from workbench.ui.dashboard.compare_groups import Grouping
from workbench.ui.dashboard.compare_pca import pca_figure

A, B, C = (RunKey("modular_addition", f"p=7,seed={s}") for s in (0, 1, 2))


def _run(key, crossings=0):
    t = np.linspace(0, 2 * np.pi, 9)
    scores = np.stack([t, np.sin(2 * t), np.sin(t)], axis=1)  # a figure-eight on PC2/PC3
    return RunPath(key, np.arange(9) * 100.0, scores, np.array([[100.0, 500.0]] * crossings).reshape(-1, 2),
                   np.zeros((crossings, 2)), 0.1)


def test_runs_take_their_groups_colour_and_crossings_are_marked():
    grouping = Grouping(["g0", "g1"], [[A, B], [C]], [None, None])
    fig = pca_figure(SharedPaths([Basis([_run(A, 1), _run(B), _run(C)], np.array([0.5, 0.3, 0.1]), "computed")]),
                     grouping)
    lines = [t for t in fig.data if t.mode == "lines+markers"]
    assert [t.name for t in lines] == ["g0", "g0", "g1"] and [t.showlegend for t in lines] == [True, False, True]
    assert lines[0].line.color == lines[1].line.color != lines[2].line.color
    crosses = [t for t in fig.data if t.marker.symbol == "x"]
    assert len(crosses) == 1 and "epochs 100 and 500" in crosses[0].text[0]
    assert fig.layout.xaxis.title.text.startswith("PC2 (30.0%")


def test_the_page_shows_the_panel_with_the_runs_it_left_out(tmp_path):
    store = Store(tmp_path)
    keys = [synthetic_run(store, epochs=[0, 100, 200, 300], seed=s, analyzers=["param_snapshot"]) for s in (0, 1)]
    bare = synthetic_run(store, epochs=[0, 100, 200, 300], seed=2, analyzers=["loss_accuracy"])
    from workbench.ui.dashboard import data
    vids = [data.variant_id(k) for k in (*keys, bare)]
    text = str(compare.group_table(store, vids, ("seeds", "minmax", [])))
    assert "Shared PCA basis" in text and "compare-shared-pca" in text and "share the model seed" in text
    assert "not on the basis: no param_snapshot" in text
    assert compare.group_table(store, vids, ("runs", "minmax", [])) == []


def test_a_damaged_snapshot_is_one_line_in_the_panel_not_a_lost_table(tmp_path, monkeypatch):
    from workbench.core.errors import UserError
    from workbench.ui.dashboard import compare_pca

    def broken(store, keys):
        raise UserError("corrupt file param_snapshot/epoch_000100.npz")
    monkeypatch.setattr(compare_pca, "shared_paths", broken)
    grouping = Grouping(["g0"], [[A]], [None])
    text = str(compare_pca.pca_children(Store(tmp_path), grouping))
    assert "not drawn: corrupt file param_snapshot/epoch_000100.npz" in text and "compare-shared-pca" not in text
