import hashlib
import re

import numpy as np
import pytest
import torch

from workbench.core.errors import UserError
from workbench.store import RunKey, Store
from workbench.store._io import load_npz, load_safetensors, safetensors_metadata, save_json, save_npz, save_safetensors
from workbench.store._layout import variant_dir

KEY = RunKey("modular_addition", "p=17,seed=1")


def test_paths_follow_the_documented_layout(tmp_path):
    s = Store(tmp_path)
    run = tmp_path / "modular_addition" / "p=17,seed=1"
    assert s.run_dir(KEY) == run
    assert s.variant_path(KEY) == run / "variant.json"
    assert s.checkpoint_path(KEY, 0) == run / "checkpoints" / "epoch_000000.safetensors"
    assert s.checkpoint_path(KEY, 12500) == run / "checkpoints" / "epoch_012500.safetensors"
    assert s.artifact_path(KEY, "embedding_fourier", 50) == run / "analysis" / "embedding_fourier" / "epoch_000050.npz"
    assert s.summary_path(KEY, "param_pca") == run / "analysis" / "param_pca" / "summary.npz"


@pytest.mark.parametrize("bad", ["..", "../x", "a/b", "", ".hidden", "a\\b", "x" * 300 + "/", "a~" + "0" * 16 + "/.."])
def test_ids_cannot_escape_the_root(tmp_path, bad):
    s = Store(tmp_path)
    with pytest.raises(UserError):
        s.run_dir(RunKey("modular_addition", bad))
    with pytest.raises(UserError):
        s.artifact_path(KEY, bad, 0)
    with pytest.raises(UserError):  # only a variant's name may be long: the store shortens it
        s.artifact_path(KEY, "x" * 300, 0)


# ------------------------------------------------------------------ long variant names
LONG = ",".join(f"param_{i:02d}=value_{i:02d}" for i in range(20))  # 339 bytes


def test_a_name_that_fits_is_its_own_directory_and_a_long_one_a_prefix_and_a_hash(tmp_path):
    s = Store(tmp_path)
    assert variant_dir(KEY.variant) == KEY.variant and s.run_dir(KEY).name == KEY.variant
    assert variant_dir("a" * 255) == "a" * 255
    folder = variant_dir(LONG)
    head, _, digest = folder.partition("~")
    assert len(folder) <= 200 and LONG.startswith(head + ",") and re.fullmatch(r"[0-9a-f]{16}", digest)
    assert digest == hashlib.sha256(LONG.encode()).hexdigest()[:16]  # stable: a function of the name alone
    assert variant_dir(LONG[:-1] + "8") != folder and variant_dir(LONG[:-1] + "8").split("~")[0] == head
    assert variant_dir(folder) == folder  # a damaged run listed by its folder is still addressable
    assert len(variant_dir("x" * 1000)) == 180 + 17  # no comma: cut at the byte limit


def test_runs_name_a_long_run_by_the_full_name_its_record_holds(tmp_path):
    s = Store(tmp_path)
    key = RunKey("modular_addition", LONG)
    save_json({"variant": f"modular_addition:{LONG}"}, s.variant_path(key))
    assert s.run_dir(key).name == variant_dir(LONG) and s.runs() == [key] and s.exists(key)
    other = RunKey("modular_addition", LONG.replace("value_00", "value_99"))
    s.variant_path(other).parent.mkdir(parents=True)
    s.variant_path(other).write_text("{not json")  # a damaged record: listed by its folder's name
    save_json({"variant": f"modular_addition:{LONG}"}, s.variant_path(RunKey("toy", LONG)))  # another family's
    assert set(s.runs()) == {key, RunKey("modular_addition", variant_dir(other.variant)),
                             RunKey("toy", variant_dir(LONG))}


def test_default_root_honours_env(monkeypatch):
    monkeypatch.setenv("WORKBENCH_STORE", "/tmp/elsewhere")
    assert str(Store().root) == "/tmp/elsewhere"
    monkeypatch.delenv("WORKBENCH_STORE")
    assert str(Store().root) == "artifacts"


def test_listings(tmp_path):
    s = Store(tmp_path)
    save_npz({"x": np.zeros(2)}, s.artifact_path(KEY, "a", 100))
    save_npz({"x": np.zeros(2)}, s.artifact_path(KEY, "a", 0))
    assert s.artifact_epochs(KEY, "a") == [0, 100]
    assert s.runs() == []  # no variant.json yet
    s.variant_path(KEY).write_text("{}")
    assert s.runs() == [KEY] and s.analyzers_done(KEY) == ["a"]


def test_npz_round_trip_with_metadata_and_no_pickle(tmp_path):
    path = tmp_path / "a.npz"
    arrays = {"f": np.arange(6, dtype=np.float16).reshape(2, 3), "s": np.array(["cos 1", "sin 1"]), "z": np.array(3.5)}
    save_npz(arrays, path, {"version": "2"})
    back, meta = load_npz(path, with_metadata=True)
    assert meta == {"version": "2"} and set(back) == set(arrays)
    for k in arrays:
        np.testing.assert_array_equal(back[k], arrays[k])
        assert back[k].dtype == arrays[k].dtype
    with pytest.raises(ValueError):
        save_npz({"o": np.array([object()], dtype=object)}, tmp_path / "b.npz")
    assert not (tmp_path / "b.npz").exists()


def test_safetensors_round_trip(tmp_path):
    path = tmp_path / "c.safetensors"
    save_safetensors({"w": torch.arange(4.0)}, path, {"epoch": "7"})
    assert torch.equal(load_safetensors(path)["w"], torch.arange(4.0))
    assert safetensors_metadata(path)["epoch"] == "7"


def test_failed_write_leaves_old_file_and_no_temp(tmp_path):
    path = tmp_path / "d.npz"
    save_npz({"x": np.ones(3)}, path)
    with pytest.raises(ValueError):
        save_npz({"x": np.ones(3), "__metadata__": np.ones(1)}, path)
    with pytest.raises(Exception):
        save_npz({"bad": np.array([object()], dtype=object)}, path)
    np.testing.assert_array_equal(load_npz(path)["x"], np.ones(3))
    assert [p.name for p in tmp_path.iterdir()] == ["d.npz"]


def test_unwritable_store_is_a_user_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(UserError, match="not writable"):
        Store(blocker / "store").ensure_writable()
    ro = tmp_path / "ro"
    ro.mkdir(mode=0o500)
    if not __import__("os").access(ro, __import__("os").W_OK):  # root ignores mode bits
        with pytest.raises(UserError, match="not writable"):
            Store(ro / "store").ensure_writable()


def test_written_files_honour_the_umask(tmp_path):
    import os

    path = tmp_path / "e.npz"
    old = os.umask(0o022)
    try:
        save_npz({"x": np.ones(1)}, path)
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o044  # group/other can read (mkstemp alone gives 0600)


def test_every_run_of_the_old_store_keeps_its_directory():
    from pathlib import Path

    from workbench.core.variant import parse_variant

    old = Store(Path(__file__).parents[3] / "fixtures" / "store_v1")
    keys = old.runs()
    assert keys == [RunKey("modular_addition", "p=7,seed=999,data_seed=598,frac_train=0.5,lr=0.001,weight_decay=1.0")]
    for key in keys:
        assert old.run_dir(key) == old.root / key.family / key.variant and old.exists(key)
        assert RunKey(*parse_variant(old.read_record(key).variant).key) == key  # its spec still resolves to it
