"""How far the store's file layout leaks, in this tree and another commit (issue 23 item 1).

    python bench/store_trace.py [--against 62ec500]

Two counts per tree:

- static (AST, package code: workbench/, analyzers/, families/, renderers/, outside
  workbench/store/): calls of a `Store` path method (`*_path`, `*_dir`, `run_dir`), and
  imports and calls of `workbench.store._io`;
- following `store` through `analyze`: `workbench analyze` of a tiny trained run (every
  analyzer, one process) under `sys.setprofile`, recording each project function the first
  time it is entered, where it is in workbench/store/ or receives the Store (an argument,
  or `self.store`). Consecutive functions in one file are one stay; reported: stays, the
  files they are in, returns (a stay in a file already left), and the same per package.
  Counted twice: every such function ("all"), and only what a caller outside the store
  sees ("from outside": a store function called from inside the store is the store's own
  business and left out; what analysis calls in workbench/store/, `_io` included, counts).
"""

from __future__ import annotations

import argparse
import ast
import collections
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
PACKAGES = ("workbench", "analyzers", "families", "renderers")
PATH_METHODS = {"run_dir", "variant_path", "metrics_path", "status_path", "resume_path", "previous_resume_path",
                "checkpoint_dir", "checkpoint_path", "state_dir", "state_path", "analysis_dir", "artifact_path",
                "summary_path", "report_path", "index_path", "job_log_path", "lock_path"}
SPEC = "modular_addition:p=7,frac_train=0.5"


def static_counts(tree: Path) -> dict:
    """Path-method calls and _io imports/calls outside workbench/store, per file."""
    calls, io_calls, io_files = collections.Counter(), collections.Counter(), set()
    for package in PACKAGES:
        for path in sorted((tree / package).rglob("*.py")):
            rel = str(path.relative_to(tree))
            if rel.startswith("workbench/store/"):
                continue
            module = ast.parse(path.read_text())
            io_names = set()
            for node in ast.walk(module):
                if isinstance(node, ast.ImportFrom) and node.module and node.module.endswith("store._io"):
                    io_files.add(rel)
                    io_names |= {a.asname or a.name for a in node.names}
                elif isinstance(node, ast.Import) and any(a.name.endswith("store._io") for a in node.names):
                    io_files.add(rel)
            for node in ast.walk(module):
                if isinstance(node, ast.Call):
                    f = node.func
                    if isinstance(f, ast.Attribute) and f.attr in PATH_METHODS:
                        calls[rel] += 1
                    if isinstance(f, ast.Name) and f.id in io_names:
                        io_calls[rel] += 1
    return {"path_calls": sum(calls.values()), "path_files": len(calls), "by_file": dict(calls.most_common()),
            "io_calls": sum(io_calls.values()), "io_files": len(io_files), "io_by_file": dict(io_calls.most_common())}


_TRACER = r'''
import os, sys, json
root, store_dir, spec = sys.argv[1], sys.argv[2], sys.argv[3]
sys.path.insert(0, root)
from workbench.cli import main
from workbench.store import Store
prefixes = tuple(os.path.join(root, p) + os.sep for p in ("workbench", "analyzers", "families", "renderers"))
store_pkg = os.path.join(root, "workbench", "store") + os.sep
seen, order = set(), []

def follows(frame):
    code = frame.f_code
    if code.co_filename.startswith(store_pkg):
        return True
    for name in code.co_varnames[:code.co_argcount + code.co_kwonlyargcount]:
        value = frame.f_locals.get(name)
        if isinstance(value, Store) or isinstance(getattr(value, "store", None), Store):
            return True
    return False

def profile(frame, event, arg):
    if event != "call":
        return
    code = frame.f_code
    if not code.co_filename.startswith(prefixes):
        return
    if code.co_name.startswith("<"):  # comprehensions and lambdas belong to the function around them
        return
    ident = (code.co_filename, code.co_firstlineno)
    if ident in seen:
        return
    seen.add(ident)
    if follows(frame):
        caller = frame.f_back
        while caller is not None and not caller.f_code.co_filename.startswith(prefixes):
            caller = caller.f_back  # past contextlib and the like, to the project code that called
        inner = code.co_filename.startswith(store_pkg) and caller is not None and \
            caller.f_code.co_filename.startswith(store_pkg)
        order.append([os.path.relpath(code.co_filename, root), code.co_qualname, inner])

sys.setprofile(profile)
code = main(["analyze", spec, "--analyzers", "all", "--jobs", "1", "--quiet", "--store", store_dir])
sys.setprofile(None)
print(json.dumps({"code": code, "order": order}))
'''


def _stays(places: list[str]) -> tuple[int, int, int]:
    stays = [p for i, p in enumerate(places) if i == 0 or places[i - 1] != p]
    returns = sum(1 for i, p in enumerate(stays) if p in stays[:i])
    return len(stays), len(set(stays)), returns


def trace(tree: Path, scratch: Path) -> dict:
    """Follow the store through one `analyze` of a tiny run trained by `tree` itself."""
    env = dict(os.environ, PYTHONPATH=str(tree), OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    store = scratch / f"store-{tree.name}"
    subprocess.run([sys.executable, "-m", "workbench", "train", SPEC, "--epochs", "20", "--schedule", "0:20:10",
                    "--store", str(store), "--quiet"], env=env, cwd=tree, check=True, capture_output=True)
    done = subprocess.run([sys.executable, "-c", _TRACER, str(tree), str(store), SPEC], env=env, cwd=tree,
                          capture_output=True, text=True, check=True)
    found = json.loads(done.stdout.strip().splitlines()[-1])
    out = {"sequence": [f"{f}:{q}{' (inside the store)' if inner else ''}" for f, q, inner in found["order"]]}
    entries = [(f, q) for f, q, inner in found["order"] if f.startswith("workbench/store/") and not inner]
    out["entries"] = {"path methods": sum(q.split(".")[-1] in PATH_METHODS for _, q in entries),
                      "_io": sum(f.endswith("/_io.py") for f, _ in entries),
                      "operations": sum(not f.endswith("/_io.py") and q.split(".")[-1] not in PATH_METHODS
                                        for f, q in entries)}
    for view, keep in (("all", lambda inner: True), ("outside", lambda inner: not inner)):
        files = [f for f, _, inner in found["order"] if keep(inner)]
        packages = [f.split("/")[1] if f.startswith("workbench/") and f.count("/") > 1 else f.split("/")[0]
                    for f in files]
        out[view] = {"functions": len(files), "file": _stays(files), "package": _stays(packages)}
    return out


def report(name: str, tree: Path, scratch: Path, verbose: bool) -> None:
    s, t = static_counts(tree), trace(tree, scratch)
    print(f"{name}: {s['path_calls']} Store path-method calls in {s['path_files']} files; "
          f"_io imported in {s['io_files']} files, {s['io_calls']} calls (outside workbench/store)")
    for view, label in (("all", "all"), ("outside", "from outside the store")):
        v = t[view]
        print(f"{name}: following store through analyze ({label}): {v['functions']} functions, "
              f"{v['file'][0]} stays in {v['file'][1]} files ({v['file'][2]} returns); "
              f"by package {v['package'][0]} stays in {v['package'][1]} ({v['package'][2]} returns)")
    print(f"{name}: what analyze calls in workbench/store: " + ", ".join(f"{v} {k}" for k, v in t["entries"].items()))
    if verbose:
        print("  path calls by file:", s["by_file"])
        print("  _io calls by file:", s["io_by_file"])
        print("  sequence:\n    " + "\n    ".join(t["sequence"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", help="also count this commit")
    parser.add_argument("--verbose", action="store_true", help="per-file counts and the traced sequence")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if args.against:
            subprocess.run(["git", "-C", str(HERE), "archive", "-o", str(tmp / "tree.tar"), args.against], check=True)
            with tarfile.open(tmp / "tree.tar") as tar:
                tar.extractall(tmp / "other", filter="data")
            report(args.against, tmp / "other", tmp, args.verbose)
        report("this tree", HERE, tmp, args.verbose)


if __name__ == "__main__":
    main()
