"""`zip:` in sweep specs: lists that vary together, as one axis of the product around them."""

from __future__ import annotations

import pytest

from workbench.core.errors import UserError
from workbench.sweep.spec import SweepSpec, expand, load_sweep

BASE = "modular_addition:p=17"


def _keys(spec: SweepSpec) -> list[str]:
    return [v.dir_name for v in expand(spec)]


def test_zipped_seeds_pair_up_instead_of_crossing():
    spec = SweepSpec(variant=BASE, zip={"seed": [0, 1, 2], "data_seed": "5-7"}, recipe={"lr": [1e-3, 3e-3]})
    names = _keys(spec)
    assert len(names) == 6  # 3 seed pairs x 2 learning rates, not 9 x 2
    pairs = {tuple(part for part in n.split(",") if part.startswith(("seed=", "data_seed="))) for n in names}
    assert pairs == {("seed=0", "data_seed=5"), ("seed=1", "data_seed=6"), ("seed=2", "data_seed=7")}
    assert names[0].startswith("p=17,seed=0,data_seed=5") and names[1].startswith("p=17,seed=0,data_seed=5")


def test_several_zip_groups_are_each_one_axis_and_may_name_recipe_fields():
    spec = SweepSpec(variant=BASE, zip=[{"seed": [0, 1]}, {"r.weight_decay": [0.1, 1.0], "r.lr": [1e-3, 3e-3]}])
    # the family's recipe has lr 1e-3 and weight decay 1.0: a value equal to it is no override
    base = "p=17,seed={},data_seed=598,frac_train=0.3,lr=0.001,weight_decay=1.0"
    assert _keys(spec) == [f"{base.format(s)},{cell}" for s in (0, 1) for cell in ("r.weight_decay=0.1", "r.lr=0.003")]


@pytest.mark.parametrize("zip_, message", [
    ({"seed": [0, 1], "data_seed": [0, 1, 2]}, "differ in length"),
    ({"seed": []}, "empty"),
    ({"p": [17, 19]}, "listed twice"),
])
def test_malformed_zip_is_one_line(zip_, message):
    with pytest.raises(UserError, match=message):
        expand(SweepSpec(variant=BASE, zip=zip_, params={"p": [17]}))


def test_mod97_grid_names_exactly_the_runs_the_lead_queued():
    """configs/sweeps/mod97_grid.yaml = the inline sweeps /work/queue/A.sh ran, seed by seed."""
    grid = _keys(load_sweep("mod97_grid"))  # by name, from configs/sweeps/
    queued = []
    for k in (0, 1, 2):
        base = f"modular_arithmetic:p=97,seed={k},data_seed={k}"
        for inline in (f"{base},r.weight_decay=0.1|0.3|1.0,r.lr_schedule=warmup|warmup_cosine,r.steps=20000",
                       f"{base},r.weight_decay=1.0,r.lr_schedule=warmup,r.lr=0.003,r.steps=20000"):
            queued += _keys(load_sweep(inline))
    assert sorted(grid) == sorted(queued) and len(grid) == 21
    assert "p=97,operation=add,seed=0,data_seed=0,frac_train=0.5,r.steps=20000,r.lr_schedule=warmup" in grid


def test_mod97_grok_is_the_grids_wd_1_warmup_cell_so_the_grid_measures_it():
    from workbench.core.variant import parse_variant
    from workbench.training.config import load_config

    config = load_config("mod97_grok")
    assert parse_variant(config.variant, recipe=config.recipe).dir_name in _keys(load_sweep("mod97_grid"))
