"""Fast epoch/neuron changes for the activation heatmaps: patch the z data, skip re-rendering.

At p=113 the neuron_activations artifact is 512 x 113 x 113, and building the heatmap
figures through plotly's validating object model costs far more than the data itself.
The figure the browser shows was rendered by `view_figure`; when only the epoch or the
neuron changes, its structure (traces, axes, colour axis) stays the same, so the server
sends a `dash.Patch` with the new z arrays (float32, base64) and the changed title.

`base` (kept per panel in a dcc.Store in the browser) describes the figure the browser
holds; a patch is sent only when it matches, otherwise the caller renders in full.
"""

from __future__ import annotations

import base64
import functools
import re

import numpy as np
from dash import Patch

from workbench.dashboard import data
from workbench.store import RunKey, Store

__all__ = ["FAST_VIEWS", "GRID_SIZE", "grid_neurons", "make_base", "fast_patch", "typed_array", "title_with", "warm"]

FAST_VIEWS = ("neuron_heatmap", "neuron_grid")  # views with a patch path
GRID_SIZE = 16  # neurons in the grid: the same ones at every epoch, so scrubbing shows them evolve
_NEURON = re.compile(r"neuron \d+")


def title_with(title: str, epoch: int) -> str:
    """The title led by the epoch it shows (first, so a long title's clipped end never hides it)."""
    return f"epoch {epoch} · {title}" if title else f"epoch {epoch}"


def typed_array(arr: np.ndarray) -> dict:
    """A 1-d or 2-d float array as plotly.js's typed-array spec (base64 float32)."""
    arr = np.ascontiguousarray(arr, dtype="<f4")
    spec = {"dtype": "f4", "bdata": base64.b64encode(arr.tobytes()).decode("ascii")}
    if arr.ndim > 1:
        spec["shape"] = ", ".join(map(str, arr.shape))
    return spec


def _acts(store: Store, key: RunKey, epoch: int) -> np.ndarray | None:
    arrays = data.artifact(store, key, "neuron_activations", epoch)
    acts = arrays.get("acts") if arrays else None
    return acts if acts is not None and acts.ndim == 3 else None  # [neuron, a, b] float16


def warm(store: Store, key: RunKey, epoch: int) -> None:
    """Load the activations a patch at `epoch` reads into the artifact cache (the prefetcher's part)."""
    _acts(store, key, epoch)


@functools.lru_cache(maxsize=32)
def _grid_neurons(root: str, key: RunKey, epoch: int, sig: tuple) -> tuple[int, ...]:
    acts = _acts(Store(root), key, epoch)
    if acts is None:
        return ()
    spread = acts.reshape(acts.shape[0], -1).astype(np.float32).std(axis=1)  # [neuron]
    return tuple(sorted(int(i) for i in np.argsort(-spread, kind="stable")[:GRID_SIZE]))


def grid_neurons(store: Store, key: RunKey) -> list[int] | None:
    """The grid's neurons: the most variable ones at the last analyzed epoch (None if none)."""
    found = store.artifact_epochs(key, "neuron_activations")
    if not found:
        return None
    path = store.artifact_path(key, "neuron_activations", found[-1])
    chosen = _grid_neurons(str(store.root), key, found[-1], data._signature(path))
    return list(chosen) or None


def _patchable(trace: dict, shared_axis: bool) -> bool:
    """A heatmap whose colour range a patch can keep right: automatic, or on the shared colour axis."""
    fixed = any(k in trace for k in ("zmin", "zmax"))
    return trace.get("type") == "heatmap" and not fixed and (trace.get("coloraxis") == "coloraxis") == shared_axis


def _range_mode(layout: dict) -> str | None:
    """How the grid's shared colour axis is scaled: 'symmetric' (±max|z|), 'zero' (0..max), 'minmax', or None."""
    axis = layout.get("coloraxis") if isinstance(layout.get("coloraxis"), dict) else {}
    lo, hi = axis.get("cmin"), axis.get("cmax")
    if not isinstance(lo, (int, float)) or not isinstance(hi, (int, float)):
        return None
    return "symmetric" if lo == -hi else "zero" if lo == 0 else "minmax"


def make_base(vid: str, view: str, options: dict, fig: dict) -> dict | None:
    """Describe a freshly rendered figure if a later change can be a patch, else None."""
    traces = fig.get("data") or []
    layout = fig.get("layout") or {}
    title = (layout.get("title") or {}).get("text", "")
    if view not in FAST_VIEWS or not traces or not isinstance(title, str):
        return None
    if view == "neuron_heatmap" and len(traces) == 1 and _patchable(traces[0], False):
        return {"vid": vid, "view": view, "title": title}
    neurons = options.get("neurons")
    mode = _range_mode(layout)
    if (view == "neuron_grid" and neurons and len(traces) == len(neurons) and mode
            and all(_patchable(t, True) for t in traces)):
        return {"vid": vid, "view": view, "neurons": list(neurons), "title": title, "range": mode}
    return None


def fast_patch(store: Store, key: RunKey, vid: str, view: str, epoch: int, options: dict,
               base: object) -> Patch | None:
    """A Patch turning the browser's figure (`base`) into this epoch/neuron, or None to render in full.

    Args:
        store, key, vid: the validated run and its id; view: the panel's view;
        epoch: a checkpoint epoch; options: the render options (neuron= / neurons=);
        base: what `make_base` said about the figure the browser holds (untrusted).
    """
    if not isinstance(base, dict) or base.get("vid") != vid or base.get("view") != view:
        return None
    acts = _acts(store, key, epoch)
    if acts is None or not isinstance(base.get("title"), str):
        return None
    patch = Patch()
    if view == "neuron_heatmap":
        n = options.get("neuron", 0)
        if not 0 <= n < acts.shape[0]:
            return None
        patch["data"][0]["z"] = typed_array(acts[n])
        patch["layout"]["title"]["text"] = title_with(_NEURON.sub(f"neuron {n}", base["title"], count=1), epoch)
        return patch
    neurons = options.get("neurons")
    if base.get("neurons") != neurons or not neurons or max(neurons) >= acts.shape[0]:
        return None
    chosen = acts[neurons].astype(np.float32)  # [grid, a, b]
    for i in range(len(neurons)):
        patch["data"][i]["z"] = typed_array(chosen[i])
    lo, hi = float(chosen.min()), float(chosen.max())
    if base.get("range") == "symmetric":  # one colour scale across the grid, as the renderer does
        hi = max(abs(lo), abs(hi)) or 1.0
        lo = -hi
    elif base.get("range") == "zero":
        lo = 0.0
    patch["layout"]["coloraxis"]["cmin"] = lo
    patch["layout"]["coloraxis"]["cmax"] = hi if hi > lo else lo + 1.0
    patch["layout"]["title"]["text"] = title_with(base["title"], epoch)
    return patch
