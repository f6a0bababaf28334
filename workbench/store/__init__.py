"""The run store: every file a run has, and the only code that knows where they are and how they are written.

- `file_store`: `Store`, the operations (after mlflow's FileStore): a run's record
  (`RunRecord`, variant.json), metrics, artifacts and summaries with their stamps,
  checkpoints with their identity, training states, the resume file, status, reports, job
  logs and temp-file cleanup; and the listings (runs, epochs, analyzers done);
- `_layout`: where each file lives (every path comes from a method there, every id is
  validated there); `refs`: what a caller holds without a path (`ArraysRef`, `StoredCheckpoint`);
- `_io`: atomic writes and safe reads of JSON, npz and safetensors (no pickle), private to this package;
- `annotations`: a run's tags and free-text note (annotations.json, indexed);
- `lock`: a run's train/analyze job locks; `_proc`: whether a writer's process is alive;
- `record`: the typed record and what status.json says (`job_state`);
- `markers`: the epoch markers and headlines that analyzers declare, read from their summaries;
- `index`: the SQLite run index, derived from the files (one row per run), kept current on read;
- `jobs`: the job table in the index (jobs started from the dashboard, and sweeps).
"""

from workbench.store.file_store import ArraysRef, RunKey, Store, StoredCheckpoint, checkpoint_identity, default_store_root
from workbench.store.record import RunRecord

__all__ = ["Store", "RunKey", "RunRecord", "ArraysRef", "StoredCheckpoint", "checkpoint_identity", "default_store_root"]
