"""`workbench list`, `families`, `index` and `jobs`: what the store holds, read through its run index.

`--json` prints one JSON array (keys sorted, stable: `workbench.query.run_table.JSON_KEYS` for
runs, `JOB_KEYS` for jobs) and nothing else, for scripts.
"""

from __future__ import annotations

import json

from workbench.cli._args import store_of
from workbench.core.errors import UserError
from workbench.query.group_listing import group_table
from workbench.query.listing import family_docs, list_store, select_rows
from workbench.query.run_table import run_record
from workbench.store.index import rebuild, run_rows
from workbench.store.jobs import cancel, list_jobs
from workbench.ui.jobs import progress_text

__all__ = ["cmd_list", "cmd_families", "cmd_index", "cmd_jobs", "print_json", "JOB_KEYS"]

JOB_KEYS = {  # `workbench jobs --json`: each job's keys (stable; a value a job lacks is null)
    "id": "the job's number", "kind": "train, analyze or sweep", "target": "what it runs on (a spec or sweep)",
    "state": "queued, starting, running, done, failed, interrupted, cancelled or crashed",
    "progress": "[done, total] summed over its runs while it runs (epochs, or checkpoints analyzed), else null",
    "eta_s": "seconds it has left while it runs, estimated (its runs' own estimates, else its pace so far), else null",
    "runs": "family/variant of each run it works on", "created": "when it was queued (Unix seconds)",
    "started": "when its worker claimed it", "finished": "when it ended", "error": "why it failed, one line",
    "log": "its log file, where there is one",
}


def print_json(items: list[dict]) -> None:
    """One JSON array, keys sorted, for scripts."""
    print(json.dumps(items, indent=1, sort_keys=True))


def cmd_list(args) -> None:
    if args.group:
        if args.sort is not None:
            raise UserError("--sort orders runs; with --group the groups come by family and params")
        clash = [flag for flag, on in (("--long", args.long), ("--json", args.json)) if on]
        if clash:
            raise UserError(f"{' and '.join(clash)} apply to runs; with --group the groups come as one table")
        print(group_table(store_of(args), where=args.where))
        return
    if args.json:
        if args.long:
            raise UserError("--json gives every field already; leave out --long")
        print_json([run_record(row) for row in select_rows(store_of(args), args.where, args.sort)[0]])
        return
    list_store(store_of(args), where=args.where, sort=args.sort, long=args.long)


def cmd_families(args) -> None:
    print("\n".join(family_docs()))


def cmd_index(args) -> None:
    store = store_of(args)
    if args.rebuild:
        count, moved = rebuild(store)
        print(f"run index {store.index_path()}: {count} runs indexed from the store"
              + (f"; the unusable file was moved to {moved} (its readable jobs and configs carried over)" if moved else ""))
        return
    if not store.root.is_dir():
        raise UserError(f"store {str(store.root)!r} does not exist")
    rows = run_rows(store)
    print(f"run index {store.index_path()}: {len(rows)} runs, current")


def _job_record(store, job: dict) -> dict:
    record = {k: job.get(k) for k in JOB_KEYS if k != "log"}
    record["progress"] = list(job["progress"]) if job["progress"] else None
    record["eta_s"] = round(job["eta_s"], 1) if job.get("eta_s") is not None else None
    return record | {"log": str(store.job_log_path(job["id"])) if store.has_job_log(job["id"]) else None}


def cmd_jobs(args) -> None:
    store = store_of(args)
    if args.cancel is not None:
        if args.json:
            raise UserError("--json lists jobs; leave it out with --cancel")
        if not cancel(store, args.cancel):
            raise UserError(f"job {args.cancel} is not queued or running in {store.root}")
        print(f"job {args.cancel} cancelled")
        return
    if args.json:
        print_json([_job_record(store, job) for job in list_jobs(store, limit=args.last)])
        return
    for job in list_jobs(store, limit=args.last):
        print(f"{job['id']:>5}  {job['kind']:8s} {job['state']:10s}" + f" {progress_text(job)}".rstrip()
              + f"  {job['target']}"
              + (f"  log {store.job_log_path(job['id'])}" if store.has_job_log(job["id"]) else "")
              + (f"\n{'':7s}{job['error']}" if job["error"] else ""))
