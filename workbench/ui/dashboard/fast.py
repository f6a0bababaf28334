"""Fast epoch and option changes for views that can repaint: patch the figure, skip re-rendering.

At p=113 an activations artifact is 512 x 113 x 113, and building heatmap figures
through plotly's validating object model costs far more than the data itself. A view that
declares `repaint` (workbench.core.view) says what changes in the figure already drawn
when the epoch or its options change; the server sends that as a `dash.Patch` (arrays as
float32 base64) with the title naming the new epoch. A view that declares `pin` has options
fixed once per run from its last analyzed checkpoint (`pinned_options`), so scrubbing keeps
showing the same things. No view is named here.

`base` (kept per panel in a dcc.Store in the browser) describes the figure the browser
holds; a patch is sent only when it matches, otherwise the caller renders in full.
"""

from __future__ import annotations

import base64
import functools
import json

import numpy as np
from dash import Patch

from workbench.core.view import get_view
from workbench.store import ArraysRef, RunKey, Store
from workbench.ui.dashboard import data

__all__ = ["repaints", "pinned_options", "make_base", "fast_patch", "typed_array", "title_with", "warm"]


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


def repaints(view: str) -> bool:
    """Whether the view declares a repaint (a patch path)."""
    return get_view(view).repaint is not None


def _arrays(store: Store, key: RunKey, view: str, epoch: int) -> dict | None:
    return data.artifact(store, key, get_view(view).sources[0], epoch)


def warm(store: Store, key: RunKey, view: str, epoch: int) -> None:
    """Load what a patch of `view` at `epoch` reads into the artifact cache (the prefetcher's part)."""
    _arrays(store, key, view, epoch)


@functools.lru_cache(maxsize=32)
def _pin(root: str, key: RunKey, view: str, epoch: int, sig: tuple) -> str:
    arrays = _arrays(Store(root), key, view, epoch)
    return json.dumps(get_view(view).pin(arrays) if arrays else {})  # immutable in the cache


def pinned_options(store: Store, key: RunKey, views) -> dict[str, dict]:
    """{view: the options its `pin` fixes for this run} for the `views` that declare one and
    have an analyzed checkpoint (read at the last one)."""
    out = {}
    for view in views:
        spec = get_view(view)
        found = store.artifact_epochs(key, spec.sources[0]) if spec.pin is not None else []
        if found:
            sig = store.arrays_signature(key, ArraysRef(spec.sources[0], found[-1]))
            out[view] = json.loads(_pin(str(store.root), key, view, found[-1], sig))
    return out


def make_base(vid: str, view: str, options: dict, fig: dict) -> dict | None:
    """Describe a freshly rendered figure of a repainting view (None for others)."""
    traces = fig.get("data") or []
    if not repaints(view) or not traces:
        return None
    return {"vid": vid, "view": view, "options": options, "traces": len(traces)}


def _put(node, updates: dict) -> None:
    """Assign each leaf of the nested `updates` under `node` (a Patch location); arrays as typed arrays."""
    for name, value in updates.items():
        if isinstance(value, dict):
            _put(node[name], value)
        else:
            node[name] = typed_array(value) if isinstance(value, np.ndarray) else value


def fast_patch(store: Store, key: RunKey, vid: str, view: str, epoch: int, options: dict,
               base: object) -> Patch | None:
    """A Patch turning the browser's figure (`base`) into this epoch and options, or None to render in full.

    Args:
        store, key, vid: the validated run and its id; view: the panel's view;
        epoch: a checkpoint epoch; options: the render options;
        base: what `make_base` said about the figure the browser holds (untrusted).
    """
    if not isinstance(base, dict) or base.get("vid") != vid or base.get("view") != view:
        return None
    old = base.get("options")
    arrays = _arrays(store, key, view, epoch)
    if not isinstance(old, dict) or not arrays:
        return None
    try:
        change = get_view(view).repaint(arrays, old, options)
    except Exception:  # a view's repaint must never cost more than a full render
        return None
    if change is None or len(change.traces) != base.get("traces"):
        return None
    patch = Patch()
    for i, trace in enumerate(change.traces):
        _put(patch["data"][i], trace)
    _put(patch["layout"], change.layout)
    patch["layout"]["title"]["text"] = title_with(change.title, epoch)
    return patch
