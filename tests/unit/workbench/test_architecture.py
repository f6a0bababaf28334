"""The layers hold: import-linter's contracts (pyproject.toml), no import circle between files,
and function-local imports of the workbench's own modules only where a command is dispatched."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
PACKAGES = ("workbench", "analyzers", "families", "renderers")
MAX_LOCAL_IMPORTS = 10  # issue 23: lazy imports of project modules only at command dispatch


def _modules() -> dict[str, Path]:
    out = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def _targets(module: str, node: ast.ImportFrom | ast.Import, is_package: bool, modules: dict) -> list[str]:
    """The project modules an import statement names (the longest module prefix of each name)."""
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    else:
        base = module.split(".")[: None if is_package else -1]
        base = base[: len(base) - (node.level - 1)] if node.level else []
        prefix = ".".join(base + [node.module] if node.module else base) if node.level else node.module
        names = [f"{prefix}.{a.name}" if f"{prefix}.{a.name}" in modules else prefix for a in node.names]
    found = []
    for name in names:
        parts = name.split(".")
        hit = next((".".join(parts[:i]) for i in range(len(parts), 0, -1) if ".".join(parts[:i]) in modules), None)
        if hit:
            found.append(hit)
    return found


def _imports() -> tuple[dict[str, set[str]], list[str]]:
    """(module -> the project modules it imports anywhere, 'file:line' of each function-local one)."""
    modules, graph, local = _modules(), {}, []
    for module, path in modules.items():
        tree, graph[module] = ast.parse(path.read_text()), set()
        functions = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
        inner = {id(s) for f in functions for s in ast.walk(f) if isinstance(s, (ast.Import, ast.ImportFrom))}
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                targets = set(_targets(module, node, path.name == "__init__.py", modules)) - {module}
                graph[module] |= targets
                if targets and id(node) in inner:
                    local.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return graph, local


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for v in graph:
        if v not in index:
            visit(v)
    return out


def test_no_import_circle_between_files():
    graph, _ = _imports()
    assert _cycles(graph) == []
    assert {"workbench.core.plugins", "workbench.cli", "analyzers", "families"} <= set(graph)  # the walk saw the tree


def test_function_local_imports_of_project_modules_are_few():
    _, local = _imports()
    assert len(local) <= MAX_LOCAL_IMPORTS, local


def test_a_circle_and_a_local_import_are_seen():  # the checks above can fail
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    tree = {"workbench.x": {"workbench.y"}, "workbench.y": set()}
    assert _cycles(tree) == []


@pytest.mark.skipif(shutil.which("lint-imports", path=str(Path(sys.executable).parent)) is None,
                    reason="import-linter is not installed (pip install -e '.[dev]')")
def test_import_linter_contracts_are_kept():
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    done = subprocess.run([exe, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout and "layers" in done.stdout


# Store path methods a caller outside the store may use: to say where a run, the index or a
# job's log lives in a message, never to read or write there (workbench.store.Store does that).
PATH_METHODS = {"run_dir", "variant_path", "metrics_path", "status_path", "resume_path", "previous_resume_path",
                "checkpoint_dir", "checkpoint_path", "state_dir", "state_path", "analysis_dir", "artifact_path",
                "summary_path", "report_path", "index_path", "job_log_path", "lock_path"}
FOR_MESSAGES = {"run_dir", "index_path", "job_log_path"}


def _path_calls(tree: ast.AST) -> list[str]:
    return [node.func.attr for node in ast.walk(tree) if isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute) and node.func.attr in PATH_METHODS]


def test_only_the_store_joins_paths_into_a_store():
    found = []
    for module, path in _modules().items():
        if module == "workbench.store" or module.startswith("workbench.store."):
            continue
        found += [f"{path.relative_to(ROOT)}: {name}" for name in _path_calls(ast.parse(path.read_text()))
                  if name not in FOR_MESSAGES]
    assert found == []


def test_a_path_call_is_seen():  # the check above can fail
    assert _path_calls(ast.parse("x = load(store.metrics_path(key))")) == ["metrics_path"]
