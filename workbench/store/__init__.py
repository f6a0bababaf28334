"""The run store: every file a run has, and the only code that knows where they are.

- `file_store`: `Store` and `RunKey`, the layout (after mlflow's FileStore): every path
  comes from a method there, every id is validated there;
- `_io`: atomic writes and safe reads of JSON, npz and safetensors (no pickle);
- `lock`: a run's train/analyze job locks; `_proc`: whether a writer's process is alive;
- `record`: what a run's own small files say: its record (variant.json) and job status
  (status.json), and the Variant a record names;
- `markers`: the epoch markers and headlines that analyzers declare, read from their summaries;
- `index`: the SQLite run index, derived from the files (one row per run), kept current on read;
- `jobs`: the job table in the index (jobs started from the dashboard, and sweeps).
"""

from workbench.store.file_store import RunKey, Store, default_store_root

__all__ = ["Store", "RunKey", "default_store_root"]
