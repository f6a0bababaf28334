"""`Store`: the one class that knows the artifact layout (after mlflow's FileStore).

    <root>/<family>/<variant>/
        variant.json                          family, params, recipe, schedule, versions
        metrics.npz                           epoch, train/test loss and accuracy
        status.json                           progress of the job running on this variant
        resume.safetensors                    weights + optimizer at the last checkpoint
        resume.prev.safetensors               the same at the checkpoint before (rejoins a killed stack)
        checkpoints/epoch_000000.safetensors  HookedTransformer-named weights
        states/epoch_000000.safetensors       weights + optimizer every `state_every` epochs (densify)
        analysis/<analyzer>/epoch_000000.npz  per-epoch analyzer artifacts
        analysis/<analyzer>/summary.npz       cross-epoch analyzer artifacts
        report.html                           the offline HTML report (`workbench report`)
    <root>/index.sqlite                       the run index, derived from the files (workbench.store.index)
    <root>/.jobs/job_000001.log               output of a job started from the dashboard or a sweep

No other module joins paths inside a store. Every id is validated here, so a family,
variant or analyzer name cannot contain '/' or '..' and escape the root.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import NamedTuple

from workbench.core.errors import UserError
from workbench.store._proc import pid_alive

__all__ = ["Store", "RunKey", "default_store_root"]

_ID = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.,=+-]*$")
_EPOCH_FILE = re.compile(r"^epoch_(\d{6,})\.(safetensors|npz)$")
_TEMP_OWNER = re.compile(r"\.(\d+)\.[^.]+\.tmp$")  # `.<name>.<pid>.<random>.tmp` from _io.atomic_path
_LIBRARY_TEMP = re.compile(r"^\.tmp[A-Za-z0-9_]{6}$")  # safetensors' save_file temp file (writers before 2026-12)
_LIBRARY_TEMP_S = 600  # such a file untouched this long is a killed writer's (a live one writes for seconds)
_JOBS = ("train", "analyze")


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return float("inf")  # gone meanwhile: nothing to delete


class RunKey(NamedTuple):
    """Identifies a variant's run directory: (family name, variant dir name)."""

    family: str
    variant: str


def default_store_root() -> Path:
    return Path(os.environ.get("WORKBENCH_STORE") or "artifacts")


def _check_id(kind: str, value: str) -> str:
    if not isinstance(value, str) or not _ID.match(value) or ".." in value or len(value.encode()) > 255:  # NAME_MAX of common filesystems
        raise UserError(f"invalid {kind} id {value!r}")
    return value


def _epoch_name(epoch: int, suffix: str) -> str:
    if epoch < 0:
        raise ValueError(f"epoch must be >= 0, got {epoch}")
    return f"epoch_{epoch:06d}.{suffix}"


class Store:
    """Paths and listings for one store root."""

    VARIANT_FILE = "variant.json"
    METRICS_FILE = "metrics.npz"
    STATUS_FILE = "status.json"
    RESUME_FILE = "resume.safetensors"
    PREVIOUS_RESUME_FILE = "resume.prev.safetensors"
    CHECKPOINT_DIR = "checkpoints"
    STATES_DIR = "states"
    ANALYSIS_DIR = "analysis"
    SUMMARY_FILE = "summary.npz"
    REPORT_FILE = "report.html"
    INDEX_FILE = "index.sqlite"
    JOBS_DIR = ".jobs"  # a leading dot: never taken for a family by `runs()`

    def __init__(self, root: str | os.PathLike | None = None):
        self.root = Path(root) if root is not None else default_store_root()

    def __repr__(self) -> str:
        return f"Store({str(self.root)!r})"

    # ---------------------------------------------------------------- paths
    def run_dir(self, key: RunKey) -> Path:
        return self.root / _check_id("family", key[0]) / _check_id("variant", key[1])

    def variant_path(self, key: RunKey) -> Path:
        return self.run_dir(key) / self.VARIANT_FILE

    def metrics_path(self, key: RunKey) -> Path:
        return self.run_dir(key) / self.METRICS_FILE

    def status_path(self, key: RunKey) -> Path:
        return self.run_dir(key) / self.STATUS_FILE

    def resume_path(self, key: RunKey) -> Path:
        return self.run_dir(key) / self.RESUME_FILE

    def previous_resume_path(self, key: RunKey) -> Path:
        """The resume state one checkpoint back (workbench.training.resume.save_checkpoint keeps it)."""
        return self.run_dir(key) / self.PREVIOUS_RESUME_FILE

    def checkpoint_dir(self, key: RunKey) -> Path:
        return self.run_dir(key) / self.CHECKPOINT_DIR

    def checkpoint_path(self, key: RunKey, epoch: int) -> Path:
        return self.checkpoint_dir(key) / _epoch_name(epoch, "safetensors")

    def state_dir(self, key: RunKey) -> Path:
        return self.run_dir(key) / self.STATES_DIR

    def state_path(self, key: RunKey, epoch: int) -> Path:
        """A full training state (weights + optimizer, as the resume file) kept at `epoch`."""
        return self.state_dir(key) / _epoch_name(epoch, "safetensors")

    def analysis_dir(self, key: RunKey, analyzer: str) -> Path:
        return self.run_dir(key) / self.ANALYSIS_DIR / _check_id("analyzer", analyzer)

    def artifact_path(self, key: RunKey, analyzer: str, epoch: int) -> Path:
        return self.analysis_dir(key, analyzer) / _epoch_name(epoch, "npz")

    def summary_path(self, key: RunKey, analyzer: str) -> Path:
        return self.analysis_dir(key, analyzer) / self.SUMMARY_FILE

    def report_path(self, key: RunKey) -> Path:
        return self.run_dir(key) / self.REPORT_FILE

    def index_path(self) -> Path:
        """The SQLite run index (workbench.store.index): derived from the run directories, plus jobs and configs."""
        return self.root / self.INDEX_FILE

    def job_log_path(self, job_id: int) -> Path:
        """The log (stdout and stderr) of job `job_id` of the index's job table."""
        if isinstance(job_id, bool) or not isinstance(job_id, int) or job_id <= 0:
            raise UserError(f"invalid job id {job_id!r}")
        return self.root / self.JOBS_DIR / f"job_{job_id:06d}.log"

    def lock_path(self, key: RunKey, job: str) -> Path:
        """The flock file of a run's `job` ("train" or "analyze"); see workbench.store.lock."""
        if job not in _JOBS:
            raise ValueError(f"job must be one of {_JOBS}, got {job!r}")
        return self.run_dir(key) / f".{job}.lock"

    # ------------------------------------------------------------- listings
    @staticmethod
    def _epochs_in(folder: Path) -> list[int]:
        if not folder.is_dir():
            return []
        return sorted(int(m.group(1)) for f in os.listdir(folder) if (m := _EPOCH_FILE.match(f)))

    def checkpoint_epochs(self, key: RunKey) -> list[int]:
        return self._epochs_in(self.checkpoint_dir(key))

    def state_epochs(self, key: RunKey) -> list[int]:
        """Epochs with a saved training state (empty for runs trained before states were kept)."""
        return self._epochs_in(self.state_dir(key))

    def artifact_epochs(self, key: RunKey, analyzer: str) -> list[int]:
        return self._epochs_in(self.analysis_dir(key, analyzer))

    def analyzers_done(self, key: RunKey) -> list[str]:
        folder = self.run_dir(key) / self.ANALYSIS_DIR
        return sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []

    def runs(self) -> list[RunKey]:
        """Every variant directory in the store that has a variant.json."""
        if not self.root.is_dir():
            return []
        return [
            RunKey(fam.name, run.name)
            for fam in sorted(self.root.iterdir()) if fam.is_dir() and _ID.match(fam.name)
            for run in sorted(fam.iterdir()) if (run / self.VARIANT_FILE).is_file() and _ID.match(run.name)
        ]

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

    def exists(self, key: RunKey) -> bool:
        return self.variant_path(key).is_file()

    # --------------------------------------------------------------- checks
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
