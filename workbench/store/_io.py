"""Atomic artifact I/O with one tiny surface: save(arrays, path, metadata) / load(path).

Weights go in safetensors, analyzer outputs in .npz (never pickled), documents in JSON.
Every loader raises `MissingFile` for an absent file and `CorruptFile`, one line naming
the file and the problem, for anything it cannot read (truncated, garbage, wrong shape).
Every writer writes a temporary file in the destination folder, fsyncs it and
`os.replace`s it, so a run killed at any moment leaves either the old file or the new
one, never a truncated one.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from workbench.core.errors import CorruptFile, MissingFile, UserError

__all__ = [
    "atomic_path", "keep_copy", "save_npz", "load_npz", "save_safetensors", "load_safetensors",
    "safetensors_metadata", "safetensors_shapes", "save_json", "load_json",
]

_META_KEY = "__metadata__"  # npz entry holding the JSON-encoded str->str metadata
_UMASK = os.umask(0o022)
os.umask(_UMASK)  # read once: mkstemp makes 0600 files, but store files should be shareable


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temp path beside `path`; on success fsync it and move it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # the writer's pid in the name tells cleanup which temp files are still in flight
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp")
    os.close(fd)
    try:
        yield Path(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, path)
        _fsync_dir(path.parent)  # make the rename itself survive a power loss
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def keep_copy(src: Path, dst: Path) -> None:
    """Atomically make `dst` hold what `src` holds now: a hard link (no bytes copied), or a
    copy where the filesystem has no hard links. `src` may then be replaced; `dst` keeps
    the old content."""
    import shutil

    with atomic_path(dst) as tmp:
        os.unlink(tmp)
        try:
            os.link(src, tmp)
        except OSError:
            shutil.copyfile(src, tmp)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def save_npz(arrays: dict[str, np.ndarray], path: Path, metadata: dict[str, str] | None = None) -> None:
    """Write numpy arrays (and str metadata) to an .npz file atomically."""
    payload = {k: np.asarray(v) for k, v in arrays.items()}
    if _META_KEY in payload:
        raise ValueError(f"array name {_META_KEY!r} is reserved")
    pickled = [k for k, v in payload.items() if v.dtype.hasobject]
    if pickled:
        raise ValueError(f"array {pickled[0]!r} has dtype object, which .npz can only store by pickling")
    payload[_META_KEY] = np.array(json.dumps(metadata or {}, sort_keys=True))
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **payload)


def load_npz(path: Path, with_metadata: bool = False, keys: tuple[str, ...] = ()):
    """Read an .npz written by `save_npz` (pickle disabled). Optionally return its metadata.

    Args:
        path: the file.
        with_metadata: also return the str->str metadata dict.
        keys: arrays the caller needs; a file without one of them is corrupt.
    Raises:
        MissingFile if there is no such file; CorruptFile (one line naming the file and
        the problem) if it cannot be read or lacks one of `keys`.
    """
    with _reading(path):
        z = np.load(path, allow_pickle=False)
        if not isinstance(z, np.lib.npyio.NpzFile):
            raise CorruptFile(path, "a bare .npy array, not an .npz archive")
        with z:
            arrays = {k: z[k] for k in z.files if k != _META_KEY}
            meta = json.loads(str(z[_META_KEY])) if _META_KEY in z.files else {}
    if not isinstance(meta, dict):
        raise CorruptFile(path, f"metadata is {type(meta).__name__}, not a JSON object")
    _require(path, arrays, keys, "array")
    return (arrays, meta) if with_metadata else arrays


def save_safetensors(tensors: dict[str, Any], path: Path, metadata: dict[str, str] | None = None) -> None:
    """Write torch tensors to a safetensors file atomically.

    Serialized in memory and written here, not by `safetensors.torch.save_file`: that one
    writes through a temp file of its own (`.tmpXXXXXX`, no pid in the name, left behind by
    a kill) and reports a full disk as a SafetensorError, not the OSError it is.
    """
    from safetensors.torch import save

    data = save({k: v.detach().contiguous().cpu() for k, v in tensors.items()}, metadata=metadata)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)


def load_safetensors(source: Path | bytes, device: str = "cpu") -> dict:
    """Read a safetensors file (or its bytes, already read) into torch tensors."""
    from safetensors.torch import load, load_file

    if isinstance(source, bytes):
        return {k: v.to(device) for k, v in load(source).items()}
    with _reading(source):
        return load_file(str(source), device=device)


def safetensors_metadata(path: Path) -> dict[str, str]:
    """The str->str metadata of a safetensors file, read from its header only."""
    from safetensors import safe_open

    with _reading(path):
        with safe_open(str(path), framework="numpy") as f:
            return dict(f.metadata() or {})


def safetensors_shapes(path: Path) -> dict[str, tuple[int, ...]]:
    """{tensor name: shape} of a safetensors file, read from its header only."""
    from safetensors import safe_open

    with _reading(path):
        with safe_open(str(path), framework="numpy") as f:
            return {k: tuple(f.get_slice(k).get_shape()) for k in f.keys()}


def save_json(obj: Any, path: Path) -> None:
    """Write JSON atomically (sorted keys, indented, so diffs stay readable)."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True) + "\n")


def load_json(path: Path, expect: type | None = None, keys: tuple[str, ...] = ()) -> Any:
    """Read a JSON document.

    Args:
        path: the file.
        expect: the type the top-level value must have (e.g. `dict`), or None for any.
        keys: keys a dict document must hold.
    Raises:
        MissingFile if there is no such file; CorruptFile if it is not JSON or not shaped
        as expected.
    """
    with _reading(path):
        obj = json.loads(Path(path).read_text(encoding="utf-8"))
    if expect is not None and not isinstance(obj, expect):
        raise CorruptFile(path, f"expected a JSON {_JSON_NAMES.get(expect, expect.__name__)}, found {_json_name(obj)}")
    _require(path, obj, keys, "key")
    return obj


# ----------------------------------------------------------------------- read errors
_JSON_NAMES = {dict: "object", list: "array", str: "string", int: "integer", float: "number"}


def _json_name(obj: Any) -> str:
    return "null" if obj is None else _JSON_NAMES.get(type(obj), type(obj).__name__)


def _require(path: Path, found: Any, keys: tuple[str, ...], what: str) -> None:
    missing = [k for k in keys if not isinstance(found, dict) or k not in found]
    if missing:
        raise CorruptFile(path, f"missing {what} {missing[0]!r}")


def _problem(err: BaseException) -> str:
    """A short reason for a failed read, with the exception type for searchability."""
    if isinstance(err, zipfile.BadZipFile):
        reason = "truncated or not a zip archive"
    elif isinstance(err, json.JSONDecodeError):
        reason = f"invalid JSON at line {err.lineno} column {err.colno}: {err.msg}"
    elif isinstance(err, ValueError) and "pickled" in str(err):
        reason = "not an .npz archive (numpy would have to unpickle it)"
    elif isinstance(err, EOFError):
        reason = "empty or truncated"
    elif isinstance(err, UnicodeDecodeError):
        reason = "not UTF-8 text"
    elif isinstance(err, OSError) and err.strerror:
        reason = err.strerror
    else:
        reason = str(err) or "unreadable"
    return f"{reason} ({type(err).__name__})"


@contextmanager
def _reading(path: Path) -> Iterator[None]:
    """Turn any failure to read `path` into MissingFile or a one-line CorruptFile."""
    try:
        yield
    except UserError:
        raise
    except FileNotFoundError:
        raise MissingFile(path) from None
    except Exception as err:  # zip, zlib, JSON, safetensors header, numpy format, permissions...
        raise CorruptFile(path, _problem(err)) from err
