"""A spread preset's runs as conditions with seed spread (`ComparePreset.spread`): the arrays
`workbench.ui.condition_figure` draws, a table of each metric's spread per condition with its test
against the reference condition, and the per-seed paired ratios.

The condition of a run is its value of the preset's first `vary` param, its split its value
of `split`, its seed the tuple of the family's seed params; a param a run does not name
reads as the preset's `absent` label. Spreads and tests are `workbench.query.stats`'s: with
3 seeds a side the exact permutation p cannot fall below 0.1, so nothing "differs".
"""

from __future__ import annotations

import math

import numpy as np

from workbench.core.family import ComparePreset
from workbench.query.groups import seed_params_of
from workbench.query.presets import final_values, params
from workbench.query.stats import compare, number, spread
from workbench.store import RunKey, Store

__all__ = ["spread_arrays", "spread_rows", "paired_ratios", "CAPTION"]


def _value(key: RunKey, name: str | None, preset: ComparePreset) -> str:
    if name is None:
        return ""
    return params(key).get(name) or preset.absent.get(name, "default")


def _seed(key: RunKey, family: str) -> str:
    return ",".join(params(key).get(n, "-") for n in seed_params_of(family))


def spread_arrays(store: Store, family: str, preset: ComparePreset, keys: list[RunKey]) -> dict[str, np.ndarray]:
    """{conditions [C], splits [G], metrics [M], values [G, C, M, S] (NaN-padded), seeds [G, C, S]}
    of `keys` in their order (line_up's: conditions in declared order)."""
    first = preset.vary[0] if preset.vary else None
    conditions = list(dict.fromkeys(_value(k, first, preset) for k in keys))
    splits = list(dict.fromkeys(_value(k, preset.split, preset) for k in keys)) or [""]
    cells: dict[tuple[int, int], list[RunKey]] = {}
    for k in keys:
        cells.setdefault((splits.index(_value(k, preset.split, preset)), conditions.index(_value(k, first, preset))),
                         []).append(k)
    width = max((len(v) for v in cells.values()), default=0)
    values = np.full((len(splits), len(conditions), len(preset.metrics), width), np.nan)
    seeds = np.full((len(splits), len(conditions), width), "", dtype=object)
    for (g, c), runs in cells.items():
        for s, k in enumerate(sorted(runs, key=lambda r: _seed(r, family))):
            finals = final_values(store, k, preset.metrics)
            values[g, c, :, s] = [finals[m] for m in preset.metrics]
            seeds[g, c, s] = _seed(k, family)
    return {"conditions": np.array(conditions), "splits": np.array(splits), "metrics": np.array(preset.metrics),
            "values": values, "seeds": seeds.astype(str)}


def _finite(x: np.ndarray) -> np.ndarray:
    return x[np.isfinite(x)]


def spread_rows(arrays: dict, reference: str | None) -> list[tuple[str, str, int, list[str]]]:
    """(split, condition, n seeds, per metric 'mean ± std [CI]' with ' (n=k)' where that metric has
    fewer values, and, but for the reference, '; vs REF: verdict') for each cell with runs."""
    conditions = [str(c) for c in arrays["conditions"]]
    ref = conditions.index(reference) if reference in conditions else None
    rows = []
    for g, split in enumerate(arrays["splits"]):
        for c, condition in enumerate(conditions):
            n = int(np.isfinite(arrays["values"][g, c]).any(axis=0).sum())
            cells = []
            for m in range(len(arrays["metrics"])):
                x = _finite(arrays["values"][g, c, m])
                text = spread(x).brief() + (f" (n={len(x)})" if len(x) != n else "") if len(x) else "-"
                other = _finite(arrays["values"][g, ref, m]) if ref is not None and c != ref else np.array([])
                if len(x) and len(other):
                    text += f"; vs {reference}: {compare(x, other).verdict}"
                cells.append(text)
            if n:
                rows.append((str(split), condition, n, cells))
    return rows


def paired_ratios(arrays: dict, preset: ComparePreset) -> list[tuple[str, str, str]]:
    """(split, ratio label, 'mean [min, max] over n paired seeds') for each of the preset's ratios
    whose sides are single conditions (the first vary param), paired by seed within a split."""
    first = preset.vary[0] if preset.vary else None
    conditions, metrics = [str(c) for c in arrays["conditions"]], [str(m) for m in arrays["metrics"]]
    out = []
    for label, metric, top, bottom in preset.ratios:
        a, b = str(top.get(first, "")), str(bottom.get(first, ""))
        if a not in conditions or b not in conditions or metric not in metrics:
            continue
        m = metrics.index(metric)
        for g, split in enumerate(arrays["splits"]):
            num = _by_seed(arrays, g, conditions.index(a), m)
            den = _by_seed(arrays, g, conditions.index(b), m)
            ratio = [num[s] / den[s] for s in num if s in den and den[s]]
            text = (f"{number(float(np.mean(ratio)), 4)} [{number(min(ratio), 3)}, {number(max(ratio), 3)}] "
                    f"over {len(ratio)} paired seeds") if ratio else "no paired seeds"
            out.append((str(split), label, text))
    return out


def _by_seed(arrays: dict, g: int, c: int, m: int) -> dict[str, float]:
    return {str(s): float(v) for s, v in zip(arrays["seeds"][g, c], arrays["values"][g, c, m])
            if str(s) and math.isfinite(v)}


CAPTION = ("Diamond: mean over seeds, bar: the seeds' min to max, dots: seeds. Cells: mean ± std "
           "[95% bootstrap interval of the mean]; 'within spread' unless Welch's t and the permutation "
           "test both give p < 0.05 (never with 3 seeds a side).")
