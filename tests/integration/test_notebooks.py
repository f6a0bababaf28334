"""Both example notebooks run top to bottom through the public API, without tqdm widget warnings.

The quickstart runs as a new user runs it: its own variant, trained into an empty store,
must actually grok. The tour runs against the tiny analyzed store (its demo would take
minutes). Both default to the repository's store, whatever folder Jupyter starts in, so
`workbench dashboard` shows what they trained.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"
KERNEL = "workbench-test"
INTERNAL_IMPORT = re.compile(r"^\s*(from|import)\s+(workbench\.|analyzers|renderers|families)", re.M)


@pytest.fixture
def kernel(tmp_path, monkeypatch):
    """A kernelspec running this interpreter; the notebooks' env vars cleared."""
    spec_dir = tmp_path / "jupyter" / "kernels" / KERNEL
    spec_dir.mkdir(parents=True)
    (spec_dir / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "workbench (tests)", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    for name in ("WORKBENCH_STORE", "WORKBENCH_NOTEBOOK_SPEC", "WORKBENCH_NOTEBOOK_EPOCHS"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def _execute(nb, cwd: Path) -> list:
    """Run a notebook in `cwd` (Jupyter's working directory); return every code cell output."""
    client = nbclient.NotebookClient(nb, kernel_name=KERNEL, timeout=600, resources={"metadata": {"path": str(cwd)}})
    client.execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    errors = [f"{o.ename}: {o.evalue}" for o in outputs if o.output_type == "error"]
    assert not errors, errors
    stderr = "".join(o.text for o in outputs if o.output_type == "stream" and o.name == "stderr")
    assert "TqdmWarning" not in stderr and "IProgress" not in stderr, stderr[:500]
    return outputs


def _read(name: str):
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.get("outputs") for c in code), "commit notebooks without outputs"
    internal = [m.group(0).strip() for c in code for m in INTERNAL_IMPORT.finditer(c.source)]
    assert not internal, f"{name} imports internals instead of the public API: {internal}"
    return nb


def test_quickstart_groks_in_a_fresh_store(kernel, monkeypatch):
    import workbench

    store = kernel / "store"
    monkeypatch.setenv("WORKBENCH_STORE", str(store))
    _execute(_read("quickstart"), NOTEBOOKS)
    (run,) = workbench.list_runs(store)
    assert run.test_acc >= 0.99, f"the quickstart variant did not grok: test acc {run.test_acc}"
    v = run.open(store)
    train_acc, test_acc = v.metrics["train_acc"], v.metrics["test_acc"]
    memorized = int(v.metrics["epoch"][train_acc >= 1.0][0])
    assert test_acc[train_acc >= 1.0][0] < 0.2, "memorize first, then generalize"
    assert v.turn is not None and memorized < v.turn < v.epochs[-1]


def test_tour_runs_on_the_tiny_run(kernel, monkeypatch, tiny_analyzed, tiny_key):
    monkeypatch.setenv("WORKBENCH_STORE", str(tiny_analyzed.root))
    monkeypatch.setenv("WORKBENCH_NOTEBOOK_SPEC", f"{tiny_key.family}:{tiny_key.variant}")
    _execute(_read("mechanistic_tour"), NOTEBOOKS)


@pytest.mark.parametrize("name", ["mechanistic_tour", "quickstart"])
def test_default_store_is_the_repositorys_wherever_jupyter_starts(kernel, name):
    """The dashboard (`workbench dashboard`, default store ./artifacts) shows what a notebook trained."""
    nb = _read(name)
    first_code = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
    nb.cells = nb.cells[:first_code + 1]  # the settings cell only: nothing is trained
    outputs = _execute(nb, kernel)  # Jupyter started in a folder that is not the repository
    printed = "".join(o.text for o in outputs if o.output_type == "stream")
    assert f"store   {REPO / 'artifacts'}" in printed
