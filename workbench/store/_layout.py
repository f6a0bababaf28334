"""The layout of a store: where each file of a run lives (after mlflow's FileStore).

    <root>/<family>/<variant>/
        variant.json                          family, params, recipe, schedule, versions
        metrics.npz                           epoch, train/test loss and accuracy
        clock.npz                             seconds of training at each evaluated epoch (wall time)
        status.json                           progress of the job running on this variant
        resume.safetensors                    weights + optimizer at the last checkpoint
        resume.prev.safetensors               the same at the checkpoint before (rejoins a killed stack)
        checkpoints/epoch_000000.safetensors  HookedTransformer-named weights
        states/epoch_000000.safetensors       weights + optimizer every `state_every` epochs (densify)
        analysis/<analyzer>/epoch_000000.npz  per-epoch analyzer artifacts
        analysis/<analyzer>/summary.npz       cross-epoch analyzer artifacts
        probes/<probe>/<analyzer>/epoch_000000.npz  the same on a named probe (the canonical one is analysis/)
        report.html                           the offline HTML report (`workbench report`)
    <root>/index.sqlite                       the run index, derived from the files (workbench.store.index)
    <root>/.jobs/job_000001.log               output of a job started from the dashboard or a sweep
    <root>/.groups/<group id>/<analyzer>.npz  group-scope analyzer artifacts over several runs
    <root>/.groups/<group id>/report.html     a run group's offline report (`workbench report --group`)
    <root>/.probes/<probe>.json               a named probe: family and expression (workbench.core.probes)

`Layout` is the base of `workbench.store.Store`: folder and file names are its constants,
and every path comes from one of its methods. Only the `workbench.store` package calls
them to read or write; elsewhere a path is for a message (where a run lives) or a test
that damages a file on purpose. Every id is validated here, so a family, variant or
analyzer name cannot contain '/' or '..' and escape the root.

A variant's directory is its name (`RunKey.variant`, the spec without the family) when that
fits a file name (NAME_MAX, 255 bytes); a longer name gets a readable prefix, cut at a comma,
plus `~` and 16 hex digits of its sha256 (`variant_dir`). The full name is in the run's
variant.json, and `Store.runs()` reads it back from there: a directory name is never parsed.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import NamedTuple

from workbench.core.errors import UserError

__all__ = ["Layout", "RunKey", "default_store_root", "variant_dir"]

ID = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.,=+-]*$")
HASHED = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.,=+-]*~[0-9a-f]{16}$")  # the directory of a long variant name
NAME_MAX = 255  # bytes in a file name on common filesystems
_PREFIX = 180  # bytes of a long variant name kept readable in its directory name
_EPOCH_FILE = re.compile(r"^epoch_(\d{6,})\.(safetensors|npz)$")
_JOBS = ("train", "analyze", "annotate")


class RunKey(NamedTuple):
    """Identifies a variant's run directory: (family name, variant dir name)."""

    family: str
    variant: str


def default_store_root() -> Path:
    return Path(os.environ.get("WORKBENCH_STORE") or "artifacts")


def _check_id(kind: str, value: str, max_bytes: int | None = NAME_MAX) -> str:
    if not isinstance(value, str) or not ID.match(value) or ".." in value or \
            (max_bytes is not None and len(value.encode()) > max_bytes):
        raise UserError(f"invalid {kind} id {value!r}")
    return value


def variant_dir(name: str) -> str:
    """The directory name of variant name `name`: itself when it fits NAME_MAX, else its first
    ~180 bytes up to a comma + "~" + 16 hex digits of the sha256 of the whole name.

    A name already of that hashed form (a directory whose record cannot be read, as
    `Store.runs()` lists it) is its own directory.
    """
    if isinstance(name, str) and HASHED.match(name) and ".." not in name and len(name) <= NAME_MAX:
        return name
    _check_id("variant", name, max_bytes=None)
    if len(name) <= NAME_MAX:  # an id is ASCII: characters are bytes
        return name
    head = name[:_PREFIX]
    head = head[:head.rfind(",")] if "," in head else head
    return f"{head}~{hashlib.sha256(name.encode()).hexdigest()[:16]}"


def _epoch_name(epoch: int, suffix: str) -> str:
    if epoch < 0:
        raise ValueError(f"epoch must be >= 0, got {epoch}")
    return f"epoch_{epoch:06d}.{suffix}"


class Layout:
    """The paths of one store root (`Store` adds the listings and the operations)."""

    VARIANT_FILE = "variant.json"
    METRICS_FILE = "metrics.npz"
    CLOCK_FILE = "clock.npz"  # wall time at each evaluation (workbench.store.clock); not in metrics.npz
    STATUS_FILE = "status.json"
    ANNOTATIONS_FILE = "annotations.json"  # the user's tags and note (workbench.store.annotations)
    RESUME_FILE = "resume.safetensors"
    PREVIOUS_RESUME_FILE = "resume.prev.safetensors"
    CHECKPOINT_DIR = "checkpoints"
    STATES_DIR = "states"
    ANALYSIS_DIR = "analysis"
    SUMMARY_FILE = "summary.npz"
    NULL_FILE = "null.npz"
    REPORT_FILE = "report.html"
    INDEX_FILE = "index.sqlite"
    JOBS_DIR = ".jobs"  # a leading dot: never taken for a family by `runs()`
    GROUPS_DIR = ".groups"  # likewise
    PROBES_DIR = ".probes"  # likewise
    PROBE_ANALYSIS_DIR = "probes"  # per run: artifacts on a named probe, one folder per probe
    REPORT_SPECS_DIR = ".reports"  # report specs saved in the store (workbench.query.report_specs); likewise

    def __init__(self, root: str | os.PathLike | None = None, probe: str | None = None):
        self.root = Path(root) if root is not None else default_store_root()
        # None: the canonical probe, whose artifacts keep their analysis/ paths (stores made
        # before probes keep their meaning); a name: analysis reads and writes that probe's
        self.probe = None if probe is None else _check_id("probe", probe, max_bytes=64)

    def with_probe(self, probe: str | None):
        """This store with its artifacts read and written on `probe` (None or "canonical": the canonical probe)."""
        from copy import copy

        other = copy(self)
        other.probe = None if probe in (None, "canonical") else _check_id("probe", probe, max_bytes=64)
        return other

    def __repr__(self) -> str:
        return f"Store({str(self.root)!r})"

    # ---------------------------------------------------------------- paths
    def run_dir(self, key: RunKey) -> Path:
        return self.root / _check_id("family", key[0]) / variant_dir(key[1])

    def variant_path(self, key: RunKey) -> Path:
        return self.run_dir(key) / self.VARIANT_FILE

    def metrics_path(self, key: RunKey) -> Path:
        return self.run_dir(key) / self.METRICS_FILE

    def clock_path(self, key: RunKey) -> Path:
        return self.run_dir(key) / self.CLOCK_FILE

    def status_path(self, key: RunKey) -> Path:
        return self.run_dir(key) / self.STATUS_FILE

    def annotations_path(self, key: RunKey) -> Path:
        return self.run_dir(key) / self.ANNOTATIONS_FILE

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

    def analysis_root(self, key: RunKey) -> Path:
        """Where a run's artifacts on this store's probe live (analysis/, or probes/<probe>/)."""
        if self.probe is None:
            return self.run_dir(key) / self.ANALYSIS_DIR
        return self.run_dir(key) / self.PROBE_ANALYSIS_DIR / self.probe

    def analysis_dir(self, key: RunKey, analyzer: str) -> Path:
        return self.analysis_root(key) / _check_id("analyzer", analyzer)

    def artifact_path(self, key: RunKey, analyzer: str, epoch: int) -> Path:
        return self.analysis_dir(key, analyzer) / _epoch_name(epoch, "npz")

    def summary_path(self, key: RunKey, analyzer: str) -> Path:
        return self.analysis_dir(key, analyzer) / self.SUMMARY_FILE

    def null_path(self, key: RunKey, analyzer: str) -> Path:
        """A per-epoch analyzer's null: its declared outputs over the null's draws (workbench.analysis.nulls)."""
        return self.analysis_dir(key, analyzer) / self.NULL_FILE

    def group_artifact_path(self, group: str, analyzer: str) -> Path:
        """A group-scope analyzer's artifact over the runs of group `group` (workbench.analysis.group)."""
        return self.root / self.GROUPS_DIR / _check_id("group", group) / f"{_check_id('analyzer', analyzer)}.npz"

    def group_report_path(self, group: str) -> Path:
        """A run group's offline HTML report (workbench.ui.group_report)."""
        return self.root / self.GROUPS_DIR / _check_id("group", group) / self.REPORT_FILE

    def probe_path(self, name: str) -> Path:
        """A named probe's definition (workbench.store.probes)."""
        return self.root / self.PROBES_DIR / f"{_check_id('probe', name, max_bytes=64)}.json"

    def probe_names(self) -> list[str]:
        folder = self.root / self.PROBES_DIR
        return sorted(f.name[:-5] for f in folder.iterdir() if f.name.endswith(".json") and ID.match(f.name[:-5])) \
            if folder.is_dir() else []

    def report_path(self, key: RunKey) -> Path:
        return self.run_dir(key) / self.REPORT_FILE

    def report_spec_path(self, name: str) -> Path:
        """A report spec saved in the store under `name` (YAML)."""
        return self.root / self.REPORT_SPECS_DIR / f"{_check_id('report spec', name)}.yaml"

    def spec_report_path(self, key: RunKey, name: str) -> Path:
        """Where a run's report for spec `name` is written by default."""
        return self.run_dir(key) / f"report_{_check_id('report spec', name)}.html"

    def index_path(self) -> Path:
        """The SQLite run index (workbench.store.index): derived from the run directories, plus jobs and configs."""
        return self.root / self.INDEX_FILE

    def job_log_path(self, job_id: int) -> Path:
        """The log (stdout and stderr) of job `job_id` of the index's job table."""
        if isinstance(job_id, bool) or not isinstance(job_id, int) or job_id <= 0:
            raise UserError(f"invalid job id {job_id!r}")
        return self.root / self.JOBS_DIR / f"job_{job_id:06d}.log"

    def lock_path(self, key: RunKey, job: str) -> Path:
        """The flock file of a run's `job` ("train", "analyze", or "annotate": a tag or note edit);
        see workbench.store.lock and workbench.store.annotations."""
        if job not in _JOBS:
            raise ValueError(f"job must be one of {_JOBS}, got {job!r}")
        return self.run_dir(key) / f".{job}.lock"

    @staticmethod
    def _epochs_in(folder: Path) -> list[int]:
        if not folder.is_dir():
            return []
        return sorted(int(m.group(1)) for f in os.listdir(folder) if (m := _EPOCH_FILE.match(f)))

    @staticmethod
    def _signature(path: Path) -> tuple[int, int] | None:
        """(mtime_ns, size) of a file, None if absent: every write replaces the file, so it changes."""
        try:
            st = os.stat(path)
        except OSError:
            return None
        return st.st_mtime_ns, st.st_size
