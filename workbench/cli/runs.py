"""`workbench list`, `index` and `jobs`: what the store holds, read through its run index."""

from __future__ import annotations

from workbench.cli._args import store_of
from workbench.core.errors import UserError
from workbench.query.group_listing import group_table
from workbench.query.listing import list_store
from workbench.store.index import rebuild, run_rows
from workbench.store.jobs import cancel, list_jobs

__all__ = ["cmd_list", "cmd_index", "cmd_jobs"]


def cmd_list(args) -> None:
    if args.group:
        if args.sort is not None:
            raise UserError("--sort orders runs; with --group the groups come by family and params")
        print(group_table(store_of(args), where=args.where))
        return
    list_store(store_of(args), where=args.where, sort=args.sort)


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


def cmd_jobs(args) -> None:
    store = store_of(args)
    if args.cancel is not None:
        if not cancel(store, args.cancel):
            raise UserError(f"job {args.cancel} is not queued or running in {store.root}")
        print(f"job {args.cancel} cancelled")
        return
    for job in list_jobs(store, limit=args.last):
        done = job["progress"]
        print(f"{job['id']:>5}  {job['kind']:8s} {job['state']:10s}"
              + (f" {done[0]:g}/{done[1]:g}" if done else "") + f"  {job['target']}"
              + (f"  log {store.job_log_path(job['id'])}" if store.has_job_log(job["id"]) else "")
              + (f"\n{'':7s}{job['error']}" if job["error"] else ""))
