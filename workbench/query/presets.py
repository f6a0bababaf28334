"""Compare-page presets: a family's declared way to line up related runs (`Family.compare_presets`).

A preset id is "<family>/<preset name>". Choosing one selects the runs of that family that
share every parameter outside the preset's `vary` with an anchor run (the first selected
run of the family, else the family's first run), in the preset's order, and shows the
preset's metrics and its table of final values and ratios. Nothing here names a family.
Not Dash: the compare page and the offline report (`workbench.ui.sections`) both use it.
"""

from __future__ import annotations

import math
import typing

import numpy as np

from workbench.core.errors import UserError
from workbench.core.family import ComparePreset, get_family
from workbench.query.groups import seed_params_of
from workbench.store import RunKey, Store
from workbench.store.markers import read_headlines

__all__ = ["params", "spread_presets", "preset_options", "get_preset", "free_params", "line_up", "final_values",
           "preset_table"]


def params(key: RunKey) -> dict[str, str]:
    """The parameters named in a variant directory ('p=53,seed=1' -> {'p': '53', 'seed': '1'})."""
    out = {}
    for part in key.variant.split(","):
        name, sep, value = part.partition("=")
        out[name] = value if sep else ""
    return out


def _presets(family: str) -> dict[str, ComparePreset]:
    try:
        return dict(get_family(family).compare_presets)
    except (KeyError, UserError):  # a run of a family this install does not have
        return {}


def spread_presets(family: str) -> list[tuple[str, ComparePreset]]:
    """(name, preset) of the family's spread presets (`ComparePreset.spread`), in declared order."""
    return [(name, preset) for name, preset in _presets(family).items() if preset.spread]


def preset_options(store: Store) -> list[dict]:
    """Dropdown options for the presets of the families that have runs in `store`."""
    families = dict.fromkeys(k.family for k in store.runs())
    return [{"label": f"{f}: {name}", "value": f"{f}/{name}"} for f in families for name in _presets(f)]


def get_preset(preset_id: object) -> tuple[str, ComparePreset] | None:
    """(family, preset) for a preset id, or None when it names none (the id is untrusted)."""
    family, _, name = str(preset_id).partition("/") if isinstance(preset_id, str) else ("", "", "")
    preset = _presets(family).get(name) if family else None
    return (family, preset) if preset else None


def _rank(family: str, name: str, value: str) -> tuple:
    """Sort key of a run by parameter `name`: its place among a Literal's choices, else its value."""
    try:
        choices = [str(c) for c in typing.get_args(get_family(family).Params.model_fields[name].annotation)]
    except (KeyError, UserError):
        choices = []
    return (choices.index(value), value) if value in choices else (len(choices), value)


def free_params(family: str, preset: ComparePreset) -> tuple[str, ...]:
    """The params the lined-up runs may differ in: `vary`, plus the seeds and `split` of a spread preset."""
    extra = (*seed_params_of(family), *([preset.split] if preset.split else [])) if preset.spread else ()
    return tuple(dict.fromkeys(preset.vary + extra))


def line_up(store: Store, family: str, preset: ComparePreset, selected: list[RunKey]) -> list[RunKey]:
    """The runs the preset lines up around the first selected run of `family` (else its first run)."""
    runs = [k for k in store.runs() if k.family == family]
    anchor = next((k for k in selected if k.family == family), runs[0] if runs else None)
    if anchor is None:
        return []
    free = free_params(family, preset)
    fixed = {n: v for n, v in params(anchor).items() if n not in free}
    same = [k for k in runs if {n: v for n, v in params(k).items() if n not in free} == fixed]
    order = [n for n in (preset.vary[:1] + ((preset.split,) if preset.spread and preset.split else ())) if n]
    return sorted(same, key=lambda k: tuple(_rank(family, n, params(k).get(n, "")) for n in order))


def final_values(store: Store, key: RunKey, metrics: tuple[str, ...]) -> dict[str, float]:
    """Each metric's value at the run's last evaluation (NaN where missing)."""
    try:
        table = store.read_metrics(key)
    except UserError:  # missing or unreadable: every metric reads as NaN, the table shows the gap
        table = {}
    out, headlines = {}, None
    for name in metrics:
        if name not in table:  # a headline: read once, only when a metric is not a column
            headlines = read_headlines(store, key) if headlines is None else headlines
            out[name] = _number(headlines.get(name, ""))
            continue
        column = np.asarray(table[name], dtype=float).reshape(-1)
        out[name] = float(column[-1]) if column.size else math.nan
    return out


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:  # absent, or an array headline: not one number
        return math.nan


def preset_table(store: Store, family: str, preset: ComparePreset, keys: list[RunKey]) -> tuple[list, list]:
    """(rows: [label, {metric: value}], ratios: [(label, value)]) for the preset's runs."""
    first = preset.vary[0] if preset.vary else None
    wanted = tuple(dict.fromkeys(preset.metrics + tuple(metric for _, metric, _, _ in preset.ratios)))
    finals = {k: final_values(store, k, wanted) for k in keys}  # one read of each run's metrics
    rows = [(params(k).get(first, k.variant) if first else k.variant, {m: finals[k][m] for m in preset.metrics})
            for k in keys]
    ratios = []
    for label, metric, top, bottom in preset.ratios:
        num = [finals[k][metric] for k in keys if _matches(k, top)]
        den = [finals[k][metric] for k in keys if _matches(k, bottom)]
        value = num[0] / den[0] if len(num) == 1 and len(den) == 1 and den[0] else math.nan
        ratios.append((label, value))
    return rows, ratios


def _matches(key: RunKey, wanted: dict) -> bool:
    named = params(key)
    return all(named.get(n) == str(v) for n, v in wanted.items())
