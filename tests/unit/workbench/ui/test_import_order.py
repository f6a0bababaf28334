"""Each UI module imports on its own, first, in a fresh interpreter: an import cycle between
workbench.ui.report and the dashboard package (its Reports page) once failed only when the
report was imported before the dashboard."""

from __future__ import annotations

import subprocess
import sys

import pytest

MODULES = ("workbench.ui.report", "workbench.ui.report_views", "workbench.ui.group_report", "workbench.ui.sections",
           "workbench.ui.report_page",
           "workbench.ui.dashboard.reports", "workbench.ui.dashboard.app", "workbench.ui.animation")


@pytest.mark.parametrize("module", MODULES)
def test_module_imports_first(module):
    done = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
