"""Epoch markers: named epochs of a run that summary analyzers declare (`register_analyzer(markers=...)`).

A marker is a scalar output of a summary analyzer holding an epoch, NaN when the analyzer
found none (e.g. a turn's onset on a run that never groks). `list`, the report, the
dashboard and the compare page read them here, without naming the analyzer that wrote them.
A marker name is unique across analyzers; its label is the name without "_epoch", spaced.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

from workbench.core.analyzer import get_analyzer, list_analyzers
from workbench.core.errors import CorruptFile, MissingFile
from workbench.core.nulls import null_field, null_percentile
from workbench.store.file_store import ArraysRef, RunKey, Store

__all__ = ["MarkerScan", "marker_names", "scan_markers", "read_markers", "marker_label", "read_headlines", "PCTL_SUFFIX",
           "pctl_name"]

# a headline's percentile against its analyzer's null (workbench.core.nulls), as a headline of its own
PCTL_SUFFIX = "_null_pctl"


def pctl_name(headline: str, kind: str | None = None) -> str:
    """The headline giving `headline`'s percentile against its first null ("x_null_pctl") or a further one of
    `kind` ("x_random_null_pctl")."""
    return f"{headline}_{kind}{PCTL_SUFFIX}" if kind else f"{headline}{PCTL_SUFFIX}"


class MarkerScan(NamedTuple):
    """What `scan_markers` found in one run."""

    markers: dict[str, int]  # marker name -> whole epoch, only markers present and finite
    corrupt: list[CorruptFile]  # summary files that could not be read (skipped), one error each


def marker_names() -> dict[str, str]:
    """Every declared marker -> the summary analyzer that declares it, in registry order."""
    return {m: name for name in list_analyzers(scope="summary") for m in get_analyzer(name).markers}


def scan_markers(store: Store, key: RunKey) -> MarkerScan:
    """The markers of a run, and the summary files that could not be read; never raises on a bad file.

    Args:
        store: the store; key: the run.

    Returns:
        MarkerScan(markers in registry order, corrupt summaries). A summary that is absent
        (not analyzed) adds nothing; one that is unreadable, or whose marker is not a
        number, adds its CorruptFile (`.path`, `.problem`) and none of its markers.
    """
    markers: dict[str, int] = {}
    corrupt: list[CorruptFile] = []
    for name in list_analyzers(scope="summary"):
        declared = get_analyzer(name).markers
        if not declared or not store.has_summary(key, name):
            continue
        try:
            markers.update(_read(store, key, name, declared))
        except MissingFile:  # removed since exists(): a re-analysis in flight
            continue
        except CorruptFile as err:
            corrupt.append(err)
    return MarkerScan(markers, corrupt)


def read_markers(store: Store, key: RunKey) -> dict[str, int]:
    """{marker name: whole epoch} of a run, for the markers present and finite (see scan_markers)."""
    return scan_markers(store, key).markers


def marker_label(name: str) -> str:
    """A human label for a marker: "turn_onset_epoch" -> "turn onset"."""
    return name.removesuffix("_epoch").replace("_", " ")


def _read(store: Store, key: RunKey, analyzer: str, declared: tuple[str, ...]) -> dict[str, int]:
    """The finite markers of one summary, rounded to whole epochs; CorruptFile if malformed."""
    arrays = store.read_summary(key, analyzer)
    found: dict[str, int] = {}
    for marker in declared:
        if marker not in arrays:
            continue  # written by an older version of its analyzer
        value = arrays[marker]
        if value.shape != () or value.dtype.kind not in "iuf":
            raise CorruptFile(store.summary_path(key, analyzer), f"marker {marker!r} is {value.dtype} of shape {value.shape}, not a number")
        if np.isfinite(value):
            found[marker] = int(round(float(value)))
    return found


def read_headlines(store: Store, key: RunKey, on_error: Callable[[CorruptFile | MissingFile], None] | None = None
                   ) -> dict[str, str]:
    """{headline name: value as text} of the headline outputs analyzers declare
    (`register_analyzer(headlines=...)`): a per-epoch analyzer's at its last analyzed checkpoint, a
    summary's from its summary. An array reads as comma-separated values ("none" when
    empty), floats to 3 significant digits, each led by its name where the analyzer names
    the array's axis (`<axis>_names`, e.g. "embed.W_E 12.3"). A headline whose analyzer
    has a stored null gets `<headline>_null_pctl`: each value's percentile (0-100) among the
    null's draws (workbench.core.nulls), and `<headline>_<kind>_null_pctl` against each further
    null it declares. Unreadable files are left out (and passed to `on_error` when given)."""
    out: dict[str, str] = {}
    for name in list_analyzers():
        spec = get_analyzer(name)
        if not spec.headlines:
            continue
        if spec.scope == "summary":
            ref = ArraysRef(name)
            if not store.has_arrays(key, ref):
                continue
        else:
            epochs = store.artifact_epochs(key, name)
            if not epochs:
                continue
            ref = ArraysRef(name, epochs[-1])
        label_of = {h: f"{spec.outputs[h][0]}_names" for h in spec.headlines
                    if len(spec.outputs[h]) == 1 and f"{spec.outputs[h][0]}_names" in spec.outputs}
        try:
            arrays = store.read_arrays(key, ref, keys=(*spec.headlines, *label_of.values()))
        except (CorruptFile, MissingFile) as err:
            if on_error is not None:
                on_error(err)
            continue
        nulls = _null_percentiles(store, key, spec, arrays, on_error) if spec.null else {}
        for output, headline in spec.headlines.items():
            labels = arrays.get(label_of.get(output, ""))
            out[headline] = _joined(arrays[output], labels)
            for i, kind in enumerate(spec.nulls):
                if (output, kind) in nulls:
                    out[pctl_name(headline, kind if i else None)] = _joined(nulls[output, kind], labels)
    return out


def _joined(value: np.ndarray, labels: np.ndarray | None) -> str:
    """Comma-separated values, each led by its label where the axis is named; "none" when empty."""
    values = [_text(v) for v in np.atleast_1d(value)]
    if labels is not None:
        values = [f"{label} {v}" for label, v in zip(labels, values)]
    return ",".join(values) or "none"


def _null_percentiles(store: Store, key: RunKey, spec, arrays: dict, on_error) -> dict[tuple[str, str], np.ndarray]:
    """{(headline output, null kind): its percentile against that stored null} ({} without one)."""
    ref = ArraysRef(spec.name, null=True)
    if not store.has_arrays(key, ref):
        return {}
    fields = {(o, kind): null_field(o, kind if i else None) for o in spec.headlines if o in spec.null_outputs
              for i, kind in enumerate(spec.nulls)}
    try:
        null = store.read_arrays(key, ref)
    except (CorruptFile, MissingFile) as err:
        if on_error is not None:
            on_error(err)
        return {}
    out = {}
    for (o, kind), name in fields.items():
        value = np.asarray(arrays[o], dtype=np.float64)
        if name in null and null[name].shape[1:] == value.shape:  # a null of another shape (a stale file) says nothing
            out[o, kind] = np.round(null_percentile(value, null[name]), 1)
    return out


def _text(value: object) -> str:
    value = value.item() if hasattr(value, "item") else value
    return f"{value:.3g}" if isinstance(value, float) else str(value)
