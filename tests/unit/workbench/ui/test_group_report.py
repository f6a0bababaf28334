"""`workbench report --group`: a run group's offline report with its spread, curves, turn and nulls."""

from __future__ import annotations

import numpy as np
import plotly.offline
import pytest

from workbench.analysis.group import group_id
from workbench.cli import main
from workbench.query.group_nulls import group_null_rows
from workbench.store import Store
from workbench.testing.synthetic import listed_run
from workbench.ui.group_report import write_group_report

DRAWS = np.linspace(0.0, 0.1, 16)  # a permutation null of neuron_fourier_frac: far below the runs' values


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "store")
    for seed, (acc, onset) in enumerate(zip((0.6, 0.8, 1.0), (300, 500, 400))):
        key = listed_run(s, f"modular_addition:p=17,seed={seed}", test_acc=acc, onset=onset)
        if seed < 2:  # seed=2 has no neuron_freq_clusters: it is named as left out of the null table
            s.write_artifact(key, "neuron_freq_clusters", 1000, {"mean_dominant_frac": np.array(0.8 + 0.1 * seed)})
            s.write_null(key, "neuron_freq_clusters", {"mean_dominant_frac": DRAWS + 0.01 * seed,
                                                       "null_kind": np.array("permutation"),
                                                       "null_epoch": np.array(1000),
                                                       "random.mean_dominant_frac": DRAWS + 0.8,  # 0.8 to 0.9
                                                       "random.null_kind": np.array("random")})
    return s


def test_null_rows_give_each_runs_percentile_and_the_pooled_band(store):
    rows, why = group_null_rows(store, [k for k in store.runs()])
    row, beside = [r for r in rows if r.analyzer == "neuron_freq_clusters"]
    assert row.kind == "permutation" and sorted(row.values.values()) == pytest.approx([0.8, 0.9])
    assert set(row.pctl.values()) == {100.0}
    lo, hi = row.band()
    assert 0.0 <= lo < 0.01 and 0.1 < hi <= 0.11 and sum(len(d) for d in row.draws) == 32
    assert beside.kind == "random" and sorted(beside.pctl.values()) == [3.125, 96.875]  # 0.8: tied with one draw
    assert len(row.pooled()) == 32 and len(beside.pooled()) == 16  # both runs drew the same random networks
    assert [w for k, w in why.items() if "seed=2" in k.variant] == [["neuron_freq_clusters not run"]]


def test_report_shows_spread_curves_turn_nulls_and_what_it_left_out(store):
    path = write_group_report(store, "p=17", band="minmax", draw="both")
    assert path == store.root / ".groups" / group_id([f"modular_addition:{k.variant}" for k in store.runs()]) / "report.html"
    page = path.read_text()
    assert "Group modular_addition:p=17,seed=0-2" in page and "(n=3)" in page
    assert "0.8000 ± 0.20" in page  # test accuracy over the three runs
    assert "turn onset: mean 400, range 300\\u2013500 (n=3)" in page  # the rug's legend (JSON-escaped dash)
    assert "The turn over the group" in page  # the box of turn epochs
    assert "mean_dominant_frac" not in page and "neuron_fourier_frac" in page and "seed=0 100, seed=1 100" in page
    assert ("neuron_fourier_frac, neuron_fourier_frac_null_pctl, neuron_fourier_frac_random_null_pctl, against the "
            "null: seed=2 (neuron_freq_clusters not run)") in page
    assert "<script src=" not in page and page.count(plotly.offline.get_plotlyjs()[:300]) == 1  # offline, inlined once


def test_cli_writes_the_group_report_and_rejects_bad_input(store, capsys):
    out = store.root.parent / "g.html"
    assert main(["report", "--group", "p=17", "--store", str(store.root), "--out", str(out)]) == 0
    assert out.is_file() and f"report: {out}" in capsys.readouterr().out
    listed_run(store, "modular_addition:p=19,seed=0", onset=200)
    assert main(["report", "--group", "n>=1", "--store", str(store.root), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "2 run groups match 'n>=1'; narrow it:" in err and len(err.strip().splitlines()) == 1
    assert main(["report", "modular_addition:p=17", "--group", "p=17", "--store", str(store.root)]) == 2
    assert "takes no VARIANT" in capsys.readouterr().err
    assert main(["report", "modular_addition:p=17,seed=0", "--band", "ci", "--store", str(store.root)]) == 2
    assert "give --group" in capsys.readouterr().err
