"""`workbench analyze --jobs N`: checkpoints shared out to worker processes give the same artifacts."""

from __future__ import annotations

import shutil

import numpy as np

from tests.conftest import TINY_SPEC
from workbench.analysis.pipeline import analyze
from workbench.cli import main
from workbench.store import Store
from workbench.store._io import load_npz


def _artifacts(store: Store, key) -> dict[str, tuple[dict, dict]]:
    root = store.run_dir(key) / "analysis"
    return {str(p.relative_to(root)): load_npz(p, with_metadata=True) for p in sorted(root.rglob("*.npz"))}


def test_jobs_2_writes_exactly_what_jobs_1_writes(tiny_store, tiny_key, tmp_path):
    one, two = Store(tmp_path / "one"), Store(tmp_path / "two")
    for store in (one, two):
        shutil.copytree(tiny_store.root, store.root)
    r1 = analyze(TINY_SPEC, one, force=True, quiet=True, jobs=1)
    r2 = analyze(TINY_SPEC, two, force=True, quiet=True, jobs=2)
    assert (r1.computed, r1.skipped, r1.failed, r1.errors, r1.markers) == \
        (r2.computed, r2.skipped, r2.failed, r2.errors, r2.markers)
    a, b = _artifacts(one, tiny_key), _artifacts(two, tiny_key)
    assert len(a) > 20 and set(a) == set(b)
    for name, (arrays, meta) in a.items():
        other, other_meta = b[name]
        assert meta == other_meta, name
        assert set(arrays) == set(other), name
        for k in arrays:
            np.testing.assert_array_equal(arrays[k], other[k], err_msg=f"{name}:{k}")
    # a rerun in workers finds everything up to date, and counts it as a rerun here does
    again, again_here = analyze(TINY_SPEC, two, quiet=True, jobs=2), analyze(TINY_SPEC, one, quiet=True, jobs=1)
    assert again.computed == again_here.computed == 0 and again.skipped == again_here.skipped > 0


def test_workers_report_an_unreadable_checkpoint_once(tiny_store, tiny_key, tmp_path):
    store = Store(tmp_path / "s")
    shutil.copytree(tiny_store.root, store.root)
    store.checkpoint_path(tiny_key, 100).write_bytes(b"not a safetensors file")
    result = analyze(TINY_SPEC, store, force=True, quiet=True, jobs=2, analyzers="embedding_fourier")
    assert result.failed == ["epoch_000100.safetensors"]
    assert sorted(store.artifact_epochs(tiny_key, "embedding_fourier")) == [0, 50, 150, 200]


def test_bad_jobs_is_one_line_exit_2(tiny_store, capsys):
    assert main(["analyze", TINY_SPEC, "--store", str(tiny_store.root), "--jobs", "0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--jobs must be positive" in err[0]
