"""`workbench list` over thousands of runs: reading every run's files vs the SQLite run index.

    python bench/list_speed.py [--runs 2000] [--store DIR]

Writes N fake finished runs (workbench.testing.synthetic: variant.json, metrics.npz, 11
empty checkpoints, half of them with epoch markers), then times, in this process:

- files: the rows read from every run's files (`run_facts`, what `list` did before the index);
- index, cold: the first `run_rows`, which reads the files and fills the index;
- index, warm: `run_rows` again (stat each run, read the table);
- index, warm, --where: the same plus filtering with a clause.

and the dashboard's runs page (polled every 2 s while open): its rows read from every
run's metrics, status and folders (what it did before it read the index) against
`workbench.ui.dashboard.runs.run_rows` (the index, warm). Prints each time with the ratio
files / warm index. The full command's wall time adds
the interpreter and imports (torch among them), the same with or without the index.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _timed(fn, repeat: int = 3) -> tuple[float, object]:
    best, out = math.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def _fill(store, n: int) -> None:
    from workbench.testing.synthetic import listed_run

    primes = [p for p in range(11, 400) if all(p % d for d in range(2, int(p ** 0.5) + 1))]
    for i in range(n):
        p, seed = primes[i % len(primes)], i // len(primes)
        listed_run(store, f"modular_addition:p={p},seed={seed}", test_acc=(i % 100) / 100,
                   onset=(100 * (i % 9)) if i % 2 else None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--store", help="reuse (or create) this store instead of a temporary one")
    args = parser.parse_args()

    from workbench.query.where import parse_where
    from workbench.store import Store
    from workbench.store.index import run_facts, run_rows

    store = Store(args.store or tempfile.mkdtemp(prefix="list-speed-"))
    if len(store.runs()) < args.runs:
        t0 = time.perf_counter()
        _fill(store, args.runs)
        print(f"wrote {args.runs} runs in {time.perf_counter() - t0:.1f}s to {store.root}")
    time.sleep(2.5)  # past the racy window: rows of files written this instant are always re-read
    store.index_path().unlink(missing_ok=True)
    n = len(store.runs())
    run_facts(store, store.runs()[0])  # imports (the analyzer registry pulls in torch) outside the timings

    files, _ = _timed(lambda: [run_facts(store, k) for k in store.runs()], repeat=1)
    cold, _ = _timed(lambda: run_rows(store), repeat=1)
    warm, rows = _timed(lambda: run_rows(store))
    test, _ = parse_where("p<100 and turn<500")
    where, hits = _timed(lambda: [r for r in run_rows(store) if test(r)])
    assert len(rows) == n
    print(f"{n} runs: files {files:.2f}s ({1000 * files / n:.2f} ms/run), index cold {cold:.2f}s, "
          f"index warm {warm:.3f}s ({1000 * warm / n:.3f} ms/run), warm + --where {where:.3f}s ({len(hits)} match)")
    print(f"ratio files / warm index: {files / warm:.1f}x")

    from workbench.ui.dashboard import data, runs

    data.clear_caches()
    page_cold, _ = _timed(lambda: _page_from_files(store, data), repeat=1)
    page_files, _ = _timed(lambda: _page_from_files(store, data))  # its caches warm, as on the second poll
    page, page_rows = _timed(lambda: runs.run_rows(store))
    assert len(page_rows) == n
    print(f"runs page rows: files {page_cold:.2f}s first poll, {page_files:.2f}s later polls; "
          f"index (warm) {page:.3f}s; ratio later polls / index {page_files / page:.1f}x")


def _status(store, key) -> dict | None:
    try:
        return store.read_status(key, as_written=True)
    except Exception:  # damaged: the page showed no job
        return None


def _page_from_files(store, data) -> list[dict]:
    """The runs page's rows as it read them before the index: every run's files, every poll
    (metrics through the dashboard's cache, which re-reads a file only when it changed)."""
    rows = []
    for key in store.runs():
        metrics, ckpts = data.metrics(store, key) or {}, store.checkpoint_epochs(key)
        rows.append({"epochs": metrics.get("epoch", [0])[-1], "checkpoints": len(ckpts), "status": _status(store, key),
                     "analyzers": store.analyzers_done(key)})
    return rows


if __name__ == "__main__":
    main()
