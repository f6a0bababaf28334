import numpy as np
import pytest
import torch

from workbench.core.errors import UserError
from workbench.store import RunKey, Store
from workbench.store._io import load_npz, load_safetensors, safetensors_metadata, save_npz, save_safetensors

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


@pytest.mark.parametrize("bad", ["..", "../x", "a/b", "", ".hidden", "a\\b", "x" * 300])
def test_ids_cannot_escape_the_root(tmp_path, bad):
    s = Store(tmp_path)
    with pytest.raises(UserError):
        s.run_dir(RunKey("modular_addition", bad))
    with pytest.raises(UserError):
        s.artifact_path(KEY, bad, 0)


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
