"""This tree and another commit, on the same machine, leave the same store: the old-store
fixture (tests/fixtures/store_v1) listed, analyzed, extended (resumed) and analyzed again,
and two fresh tiny runs (modular_addition, least_action routed) trained and analyzed.

    python bench/same_results.py --against f2a689e [--families]

`--families` also trains and analyzes every registered family's `tiny` variant (as the
conformance suite declares it), so a change to a shared model or the trainer is checked
on every family, not only the canonical one.

Every array (dtype and values), every npz/safetensors metadata entry and every JSON record
must be equal, and so must every command's stdout (the store path and elapsed seconds
aside); status.json (pid, time), locks, the index and reports are left out. The other
commit runs from a `git archive` export with its folder first on PYTHONPATH.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(HERE))

from workbench.store._io import load_json, load_npz, load_safetensors, safetensors_metadata  # noqa: E402

OLD = "modular_addition:p=7,frac_train=0.5"  # the fixture's run
FRESH = ("modular_addition:p=17,frac_train=0.5", "least_action:p=7,model=routed")


def _wb(tree: Path, *args: str) -> str:
    env = dict(os.environ, PYTHONPATH=str(tree), OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    done = subprocess.run([sys.executable, "-m", "workbench", *args], env=env, cwd=tree, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{tree}: workbench {' '.join(args)} failed: {done.stderr.strip()[-800:]}")
    return done.stdout


def _tiny_runs() -> list[tuple[str, list[str]]]:
    """(spec, train arguments) of every family's declared tiny variant, from this tree's registry."""
    from workbench.core.family import get_family, list_families
    from workbench.core.variant import parse_variant

    runs = []
    for name in list_families():
        tiny = get_family(name).tiny
        spec = parse_variant(name, tiny["params"], recipe=tiny.get("recipe")).spec
        runs.append((spec, ["--epochs", str(tiny["epochs"]), "--schedule", tiny["schedule"]]))
    return runs


def _populate(tree: Path, store: Path, extra: list[tuple[str, list[str]]] = ()) -> list[str]:
    """Every command's stdout, with the store path and elapsed seconds masked."""
    shutil.copytree(HERE / "tests" / "fixtures" / "store_v1", store)
    quiet = ("--jobs", "1", "--store", str(store), "--quiet")
    out = [_wb(tree, "list", "--store", str(store)), _wb(tree, "analyze", OLD, "--analyzers", "all", *quiet),
           _wb(tree, "train", OLD, "--extra-epochs", "10", "--store", str(store), "--quiet"),
           _wb(tree, "analyze", OLD, "--analyzers", "all", *quiet)]
    runs = [(spec, ["--epochs", "60", "--schedule", "0:60:20"]) for spec in FRESH] + list(extra)
    for spec, args in runs:
        out += [_wb(tree, "train", spec, *args, "--store", str(store), "--quiet"),
                _wb(tree, "analyze", spec, "--analyzers", "all", *quiet)]
    out.append(_wb(tree, "list", "--store", str(store)))
    return [re.sub(r" in [0-9.]+s ", " in Ts ", text.replace(str(store), "STORE")) for text in out]


def _skipped(path: Path) -> bool:
    return path.name in ("status.json", "report.html") or path.name.startswith((".", "index.sqlite"))


def _same_file(x: Path, y: Path) -> None:
    if x.suffix == ".npz":
        (ax, mx), (ay, my) = load_npz(x, with_metadata=True), load_npz(y, with_metadata=True)
        assert mx == my and ax.keys() == ay.keys(), x
        for k in ax:
            nan = ax[k].dtype.kind in "fc"
            assert ax[k].dtype == ay[k].dtype and np.array_equal(ax[k], ay[k], equal_nan=nan), (x, k)
    elif x.suffix == ".safetensors":
        tx, ty = load_safetensors(x), load_safetensors(y)
        assert tx.keys() == ty.keys() and all(bool((tx[k] == ty[k]).all()) for k in tx), x
        assert safetensors_metadata(x) == safetensors_metadata(y), x
    elif x.suffix == ".json":
        assert load_json(x) == load_json(y), x
    else:
        assert x.read_bytes() == y.read_bytes(), x


def _same_store(a: Path, b: Path) -> int:
    files = [sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file() and not _skipped(p)) for root in (a, b)]
    assert files[0] == files[1], set(files[0]) ^ set(files[1])
    for rel in files[0]:
        _same_file(a / rel, b / rel)
    return len(files[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", required=True, help="the commit to compare with")
    parser.add_argument("--families", action="store_true", help="also every family's tiny variant")
    args = parser.parse_args()
    extra = _tiny_runs() if args.families else []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        subprocess.run(["git", "-C", str(HERE), "archive", "-o", str(tmp / "tree.tar"), args.against], check=True)
        with tarfile.open(tmp / "tree.tar") as tar:
            tar.extractall(tmp / "other", filter="data")
        ours, theirs = _populate(HERE, tmp / "ours", extra), _populate(tmp / "other", tmp / "theirs", extra)
        n = _same_store(tmp / "ours", tmp / "theirs")
        differ = [f"this tree: {a!r}\n{args.against}: {b!r}" for a, b in zip(ours, theirs) if a != b]
        assert not differ, "\n".join(differ)
    more = f", plus the tiny variants of {len(extra)} families" if extra else ""
    print(f"same results as {args.against}{more}: {n} files (arrays, metadata, records) and every command's stdout")


if __name__ == "__main__":
    main()
