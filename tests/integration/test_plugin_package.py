"""A study as its own pip-installable package (docs/architecture.md, "A new study as a package").

A throwaway package with one family, one analyzer, one view (taking one declared option)
and one dashboard page, declared through the `workbench.families` / `workbench.analyzers` /
`workbench.views` / `workbench.pages` entry points, is installed with `pip install --no-deps
--target` into a temporary folder (never into the environment), and a workbench process
with that folder on PYTHONPATH sees them all: `workbench families`, `list`, `analyzers` and `views` name
them, `train`, `analyze` and `render --layer` run them on a tiny run, and the dashboard lays
the view out with a control for its option, and links and routes to the page. A package
that fails to import is one line, not a traceback.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

PYPROJECT = """\
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "{name}"
version = "0.1.0"
dependencies = ["training-dynamics-workbench"]

[project.entry-points."workbench.families"]
{module} = "{module}.families"

[project.entry-points."workbench.analyzers"]
{module} = "{module}.analyzers"

[project.entry-points."workbench.views"]
{module} = "{module}.views"

[project.entry-points."workbench.pages"]
{module} = "{module}.pages"

[tool.setuptools]
packages = ["{module}"]
"""

TOY = {
    "__init__.py": '"""A toy study: one family, one analyzer, one view, one dashboard page."""\n',
    "families.py": '''
        """The study's family: modular addition under its own name (a new task subclasses Family)."""

        from families.modular_addition import ModularAddition
        from workbench.core.family import register_family


        @register_family
        class ToyAddition(ModularAddition):
            name = "toy_addition"
            description = "(a + b) mod p, as the toy study trains it"
            demo = {}  # the built-in demo stays the demo
            tiny = {"params": {"p": 7, "frac_train": 0.5}, "epochs": 4, "schedule": "0:4:2"}
        ''',
    "analyzers.py": '''
        """The study's analyzer: one number per checkpoint."""

        import numpy as np

        from workbench.core.analyzer import register_analyzer


        @register_analyzer("toy_embedding_norm", kind="weights", outputs={"norm": ()}, needs=("transformer",))
        def toy_embedding_norm(ctx):
            """Frobenius norm of the token embedding W_E."""
            return {"norm": np.array(np.linalg.norm(ctx.weights["embed.W_E"]), dtype=np.float32)}
        ''',
    "views.py": '''
        """The study's view: that number as a bar."""

        import numpy as np
        import plotly.graph_objects as go

        from workbench.core.view import ViewOption, register_view

        LAYER = ViewOption("layer", "Layer", capability="n_layers", help="which layer's norm the toy view names")


        @register_view("toy_norm", scope="epoch", sources=("toy_embedding_norm",), group="toy", options=(LAYER,))
        def toy_norm(arrays, layer=0):
            """The embedding's norm at one checkpoint."""
            if np.ndim(arrays["norm"]) != 0:
                raise ValueError(f"norm must have shape [] (one number), got {np.shape(arrays['norm'])}")
            fig = go.Figure(go.Bar(x=["W_E"], y=[float(arrays["norm"])], hovertemplate="%{y:.4g}<extra></extra>"))
            return fig.update_layout(title=f"embedding norm (layer {layer})")
        ''',
    "pages.py": '''
        """The study's page in the dashboard: one file that registers itself."""

        from dash import html

        from workbench.ui.dashboard.pages import Page, register_page

        register_page(Page("toy", "/toy", "Toy study", order=40,
                           layout=lambda site: html.Div(f"{len(site.store.runs())} runs", id="toy-runs")))
        ''',
}
BROKEN = {"__init__.py": "", "families.py": "", "views.py": "", "pages.py": "",
          "analyzers.py": "import a_module_that_is_not_installed  # noqa: F401\n"}
SPEC = "toy_addition:p=7,frac_train=0.5"


def _install(root: Path, name: str, files: dict[str, str]) -> None:
    """Build package `name` from `files` under root/src and pip-install it into root/site."""
    module = name.replace("-", "_")
    src = root / "src" / name
    (src / module).mkdir(parents=True)
    (src / "pyproject.toml").write_text(PYPROJECT.format(name=name, module=module))
    for file, text in files.items():
        (src / module / file).write_text(textwrap.dedent(text).lstrip())
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps",
                    "--no-build-isolation", "--no-index", "--target", str(root / "site"), str(src)],
                   check=True, timeout=600, capture_output=True)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """A folder holding the installed toy study (and, in site/../broken, a package that fails)."""
    root = tmp_path_factory.mktemp("plugins")
    _install(root, "toy-study", TOY)
    _install(root / "broken", "broken-study", BROKEN)
    return root / "site"


def _run(site: Path, *args: str, python: str | None = None, extra: Path | None = None) -> subprocess.CompletedProcess:
    path = os.pathsep.join(str(p) for p in (site, extra) if p)
    env = dict(os.environ, PYTHONPATH=path, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    argv = [sys.executable, "-c", python] if python else [sys.executable, "-m", "workbench", *args]
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600)


def test_the_installed_study_is_seen_by_list_analyze_and_the_dashboard(site, tmp_path):
    store = str(tmp_path / "store")
    listed = _run(site, "families")
    assert listed.returncode == 0 and "toy_addition: (a + b) mod p, as the toy study trains it" in listed.stdout
    assert "modular_addition:" in listed.stdout  # the built-in families are still there, first
    assert "toy_embedding_norm" in _run(site, "analyzers", SPEC).stdout
    assert "toy_norm" in _run(site, "views", SPEC).stdout
    trained = _run(site, "train", SPEC, "--epochs", "4", "--schedule", "0:4:2", "--store", store, "--quiet")
    assert trained.returncode == 0, trained.stderr
    analyzed = _run(site, "analyze", SPEC, "--analyzers", "toy_embedding_norm", "--store", store, "--quiet")
    assert analyzed.returncode == 0 and "analyzed: 3 artifacts written" in analyzed.stdout, analyzed.stderr
    assert "toy_addition:p=7" in _run(site, "list", "--long", "--store", store).stdout
    out = tmp_path / "norm.html"
    rendered = _run(site, "render", SPEC, "--view", "toy_norm", "--layer", "0", "--out", str(out), "--store", store)
    assert rendered.returncode == 0 and "embedding norm (layer 0)" in out.read_text(), rendered.stderr
    refused = _run(site, "render", SPEC, "--view", "toy_norm", "--layer", "x", "--out", str(out), "--store", store)
    assert refused.returncode == 2 and "--layer: expected an integer" in refused.stderr
    dashboard = _run(site, python=f"""
import json
from workbench.query.views import run_views
from workbench.store import RunKey, Store
from workbench.core.variant import parse_variant
from workbench.ui.dashboard import create_app
store = Store({store!r})
key = RunKey(*parse_variant({SPEC!r}).key)
from workbench.ui.dashboard.options import ranges
from workbench.ui.dashboard.pages import page_at
client = create_app(store).server.test_client()
layout = client.get("/_dash-layout")
print(json.dumps({{"views": run_views(store, key), "status": layout.status_code, "layout": layout.get_data(as_text=True),
                  "ranges": ranges(store, key), "page": page_at("/toy").title}}))
""")
    assert dashboard.returncode == 0, dashboard.stderr
    out = __import__("json").loads(dashboard.stdout.strip().splitlines()[-1])
    assert "toy_norm" in out["views"] and out["status"] == 200 and "toy_norm" in out["layout"]
    assert "opt-layer" in out["layout"] and out["ranges"]["layer"] == 1  # its option's control, ranged by n_layers
    assert out["page"] == "Toy study" and "nav-toy" in out["layout"] and "toy-runs" in out["layout"]


def test_the_study_passes_the_public_conformance_checks(site):
    done = _run(site, python="""
from workbench.testing import check_family, check_view
check_family("toy_addition")
check_view("toy_norm")
print("conforms")
""")
    assert done.returncode == 0 and done.stdout.strip().endswith("conforms"), done.stderr[-3000:]


def test_a_package_that_fails_to_import_is_one_line_naming_it(site):
    done = _run(site, "analyzers", extra=site.parent / "broken" / "site")
    assert done.returncode == 0 and "toy_embedding_norm" in done.stdout and "Traceback" not in done.stderr
    lines = [ln for ln in done.stderr.splitlines() if "broken_study" in ln]
    assert len(lines) == 1 and "failed to load" in lines[0] and "a_module_that_is_not_installed" in lines[0]
