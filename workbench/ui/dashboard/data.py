"""Validated, cached access to a store for the dashboard.

Everything the browser sends (a variant id, an epoch) passes through here before it
touches the disk: a variant id is accepted only if it names one of `store.runs()`, and
every read still goes through `Store`, which validates ids again. Loads are cached on
(store, run, table, the table's signature), so an artifact rewritten by a running
`workbench analyze` is reread, while scrubbing back and forth never rereads the same file.
"""

from __future__ import annotations

import base64
import functools
import logging
import math

import numpy as np

from workbench.core.errors import UserError
from workbench.core.view import drop_replaced
from workbench.query import views
from workbench.store import ArraysRef, RunKey, Store
from workbench.store.clock import clock_signature
from workbench.store.markers import marker_names, read_markers

__all__ = [
    "variant_id", "resolve_variant", "load_cached", "metrics", "summary", "artifact",
    "epochs", "latest_analyzed", "default_run", "markers_analyzed", "turn_epoch", "nearest_epoch", "view_figure_cached", "clear_caches",
    "shown_views",
]

log = logging.getLogger(__name__)

_SEP = "/"  # variant id = "<family>/<variant dir>"; neither part may contain '/'


# ------------------------------------------------------------------ variant ids
def shown_views(store: Store, key: RunKey) -> list[str]:
    """The views the dashboard shows for a run: those that apply to its family, less those that
    another of them draws in full (`workbench.core.view.drop_replaced`: no curve twice)."""
    return drop_replaced(views.run_views(store, key))


def variant_id(key: RunKey) -> str:
    """The string the browser uses for a run: 'family/variant-dir'."""
    return f"{key[0]}{_SEP}{key[1]}"


def resolve_variant(store: Store, vid: object) -> RunKey:
    """Map a browser-supplied variant id to a RunKey of this store.

    Args:
        store: the store being served.
        vid: untrusted value from the browser.
    Returns:
        The matching RunKey.
    Raises:
        UserError: unless `vid` is exactly the id of one of `store.runs()`.
    """
    if not isinstance(vid, str) or ".." in vid or vid.count(_SEP) != 1:
        raise UserError(f"invalid variant {vid!r}")
    family, _, name = vid.partition(_SEP)
    key = RunKey(family, name)
    if key not in store.runs():
        raise UserError(f"unknown variant {vid!r}")
    store.run_dir(key)  # Store validates ids once more (raises UserError; the path is not used)
    return key


# ---------------------------------------------------------------- cached loads
@functools.lru_cache(maxsize=96)
def _load(root: str, key: RunKey, ref: ArraysRef, signature: tuple[int, int]) -> dict[str, np.ndarray]:
    arrays = Store(root).read_arrays(key, ref)
    for a in arrays.values():
        a.setflags(write=False)  # shared between callbacks: nobody may mutate it
    return arrays


def load_cached(store: Store, key: RunKey, ref: ArraysRef) -> dict[str, np.ndarray] | None:
    """The arrays of a run's table, cached on its signature; None if missing or unreadable."""
    sig = store.arrays_signature(key, ref)
    if sig is None:
        return None
    try:
        return _load(str(store.root), key, ref, sig)
    except Exception as err:  # truncated, garbage or foreign file: the page shows the gap, not a 500
        log.warning("cannot read %s of %s: %s", ref, variant_id(key), err)
        return None


def metrics(store: Store, key: RunKey) -> dict[str, np.ndarray] | None:
    return load_cached(store, key, ArraysRef("metrics"))


def summary(store: Store, key: RunKey, analyzer: str) -> dict[str, np.ndarray] | None:
    return load_cached(store, key, ArraysRef(analyzer))


def artifact(store: Store, key: RunKey, analyzer: str, epoch: int) -> dict[str, np.ndarray] | None:
    return load_cached(store, key, ArraysRef(analyzer, epoch))


# -------------------------------------------------------------------- epochs
def epochs(store: Store, key: RunKey) -> list[int]:
    """Checkpoint epochs of a run (the epochs per-epoch views can show)."""
    return store.checkpoint_epochs(key)


def latest_analyzed(store: Store, key: RunKey) -> int | None:
    """The latest checkpoint with any per-epoch artifact (the one worth opening), else the latest checkpoint.

    On a run still being trained or analyzed, later checkpoints have nothing to show yet.
    """
    ckpts = epochs(store, key)
    done = {e for a in store.analyzers_done(key) for e in store.artifact_epochs(key, a)} & set(ckpts)
    return max(done) if done else (ckpts[-1] if ckpts else None)


def _finished_and_updated(store: Store, key: RunKey) -> tuple[bool, float]:
    """(whether the run trained to its planned epochs, when its files last changed), unreadable: (False, 0)."""
    try:
        record = store.read_record(key)
        status = store.read_status(key)
    except Exception:  # a damaged run is never the one to open first
        return False, 0.0
    ckpts = record.checkpoint_epochs or []
    training = bool(status) and status.get("job") == "train" and status.get("state") != "done"
    finished = not training and bool(ckpts) and ckpts[-1] >= record.epochs
    stamps = [store.record_signature(key), store.arrays_signature(key, ArraysRef("metrics"))]
    updated = max([s[0] / 1e9 for s in stamps if s] + [float((status or {}).get("updated") or 0.0)])
    return finished, updated


def default_run(store: Store) -> RunKey | None:
    """The run the dashboard opens without a URL: the most recently updated finished one, else the
    most recently updated (not the alphabetically first, which may be a run still at epoch 0)."""
    seen = [(_finished_and_updated(store, k), k) for k in store.runs()]
    return max(seen, key=lambda item: item[0])[1] if seen else None


def turn_epoch(store: Store, key: RunKey) -> float | None:
    """The run's first epoch marker (the turn onset, by registry order), or None if none is present.

    Read through workbench.store.markers, so the dashboard names no analyzer and a corrupt or
    malformed summary reads as "no marker" rather than an error.
    """
    markers = read_markers(store, key)
    return float(next(iter(markers.values()))) if markers else None


def markers_analyzed(store: Store, key: RunKey) -> bool:
    """Whether any analyzer that finds epoch markers (the turn) has run on the run: without one, "no turn
    detected" would be wrong (a run that went from 1% to 95% was said to have none: it was not analyzed)."""
    return any(store.has_summary(key, name) for name in set(marker_names().values()))


def nearest_epoch(candidates: list[int], epoch: object) -> int | None:
    """The candidate closest to `epoch` (ties go to the earlier one); None if no candidates."""
    if not candidates:
        return None
    try:
        target = float(epoch)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return candidates[-1]
    if math.isnan(target):
        return candidates[-1]
    return min(candidates, key=lambda e: (abs(e - target), e))


# --------------------------------------------------------------- figure cache
def _plain_customdata(fig: dict) -> dict:
    """Decode base64 typed-array customdata into lists, in place.

    Plotly sends numpy arrays as {"dtype", "bdata", "shape"} specs; dcc.Graph copies a
    point's customdata into clickData only when the trace's customdata is a plain array,
    so without this, clicks would arrive without the epoch or index they carry.
    """
    for trace in fig.get("data") or []:
        custom = trace.get("customdata")
        if isinstance(custom, dict) and "bdata" in custom and "dtype" in custom:
            arr = np.frombuffer(base64.b64decode(custom["bdata"]), dtype=np.dtype(custom["dtype"]).newbyteorder("<"))
            shape = [int(n) for n in str(custom.get("shape", "")).split(",") if n.strip()]
            trace["customdata"] = (arr.reshape(shape) if shape else arr).tolist()
    return fig


@functools.lru_cache(maxsize=256)
def _figure_json(root: str, key: RunKey, view: str, epoch: int | None, options: tuple, sig: tuple) -> dict:
    fig = views.view_figure(Store(root), key, view, epoch=epoch, **dict(options))
    return _plain_customdata(fig.to_plotly_json())


def view_figure_cached(store: Store, key: RunKey, view: str, epoch: int | None = None, **options) -> dict:
    """`workbench.query.views.view_figure` as a plotly JSON dict, cached on its sources' mtimes.

    Args:
        store: the store; key: a validated RunKey; view: a registered view name.
        epoch: the checkpoint epoch for per-epoch views (ignored by trajectory views).
        options: the renderer's keyword options (as the view declares them).
    Returns:
        The figure as a dict (shared: do not mutate).
    """
    at = store.with_probe(options[views.PROBE_OPTION]) if options.get(views.PROBE_OPTION) else store  # its files
    sig = tuple(at.arrays_signature(key, ref) for ref in views.source_refs(at, key, view, epoch))
    if options.get("x_time"):  # drawn against the run's clock (views.run_clock), which training extends
        sig += (clock_signature(store, key),)
    frozen = tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in options.items()))
    return _figure_json(str(store.root), key, view, epoch, frozen, sig)


def clear_caches() -> None:
    """Forget every cached artifact and figure (tests and benchmarks use this)."""
    _load.cache_clear()
    _figure_json.cache_clear()
