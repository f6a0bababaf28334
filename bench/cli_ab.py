"""This tree against another commit, interleaved: the startup of `workbench list` and
`workbench analyzers`, `workbench train` and `workbench analyze` wall times, and the
training speed `bench/train_speed.py` measures in each tree.

    python bench/cli_ab.py --against f2a689e [--rounds 3] [--epochs 200] [--spec modular_addition:p=113]

The other commit is exported with `git archive` into a temporary folder and run with the
same interpreter, its folder first on PYTHONPATH (this tree's editable install is found
after it), so both run the same torch on the same machine at the same time; rounds
alternate A B A B so the machine's load falls on both. Each round: `list` on an empty store
and `analyzers` (the commands' startup), `train SPEC --epochs N` into a fresh store,
`analyze SPEC --force --jobs 1` of that run, and the tree's own `bench/train_speed.py
--no-baseline` (ms/epoch of the trainer in-process, one thread). Reported: the median and
range of each over the rounds.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]


def _export(rev: str, into: Path) -> Path:
    """The tree of commit `rev`, unpacked under `into`."""
    archive = into / "tree.tar"
    subprocess.run(["git", "-C", str(HERE), "archive", "-o", str(archive), rev], check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(into / "tree", filter="data")
    return into / "tree"


def _run(tree: Path, *argv: str) -> str:
    env = dict(os.environ, PYTHONPATH=str(tree), OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    done = subprocess.run([sys.executable, *argv], env=env, cwd=tree, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{tree}: {' '.join(argv)} failed: {done.stderr.strip()[-500:]}")
    return done.stdout


def _timed(tree: Path, *args: str) -> float:
    start = time.perf_counter()
    _run(tree, "-m", "workbench", *args)
    return time.perf_counter() - start


def _ms_per_epoch(tree: Path, spec: str, epochs: int) -> float:
    out = _run(tree, str(tree / "bench" / "train_speed.py"), "--no-baseline", "--threads", "1", "--variant", spec,
               "--epochs", str(epochs))
    return float(re.search(r"([0-9.]+) ms/epoch", out).group(1))


def _round(tree: Path, scratch: Path, spec: str, epochs: int) -> dict[str, float]:
    store = tempfile.mkdtemp(dir=scratch)
    empty = tempfile.mkdtemp(dir=scratch)
    return {"list (s)": _timed(tree, "list", "--store", empty),
            "analyzers (s)": _timed(tree, "analyzers"),
            "train (s)": _timed(tree, "train", spec, "--epochs", str(epochs), "--schedule", f"0:{epochs}:{epochs // 2}",
                                "--store", store, "--quiet"),
            "analyze (s)": _timed(tree, "analyze", spec, "--force", "--jobs", "1", "--store", store, "--quiet"),
            "ms/epoch": _ms_per_epoch(tree, spec, epochs)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", required=True, help="the commit to compare with (e.g. the one before a change)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--spec", default="modular_addition:p=113")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        trees = {"this tree": HERE, args.against: _export(args.against, Path(tmp))}
        times: dict[str, dict[str, list[float]]] = {name: {} for name in trees}
        for _ in range(args.rounds):
            for name, tree in trees.items():
                for what, seconds in _round(tree, Path(tmp), args.spec, args.epochs).items():
                    times[name].setdefault(what, []).append(seconds)
    print(f"{args.spec}, train {args.epochs} epochs, {args.rounds} interleaved rounds (median [min-max])")
    for what in times["this tree"]:
        row = "  ".join(f"{name}: {statistics.median(t[what]):6.2f} [{min(t[what]):.2f}-{max(t[what]):.2f}]"
                        for name, t in times.items())
        print(f"  {what:16s} {row}")


if __name__ == "__main__":
    main()
