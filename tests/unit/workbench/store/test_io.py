"""Loaders in workbench.store._io: every unreadable file is one CorruptFile line naming it."""

import os

import numpy as np
import pytest
import torch

from workbench.core.errors import CorruptFile, MissingFile, UserError
from workbench.store._io import (
    load_json,
    load_npz,
    load_safetensors,
    safetensors_metadata,
    save_json,
    save_npz,
    save_safetensors,
)


@pytest.fixture
def npz(tmp_path):
    path = tmp_path / "metrics.npz"
    save_npz({"epoch": np.arange(50), "test_acc": np.linspace(0, 1, 50)}, path, {"last_epoch": "49"})
    return path


@pytest.fixture
def weights(tmp_path):
    path = tmp_path / "epoch_000010.safetensors"
    save_safetensors({"embed.W_E": torch.arange(400.0).reshape(20, 20)}, path, {"epoch": "10"})
    return path


def _damaged(path, how: str):
    raw = path.read_bytes()
    path.write_bytes({"truncated": raw[: len(raw) // 2], "garbage": os.urandom(len(raw)), "empty": b"",
                      "tail cut": raw[:-7]}[how])
    return path


def _assert_one_line(err: UserError, path) -> None:
    text = str(err)
    assert "\n" not in text and str(path) in text, text


DAMAGE = ["truncated", "garbage", "empty", "tail cut"]


@pytest.mark.parametrize("how", DAMAGE)
def test_a_damaged_npz_is_a_corrupt_file_naming_it(npz, how):
    with pytest.raises(CorruptFile) as info:
        load_npz(_damaged(npz, how))
    _assert_one_line(info.value, npz)
    assert info.value.path == npz


@pytest.mark.parametrize("how", DAMAGE)
@pytest.mark.parametrize("loader", [load_safetensors, safetensors_metadata])
def test_a_damaged_safetensors_is_a_corrupt_file_naming_it(weights, how, loader):
    with pytest.raises(CorruptFile) as info:
        loader(_damaged(weights, how))
    _assert_one_line(info.value, weights)


def test_a_bare_npy_array_is_not_an_npz(tmp_path):
    path = tmp_path / "summary.npz"
    with open(path, "wb") as f:
        np.save(f, np.arange(3))
    with pytest.raises(CorruptFile, match="not an .npz"):
        load_npz(path)


def test_a_pickled_npz_is_refused_not_unpickled(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, x=np.array([object()], dtype=object))
    with pytest.raises(CorruptFile, match="evil.npz"):
        load_npz(path)


def test_npz_keys_the_caller_needs_are_checked(npz):
    assert set(load_npz(npz, keys=("epoch", "test_acc"))) == {"epoch", "test_acc"}
    with pytest.raises(CorruptFile, match="missing array 'train_acc'"):
        load_npz(npz, keys=("train_acc",))


def test_a_missing_file_is_both_file_not_found_and_a_user_error(tmp_path):
    for loader in (load_npz, load_json, load_safetensors, safetensors_metadata):
        with pytest.raises(FileNotFoundError) as info:
            loader(tmp_path / "nope")
        assert isinstance(info.value, MissingFile) and isinstance(info.value, UserError)
        assert str(info.value) == f"missing file {tmp_path / 'nope'}"


@pytest.mark.parametrize("text, problem", [
    ("[]", "expected a JSON object, found array"),
    ("null", "expected a JSON object, found null"),
    ("{}", "missing key 'variant'"),
    ('{"variant": "x', "invalid JSON"),
    ("", "invalid JSON"),
])
def test_json_shape_is_checked_where_the_caller_needs_a_dict(tmp_path, text, problem):
    path = tmp_path / "variant.json"
    path.write_text(text)
    with pytest.raises(CorruptFile, match=problem) as info:
        load_json(path, expect=dict, keys=("variant",))
    _assert_one_line(info.value, path)


def test_json_that_is_not_utf8_is_corrupt(tmp_path):
    path = tmp_path / "status.json"
    path.write_bytes(b"\xff\xfe{")
    with pytest.raises(CorruptFile, match="not UTF-8"):
        load_json(path)


def test_good_files_still_round_trip(tmp_path, npz, weights):
    save_json({"variant": "v", "epochs": 3}, tmp_path / "v.json")
    assert load_json(tmp_path / "v.json", expect=dict, keys=("variant", "epochs"))["epochs"] == 3
    arrays, meta = load_npz(npz, with_metadata=True)
    assert meta == {"last_epoch": "49"} and arrays["epoch"][-1] == 49
    assert safetensors_metadata(weights) == {"epoch": "10"}
    assert load_safetensors(weights)["embed.W_E"][3, 4] == 64.0
