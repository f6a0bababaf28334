"""The checks every view passes (workbench.testing.check_view), on arrays drawn from its sources'
declared outputs: a titled figure with traces, hover on every trace, powers of ten on log axes,
the expected shape named for arrays of the wrong rank, whole epochs on whole-run views."""

from __future__ import annotations

from typing import Any, Callable, Iterator

import numpy as np
import plotly.graph_objects as go

from workbench.core.view import ViewSpec, get_view
from workbench.testing.synthetic import view_arrays

__all__ = ["view_checks", "check_view", "as_view"]

Check = Callable[[Any], None]


def as_view(plugin: ViewSpec | str) -> ViewSpec:
    return plugin if isinstance(plugin, ViewSpec) else get_view(plugin)


def _axes(fig: go.Figure) -> list:
    return [fig.layout[k] for k in fig.layout if k.startswith(("xaxis", "yaxis"))]


def _customdata_firsts(trace) -> np.ndarray:
    cd = np.asarray(trace.customdata)
    return cd.reshape(-1, cd.shape[-1])[:, 0] if cd.ndim >= 2 else cd


def check_view_renders_declared_arrays(view: ViewSpec) -> None:
    """A figure with traces, a title, powers of ten on log axes and a hover template on every trace."""
    fig = view.render(view_arrays(view.name))
    assert isinstance(fig, go.Figure) and len(fig.data) > 0, f"{view.name}: no traces"
    assert fig.layout.title.text and view.description, f"{view.name}: no title or description"
    for axis in _axes(fig):
        if axis.type == "log":
            assert axis.exponentformat in ("power", "e"), f"{view.name}: a log axis with SI prefixes (µ, n)"
    for trace in fig.data:
        if trace.type != "table":
            assert trace.hovertemplate and "<extra>" in trace.hovertemplate, f"{view.name}: {trace.name!r} default hover"


def check_view_names_the_expected_shape(view: ViewSpec) -> None:
    """Arrays of the wrong rank are a ValueError naming the shape the renderer expects."""
    arrays = {k: np.zeros((2,) * (np.ndim(v) + 1)) for k, v in view_arrays(view.name).items()}
    try:
        view.render(arrays)
    except ValueError as err:
        assert "must have shape [" in str(err), f"{view.name}: {err}"
    else:
        raise AssertionError(f"{view.name}: rendered arrays of the wrong rank")


def check_trajectory_points_carry_whole_epochs(view: ViewSpec) -> None:
    """Every point of a whole-run view carries its (integer) epoch first in customdata, shown on hover."""
    arrays = view_arrays(view.name)
    epochs = {int(e) for k, v in arrays.items() if k.endswith(("epochs", "metrics.epoch")) for e in v}
    fig = view.render(arrays)
    for trace in fig.data:
        assert trace.customdata is not None, f"{view.name}: trace {trace.name!r} has no customdata"
        assert {int(e) for e in _customdata_firsts(trace)} <= epochs, f"{view.name}: {trace.name!r}"
        assert np.asarray(trace.customdata).dtype.kind in "iu", f"{view.name}: {trace.name!r} epochs not integers"
        assert "epoch %{customdata[0]}" in trace.hovertemplate, f"{view.name}: {trace.name!r}"
    assert all(a.tickformat == "d" for a in _axes(fig) if a.title.text == "epoch"), f"{view.name}: epoch ticks"


def view_checks(plugin: ViewSpec | str) -> Iterator[Check]:
    """The checks a view passes (each takes the ViewSpec)."""
    view = as_view(plugin)
    yield from (check_view_renders_declared_arrays, check_view_names_the_expected_shape)
    if view.scope == "trajectory":
        yield check_trajectory_points_carry_whole_epochs


def check_view(plugin: ViewSpec | str) -> None:
    """Run every view check on `plugin` (a registered view's name or spec)."""
    view = as_view(plugin)
    for check in view_checks(view):
        check(view)
