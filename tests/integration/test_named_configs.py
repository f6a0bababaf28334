"""Named configs saved in the store's run index: save, list, train with --config NAME (the
name is recorded with the run and queryable), and every refusal is one line, exit 2."""

from __future__ import annotations

import pytest

from workbench.cli import main
from workbench.core.variant import parse_variant
from workbench.store import RunKey, Store
from workbench.training.config import config_names

SPEC = "modular_addition:p=17,frac_train=0.5"


def _err(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith("workbench: error:") and "\n" not in err and "Traceback" not in err
    return err


def test_save_list_and_train_with_a_saved_config(tmp_path, capsys):
    store = ["--store", str(tmp_path)]
    assert main(["configs", "save", "fast17", SPEC, "--set", "lr=3e-3", "--epochs", "40", "--schedule", "0:40:20",
                 "--description", "a quick one", *store]) == 0
    assert main(["configs", *store]) == 0
    out = capsys.readouterr().out
    assert "fast17" in out and "recipe lr=3e-3  (saved in the store)" in out and "a quick one" in out
    assert main(["train", "--config", "fast17", "--quiet", *store]) == 0
    key = RunKey(*parse_variant(SPEC, recipe={"lr": "3e-3"}).key)
    record = Store(tmp_path).read_record(key)
    assert record.config == "fast17" and record.epochs == 40 and record.recipe["lr"] == 0.003
    capsys.readouterr()
    assert main(["list", "--where", "config=fast17 and r.lr=0.003", *store]) == 0
    assert "(1 of 1 match" in capsys.readouterr().out


def test_refusals_are_one_line_and_write_nothing(tmp_path, capsys):
    store = ["--store", str(tmp_path / "s")]
    assert main(["train", "--config", "nosuch", *store]) == 2
    assert "unknown config 'nosuch'" in _err(capsys)
    repo = config_names()[0]
    for argv, problem in [
        (["configs", "save", repo, SPEC], "is a repository config"),
        (["configs", "save", "bad/name", SPEC], "invalid config name"),
        (["configs", "save", "x.yaml", SPEC], "invalid config name"),
        (["configs", "save", "p18", "modular_addition:p=18"], "must be prime"),
        (["configs", "save", "lr", SPEC, "--set", "nosuch=1"], "unknown recipe field"),
        (["configs", "save", "e", SPEC, "--epochs", "0"], "must be positive"),
    ]:
        assert main(argv + store) == 2, argv
        assert problem in _err(capsys), argv
    assert not (tmp_path / "s").exists()
    assert main(["configs", "save", "once", SPEC, *store]) == 0
    assert main(["configs", "save", "once", SPEC, *store]) == 2
    assert "--replace" in _err(capsys)
    assert main(["configs", "save", "once", SPEC, "--set", "lr=1e-2", "--replace", *store]) == 0


@pytest.mark.parametrize("body", [b"not a database" * 50, b""])
def test_a_corrupt_index_is_named_when_a_config_is_looked_up(tmp_path, capsys, body):
    store = Store(tmp_path)
    store.index_path().write_bytes(body)
    code = main(["train", "--config", "fast17", "--store", str(tmp_path)])
    assert code == 2
    err = _err(capsys)
    assert ("unusable" in err and "index --rebuild" in err) or "unknown config 'fast17'" in err
