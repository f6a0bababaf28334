"""`Store`: a store root that answers questions and does things (after mlflow's FileStore).

Callers ask for a run's record, metrics, artifacts, checkpoints, training states and
status, and list runs, epochs and analyzers; they never join a path into the store or
touch a file format. The layout is `workbench.store._layout` (every path comes from a
method there), the formats `workbench.store._io` (atomic writes, safe reads).

An artifact's *stamp* is the metadata that says what it was computed from (the analyzer
version, the checkpoint's identity, the options, a reference's identity; a summary's
names the version and the epochs): one whose metadata holds the same entries is up to
date, anything else (absent, unreadable, another stamp) is recomputed. The resume file
holds the training state at the last checkpoint; before it is replaced, the one it
replaces is kept as resume.prev (a hard link), so the members of a stack that a kill left
one checkpoint apart can go back (`rewind_resume`).
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import BinaryIO, Callable, Mapping

import numpy as np

from workbench.core.errors import CorruptFile, MissingFile, UserError
from workbench.core.variant import Variant, parse_variant
from workbench.store._io import (
    _reading,
    atomic_path,
    keep_copy,
    load_json,
    load_npz,
    load_safetensors,
    safetensors_metadata,
    safetensors_shapes,
    save_json,
    save_npz,
    save_safetensors,
)
from workbench.store._layout import HASHED, ID, Layout, RunKey, default_store_root, variant_dir
from workbench.store._proc import pid_alive
from workbench.store.record import RunRecord, checked_status, job_state, new_status
from workbench.store.refs import METRICS, ArraysRef, StoredCheckpoint, checkpoint_identity

__all__ = ["Store", "RunKey", "ArraysRef", "StoredCheckpoint", "checkpoint_identity", "default_store_root"]

_REQUIRED = tuple(n for n, f in RunRecord.model_fields.items() if f.is_required())  # keys every record has
_DEFAULT_STAMP = {"options": "{}"}  # stamp entries of artifacts written before they were recorded
_TEMP_OWNER = re.compile(r"\.(\d+)\.[^.]+\.tmp$")  # `.<name>.<pid>.<random>.tmp` from _io.atomic_path
_LIBRARY_TEMP = re.compile(r"^\.tmp[A-Za-z0-9_]{6}$")  # safetensors' save_file temp file (writers before 2026-12)
_LIBRARY_TEMP_S = 600  # such a file untouched this long is a killed writer's (a live one writes for seconds)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return float("inf")  # gone meanwhile: nothing to delete


def _save_stamped(path: Path, analyzer: str, arrays: Mapping[str, np.ndarray], stamp: Mapping[str, str] | None,
                  **meta: str) -> None:
    """An analyzer's arrays, written atomically with its name, `meta` and its `stamp` as metadata."""
    save_npz(dict(arrays), path, {"analyzer": analyzer, **meta, **(stamp or {})})


class Store(Layout):
    """One store root: its runs, and the operations on each run's files."""

    # ---------------------------------------------------------------- record
    def read_record(self, key: RunKey) -> RunRecord:
        """The run's variant.json.

        Raises:
            MissingFile if there is none; CorruptFile if it is unreadable, not a JSON object,
            lacks a required field, or holds a field of the wrong type.
        """
        path = self.variant_path(key)
        return RunRecord.from_json(load_json(path, expect=dict, keys=_REQUIRED), path)

    def write_record(self, key: RunKey, record: RunRecord) -> None:
        """Write the run's variant.json atomically (exactly the fields `record` holds)."""
        save_json(record.to_json(), self.variant_path(key))

    def record_signature(self, key: RunKey) -> tuple[int, int] | None:
        """What changes whenever the record is rewritten (for caches); None without one."""
        return self._signature(self.variant_path(key))

    def read_variant(self, key: RunKey) -> Variant:
        """The Variant the run's record names (CorruptFile if its spec no longer parses)."""
        spec = self.read_record(key).variant
        try:
            return parse_variant(spec)
        except CorruptFile:
            raise
        except UserError as err:
            raise CorruptFile(self.variant_path(key), f"its variant {spec!r} does not parse ({err})") from None

    # ---------------------------------------------------------------- status
    def read_status(self, key: RunKey, as_written: bool = False) -> dict | None:
        """The run's status.json with "state" as `record.job_state` reads it (or as written,
        with `as_written`); None if there is none.

        Raises:
            CorruptFile if status.json is unreadable, not a JSON object, or has a field of the
            wrong type (e.g. a `done` that is a string).
        """
        path = self.status_path(key)
        try:
            status = checked_status(load_json(path, expect=dict), path)
        except MissingFile:
            return None
        return status if as_written else {**status, "state": job_state(status)}

    def write_status(self, key: RunKey, done: float, total: int, state: str, job: str = "train",
                     eta_s: float | None = None) -> None:
        """status.json: this process's `job` progress (done of total; tenths of an epoch in a run of
        few epochs), state ("running" or "done") and, where known, the seconds it expects to take yet."""
        save_json(new_status(done, total, state, job, eta_s), self.status_path(key))

    # ---------------------------------------------------------------- arrays
    def _arrays_path(self, key: RunKey, ref: ArraysRef) -> Path:
        if ref.source == METRICS:
            return self.metrics_path(key)
        if ref.null:
            return self.null_path(key, ref.source)
        if ref.epoch is None:
            return self.summary_path(key, ref.source)
        return self.artifact_path(key, ref.source, ref.epoch)

    def read_arrays(self, key: RunKey, ref: ArraysRef, keys: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
        """The arrays of `ref` (metrics, a summary or an artifact).

        Args:
            key: the run; ref: which table; keys: arrays the caller needs (a table without one is corrupt).
        Raises:
            MissingFile if it does not exist; CorruptFile (one line naming the file) if it cannot be read.
        """
        return load_npz(self._arrays_path(key, ref), keys=keys)

    def has_arrays(self, key: RunKey, ref: ArraysRef) -> bool:
        return self._arrays_path(key, ref).is_file()

    def arrays_signature(self, key: RunKey, ref: ArraysRef) -> tuple[int, int] | None:
        """What changes whenever `ref` is rewritten (for caches); None if it does not exist."""
        return self._signature(self._arrays_path(key, ref))

    def _current(self, path: Path, stamp: Mapping[str, str]) -> bool:
        """True if the file exists, reads, and its metadata holds every entry of `stamp`."""
        if not path.exists():
            return False
        try:
            _, meta = load_npz(path, with_metadata=True)
        except UserError:  # corrupt: recompute it
            return False
        return all(meta.get(k, _DEFAULT_STAMP.get(k)) == v for k, v in stamp.items())

    # --------------------------------------------------------------- metrics
    def read_metrics(self, key: RunKey, keys: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
        """The run's metrics table: one array per column (epoch, train/test loss and accuracy, ...)."""
        return self.read_arrays(key, ArraysRef(METRICS), keys)

    def has_metrics(self, key: RunKey) -> bool:
        return self.has_arrays(key, ArraysRef(METRICS))

    def write_metrics(self, key: RunKey, columns: Mapping[str, object], last_epoch: int) -> None:
        """Replace the metrics table with `columns` (one value per evaluated epoch through `last_epoch`)."""
        save_npz({k: np.asarray(v) for k, v in columns.items()}, self.metrics_path(key), {"last_epoch": str(last_epoch)})

    def append_metrics(self, key: RunKey, rows: Mapping[int, Mapping[str, float]]) -> None:
        """Add rows {epoch: {column: value}} for epochs the table lacks, keeping it sorted by epoch
        (its metadata is kept); UserError if a row's columns are not the table's."""
        path = self.metrics_path(key)
        old, meta = load_npz(path, with_metadata=True, keys=("epoch",))
        columns = sorted(k for k in old if k != "epoch")
        for row in rows.values():
            if sorted(row) != columns:
                raise UserError(f"{path} has columns {columns} but the replay evaluates {sorted(row)}; "
                                "was the run trained by another version?")
        new = sorted(rows)
        epochs = np.concatenate([old["epoch"], np.asarray(new, dtype=old["epoch"].dtype)])
        order = np.argsort(epochs, kind="stable")
        merged = {"epoch": epochs[order]}
        for k in columns:
            merged[k] = np.concatenate([old[k], np.asarray([rows[e][k] for e in new], dtype=old[k].dtype)])[order]
        save_npz(merged, path, meta)

    # ---------------------------------------------- artifacts and summaries
    def read_artifact(self, key: RunKey, analyzer: str, epoch: int, keys: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
        """The arrays a per-epoch analyzer wrote for checkpoint `epoch` (MissingFile / CorruptFile)."""
        return self.read_arrays(key, ArraysRef(analyzer, epoch), keys)

    def has_artifact(self, key: RunKey, analyzer: str, epoch: int) -> bool:
        return self.has_arrays(key, ArraysRef(analyzer, epoch))

    def write_artifact(self, key: RunKey, analyzer: str, epoch: int, arrays: Mapping[str, np.ndarray],
                       stamp: Mapping[str, str] | None = None) -> None:
        """Write a per-epoch artifact atomically, its `stamp` in its metadata."""
        _save_stamped(self.artifact_path(key, analyzer, epoch), analyzer, arrays, stamp, epoch=str(epoch))

    def artifact_current(self, key: RunKey, analyzer: str, epoch: int, stamp: Mapping[str, str]) -> bool:
        """True if the artifact exists, reads, and carries every entry of `stamp`."""
        return self._current(self.artifact_path(key, analyzer, epoch), stamp)

    def read_summary(self, key: RunKey, analyzer: str, keys: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
        """The arrays a summary (cross-epoch) analyzer wrote (MissingFile / CorruptFile)."""
        return self.read_arrays(key, ArraysRef(analyzer), keys)

    def has_summary(self, key: RunKey, analyzer: str) -> bool:
        return self.has_arrays(key, ArraysRef(analyzer))

    def write_summary(self, key: RunKey, analyzer: str, arrays: Mapping[str, np.ndarray],
                      stamp: Mapping[str, str] | None = None) -> None:
        """Write a summary atomically, its `stamp` in its metadata."""
        _save_stamped(self.summary_path(key, analyzer), analyzer, arrays, stamp)

    def summary_current(self, key: RunKey, analyzer: str, stamp: Mapping[str, str]) -> bool:
        """True if the summary exists, reads, and carries every entry of `stamp`."""
        return self._current(self.summary_path(key, analyzer), stamp)

    def read_null(self, key: RunKey, analyzer: str, keys: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
        """An analyzer's null draws (MissingFile / CorruptFile)."""
        return self.read_arrays(key, ArraysRef(analyzer, null=True), keys)

    def write_null(self, key: RunKey, analyzer: str, arrays: Mapping[str, np.ndarray],
                   stamp: Mapping[str, str] | None = None) -> None:
        """Write an analyzer's null draws atomically, its `stamp` in its metadata."""
        _save_stamped(self.null_path(key, analyzer), analyzer, arrays, stamp)

    def null_current(self, key: RunKey, analyzer: str, stamp: Mapping[str, str]) -> bool:
        """True if the null exists, reads, and carries every entry of `stamp`."""
        return self._current(self.null_path(key, analyzer), stamp)

    def read_group_artifact(self, group: str, analyzer: str, keys: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
        """The arrays a group-scope analyzer wrote for run group `group` (MissingFile / CorruptFile)."""
        return load_npz(self.group_artifact_path(group, analyzer), keys=keys)

    def write_group_artifact(self, group: str, analyzer: str, arrays: Mapping[str, np.ndarray],
                             stamp: Mapping[str, str] | None = None) -> None:
        """Write a group-scope artifact atomically, its `stamp` in its metadata."""
        _save_stamped(self.group_artifact_path(group, analyzer), analyzer, arrays, stamp)

    def group_artifact_current(self, group: str, analyzer: str, stamp: Mapping[str, str]) -> bool:
        return self._current(self.group_artifact_path(group, analyzer), stamp)

    # ----------------------------------------------------------- checkpoints
    def save_checkpoint(self, key: RunKey, epoch: int, weights: Mapping, metadata: Mapping[str, str]) -> None:
        """Write checkpoint `epoch` (HookedTransformer-named tensors) atomically with its metadata."""
        save_safetensors(dict(weights), self.checkpoint_path(key, epoch), dict(metadata))

    def load_checkpoint(self, key: RunKey, epoch: int, device: str = "cpu") -> dict:
        """The tensors of checkpoint `epoch` (MissingFile / CorruptFile)."""
        return load_safetensors(self.checkpoint_path(key, epoch), device=device)

    def read_checkpoint(self, key: RunKey, epoch: int) -> StoredCheckpoint:
        """Checkpoint `epoch` read once, with its identity (MissingFile / CorruptFile, naming the file)."""
        path = self.checkpoint_path(key, epoch)
        with _reading(path):
            raw = path.read_bytes()
            return StoredCheckpoint(epoch, checkpoint_identity(raw), path, raw)

    # ------------------------------------------------ training states, resume
    def save_state(self, key: RunKey, epoch: int, tensors: Mapping, metadata: Mapping[str, str]) -> None:
        """Keep the full training state (weights + optimizer, as the resume file) at `epoch`."""
        save_safetensors(dict(tensors), self.state_path(key, epoch), dict(metadata))

    def load_state(self, key: RunKey, epoch: int) -> dict:
        """The training-state tensors kept at `epoch` (MissingFile / CorruptFile)."""
        return load_safetensors(self.state_path(key, epoch))

    def save_resume(self, key: RunKey, tensors: Mapping, metadata: Mapping[str, str]) -> None:
        """Replace the resume state, keeping the one it replaces as resume.prev."""
        resume = self.resume_path(key)
        if resume.exists():
            keep_copy(resume, self.previous_resume_path(key))
        save_safetensors(dict(tensors), resume, dict(metadata))

    def load_resume(self, key: RunKey, check: Callable[[dict], None] | None = None) -> dict:
        """The resume state's tensors (MissingFile / CorruptFile).

        `check(tensors)` raises ValueError naming what does not fit the run (the trainer's
        shape check); it becomes a CorruptFile naming the resume file.
        """
        path = self.resume_path(key)
        saved = load_safetensors(path)
        if check is not None:
            try:
                check(saved)
            except ValueError as err:
                raise CorruptFile(path, str(err)) from None
        return saved

    def checkpoint_shapes(self, key: RunKey, epoch: int) -> dict[str, tuple[int, ...]]:
        """{tensor name: shape} of checkpoint `epoch`, from its header; {} if there is none."""
        try:
            return safetensors_shapes(self.checkpoint_path(key, epoch))
        except MissingFile:
            return {}

    def has_resume(self, key: RunKey) -> bool:
        return self.resume_path(key).exists()

    def resume_epoch(self, key: RunKey) -> int | None:
        """The epoch the run's resume state holds, None without one; CorruptFile if unreadable."""
        path = self.resume_path(key)
        if not path.exists():
            return None
        epoch = safetensors_metadata(path).get("epoch", "")
        if not epoch.isdigit():
            raise CorruptFile(path, f"metadata 'epoch' is {epoch!r}, not a whole number")
        return int(epoch)

    def previous_resume_epoch(self, key: RunKey) -> int | None:
        """The epoch of the resume state one checkpoint back, None without one (or if unreadable)."""
        try:
            epoch = safetensors_metadata(self.previous_resume_path(key)).get("epoch", "")
        except UserError:  # missing, or corrupt: no previous state to go back to
            return None
        return int(epoch) if epoch.isdigit() else None

    def rewind_resume(self, key: RunKey) -> None:
        """Make the previous resume state the run's resume state (the caller holds the train lock)."""
        os.replace(self.previous_resume_path(key), self.resume_path(key))

    def drop_resume(self, key: RunKey) -> None:
        """Remove the resume state: the run starts fresh again (its init is a function of its seed)."""
        self.resume_path(key).unlink()

    # --------------------------------------------------------- reports, logs
    def save_report_spec(self, name: str, text: str) -> Path:
        """Write a report spec's YAML text atomically under `name` (the caller has validated it)."""
        self.ensure_writable()
        path = self.report_spec_path(name)
        with atomic_path(path) as tmp:
            tmp.write_text(text, encoding="utf-8")
        return path

    def report_spec_names(self) -> list[str]:
        """The names of the report specs saved in the store, sorted."""
        folder = self.root / self.REPORT_SPECS_DIR
        return sorted(p.stem for p in folder.glob("*.yaml")) if folder.is_dir() else []

    def write_report(self, key: RunKey, page: str, out: str | os.PathLike | None = None) -> Path:
        """Write a run's HTML report atomically: to `out` where given, else the run's report.html.

        Raises:
            UserError naming the file if it cannot be written (a folder, permissions, a full disk).
        """
        return _write_page(Path(out) if out is not None else self.report_path(key), page)

    def write_group_report(self, group: str, page: str, out: str | os.PathLike | None = None) -> Path:
        """Write a run group's HTML report atomically: to `out` where given, else its report.html under .groups."""
        return _write_page(Path(out) if out is not None else self.group_report_path(group), page)

    def has_job_log(self, job_id: int) -> bool:
        return self.job_log_path(job_id).is_file()

    def open_job_log(self, job_id: int) -> BinaryIO:
        """Job `job_id`'s log, opened to append (a worker's stdout and stderr go there)."""
        log = self.job_log_path(job_id)
        log.parent.mkdir(parents=True, exist_ok=True)
        return open(log, "ab")

    def job_log_tail(self, job_id: int, size: int) -> str | None:
        """The last `size` bytes of job `job_id`'s log as text (carriage returns as newlines); None without one."""
        try:
            with open(self.job_log_path(job_id), "rb") as f:
                f.seek(max(0, f.seek(0, os.SEEK_END) - size))
                return f.read().decode("utf-8", "replace").replace("\r", "\n")
        except OSError:
            return None

    # ------------------------------------------------------------ temp files
    def stale_temp_files(self, key: RunKey) -> list[Path]:
        """Temporary files whose writer is dead (never complete artifacts; safe to delete).

        A temp file's name carries its writer's pid; one whose process is alive (a
        concurrent `analyze` while `train` starts, say) is in flight and not listed. The
        `.tmpXXXXXX` files safetensors' own writer left when killed carry no pid: listed
        once untouched for ten minutes.
        """
        run = self.run_dir(key)
        if not run.is_dir():
            return []
        ours = [p for p in run.rglob(".*.tmp") if not ((m := _TEMP_OWNER.search(p.name)) and pid_alive(int(m.group(1))))]
        old = time.time() - _LIBRARY_TEMP_S
        theirs = [p for p in run.rglob(".tmp*") if _LIBRARY_TEMP.match(p.name) and _mtime(p) < old]
        return sorted(ours + theirs)

    def remove_stale_temp_files(self, key: RunKey) -> int:
        """Delete the litter of writers killed mid-file (`stale_temp_files`); how many were removed."""
        stale = self.stale_temp_files(key)
        for path in stale:
            path.unlink(missing_ok=True)
        return len(stale)

    # -------------------------------------------------------------- listings
    def checkpoint_epochs(self, key: RunKey) -> list[int]:
        return self._epochs_in(self.checkpoint_dir(key))

    def state_epochs(self, key: RunKey) -> list[int]:
        """Epochs with a saved training state (empty for runs trained before states were kept)."""
        return self._epochs_in(self.state_dir(key))

    def artifact_epochs(self, key: RunKey, analyzer: str) -> list[int]:
        return self._epochs_in(self.analysis_dir(key, analyzer))

    def analyzers_done(self, key: RunKey) -> list[str]:
        folder = self.analysis_root(key)
        return sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []

    def runs(self) -> list[RunKey]:
        """Every variant directory in the store that has a variant.json, named by its variant
        (a long one's name comes from its record: see workbench.store._layout)."""
        if not self.root.is_dir():
            return []
        return [
            RunKey(fam.name, run.name) if ID.match(run.name) else self._long_run(fam.name, run.name)
            for fam in sorted(self.root.iterdir()) if fam.is_dir() and ID.match(fam.name)
            for run in sorted(fam.iterdir())
            if (run / self.VARIANT_FILE).is_file() and (ID.match(run.name) or HASHED.match(run.name))
        ]

    def _long_run(self, family: str, folder: str) -> RunKey:
        """The key of hashed directory `folder`: the full name its record holds (only that field is
        read), or the folder's own name when there is none or it names another directory."""
        try:
            spec = load_json(self.variant_path(RunKey(family, folder)), expect=dict).get("variant")
            family_of, _, name = spec.partition(":") if isinstance(spec, str) else ("", "", "")
            if family_of == family and variant_dir(name) == folder:
                return RunKey(family, name)
        except (CorruptFile, MissingFile, UserError):  # damaged: `read_record` says how, where it is read
            pass
        return RunKey(family, folder)

    def exists(self, key: RunKey) -> bool:
        return self.variant_path(key).is_file()

    def has_index(self) -> bool:
        """Whether the store has a run index file yet (workbench.store.index creates it)."""
        return self.index_path().is_file()

    # ---------------------------------------------------------------- checks
    def ensure_writable(self) -> None:
        """Raise UserError unless the root exists (or can be created) and is writable.

        Asking the kernel is the only reliable test: `os.access` says yes to root for
        /proc or a read-only bind mount. So a directory is created and removed again in
        the root, or in its nearest existing ancestor; nothing is left behind.
        """
        import tempfile

        probe = self.root
        while not probe.exists() and probe != probe.parent:
            probe = probe.parent
        if not probe.is_dir():
            raise UserError(f"store {str(self.root)!r} is not writable: {str(probe)!r} is not a directory")
        try:
            os.rmdir(tempfile.mkdtemp(prefix=".workbench-probe-", dir=probe))
        except OSError as err:
            raise UserError(f"store {str(self.root)!r} is not writable: {err.strerror or err} in {str(probe)!r}") from None


def _write_page(path: Path, page: str) -> Path:
    """Write an HTML page atomically; UserError naming the file if it cannot be written."""
    if path.is_dir():
        raise UserError(f"cannot write the report to {str(path)!r}: it is a directory")
    try:
        with atomic_path(path) as tmp:
            tmp.write_text(page, encoding="utf-8")
    except OSError as err:  # a file where a folder should be, permissions, a full disk
        raise UserError(f"cannot write the report to {str(path)!r}: {err.strerror or err}") from None
    return path
