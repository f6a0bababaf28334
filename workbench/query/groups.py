"""Run groups: runs of one family that differ only in the params the family calls seed-like.

A family declares its seed-like params in `Family.seed_params` (default `seed`, `data_seed`).
Runs whose family, other params, recipe and planned epochs are all equal form one group;
the spread of a quantity over the group is its seed noise. `group_rows` builds the groups
from run-index rows (workbench.store.index) and summarises, per group, every final metric,
epoch marker and headline with `workbench.query.stats.spread`; a headline that is not a
number (key frequencies "8,19,41") keeps its per-run values and says how many agree.

A run that cannot join a group or lacks a quantity is named with the reason: a variant.json
that cannot be read, training that stopped short of the plan, a damaged file, an analyzer
not run, or a marker its analyzer found no epoch for.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field

from workbench.core.analyzer import get_analyzer, list_analyzers
from workbench.core.family import get_family, list_families
from workbench.query.stats import Spread, spread
from workbench.store.markers import marker_names, pctl_name

__all__ = ["Group", "group_rows", "agreement", "seed_params_of", "seed_summary"]


@dataclass(frozen=True)
class Group:
    """Runs differing only in seed-like params, and the spread of what they measured."""

    family: str
    label: str  # the runs' variant with each seed param's values, e.g. "p=53,seed=0-4,data_seed=598,..."
    params: dict  # params every run shares (seed params too, where all runs agree)
    recipe: dict
    epochs: int  # planned epochs
    runs: tuple[str, ...]  # specs of the runs it holds, ordered by seed
    seeds: dict  # seed param -> its value per run (in `runs` order)
    stats: dict[str, Spread] = field(default_factory=dict)  # quantity -> its spread over the runs that have it
    texts: dict = field(default_factory=dict)  # non-numeric headline -> per-run values
    values: dict = field(default_factory=dict)  # numeric quantity -> values of the runs that have it (difference tests)
    missing: tuple = ()  # (spec, quantity, reason): a run left out of one quantity

    @property
    def n(self) -> int:
        return len(self.runs)

    @property
    def spec(self) -> str:
        return f"{self.family}:{self.label}"


def seed_params_of(family: str) -> tuple[str, ...]:
    """The family's seed-like params (the default pair for a family not registered here)."""
    return get_family(family).seed_params if family in list_families() else ("seed", "data_seed")


def seed_summary(values) -> str:
    """'0-4' for consecutive integers (3 or more), else '0|2|7' (the sweep spec's syntax), '598' for one."""
    uniq = sorted(set(values), key=_order)
    ints = all(isinstance(v, int) and not isinstance(v, bool) for v in uniq)
    if ints and len(uniq) >= 3 and uniq[-1] - uniq[0] == len(uniq) - 1:
        return f"{uniq[0]}-{uniq[-1]}"
    return "|".join(str(v) for v in uniq)


# ---------------------------------------------------------------- membership
def _problem(row: dict) -> str | None:
    """Why a run cannot join a group, or None."""
    if row.get("damaged_record"):
        return f"unreadable variant.json: {row['damaged_record']}"
    ckpts = row.get("checkpoints") or []
    done = ckpts[-1] if ckpts else 0
    if done < (row.get("epochs") or 0):
        return f"trained {done} of {row['epochs']} epochs"
    return None


def _key(row: dict, seeds: tuple[str, ...]) -> str:
    shared = {k: v for k, v in (row.get("params") or {}).items() if k not in seeds}
    return json.dumps([row["family"], shared, row.get("recipe") or {}, row.get("epochs")], sort_keys=True)


def _label(rows: list[dict], seeds: tuple[str, ...]) -> str:
    """The first run's variant with each seed param's token replaced by the values of all runs."""
    label = rows[0]["variant"]
    for name in seeds:
        values = [r["params"][name] for r in rows if name in (r.get("params") or {})]
        if values:
            label = re.sub(rf"(?<![^,]){re.escape(name)}=[^,]*", f"{name}={seed_summary(values)}", label)
    return label


# ---------------------------------------------------------------- quantities
def _reasons(row: dict) -> dict[str, str]:
    """{analyzer: why its quantities are absent from this run}."""
    done, unmarked = set(row.get("analyzers") or []), set(row.get("unmarked") or [])
    out = {a: f"{a} not run" for a in list_analyzers() if a not in done}
    out.update({a: f"{a} found no such epoch" for a in unmarked})
    return out


def _headline_owner() -> dict[str, str]:
    """{headline (and its percentiles against each null, "<headline>_null_pctl"): the analyzer that writes it}."""
    owners = {h: a for a in list_analyzers() for h in get_analyzer(a).headlines.values()}
    return owners | {pctl_name(h, kind if i else None): a for h, a in owners.items()
                     for i, kind in enumerate(get_analyzer(a).nulls)}


def _numeric_headlines() -> set[str]:
    """Headlines that are one number: a scalar output that is not a label, frequency or flag (a
    single key frequency "12" is a set of one, not a number to average)."""
    out = set()
    for a in list_analyzers():
        spec = get_analyzer(a)
        out |= {h for o, h in spec.headlines.items()
                if spec.outputs[o] == () and spec.kinds.get(o, "float") not in ("label", "freq", "bool")}
    return out


def _values(row: dict, numeric: set[str]) -> dict[str, float | str]:
    """Every final metric (but the epoch), marker and headline this run has, by name."""
    out: dict[str, float | str] = {k: v for k, v in (row.get("metrics") or {}).items() if k != "epoch" and v is not None}
    out.update(row.get("markers") or {})
    for name, text in (row.get("headlines") or {}).items():
        try:
            out[name] = float(text) if name in numeric else text
        except ValueError:
            out[name] = text
    return out


def _why_absent(row: dict, name: str, owners: dict[str, str]) -> str:
    if row.get("damaged"):
        return f"damaged: {row['damaged']}"
    analyzer = owners.get(name)
    if analyzer is None:
        return "no metrics.npz" if not row.get("metrics") else "not in its metrics (or NaN)"
    return _reasons(row).get(analyzer, "not found in its artifacts")


def _summarise(rows: list[dict]) -> tuple[dict, dict, dict, tuple]:
    """(stats, texts, values, missing) of the group's runs."""
    numeric = _numeric_headlines()
    values = [_values(r, numeric) for r in rows]
    owners = {**marker_names(), **_headline_owner()}
    rank = {n: i for i, n in enumerate(owners)}  # metrics first, then markers and headlines as declared
    names = sorted({n for v in values for n in v}, key=lambda n: (rank.get(n, -1), n))
    stats, texts, numbers, missing = {}, {}, {}, []
    for name in names:
        have = [v[name] for v in values if name in v]
        missing += [(r["spec"], name, _why_absent(r, name, owners)) for r, v in zip(rows, values) if name not in v]
        if all(isinstance(x, (int, float)) for x in have):
            stats[name], numbers[name] = spread(have), tuple(float(x) for x in have)
        else:
            texts[name] = tuple(str(x) for x in have)
    return stats, texts, numbers, tuple(missing)


def agreement(values: tuple[str, ...]) -> str:
    """'8,19,41 in 5 of 5' — the most common value and how many runs share it."""
    value, count = Counter(values).most_common(1)[0]
    return f"{value} in {count} of {len(values)}"


# ---------------------------------------------------------------- groups
def _order(value) -> tuple:
    """Sort key putting numbers in numeric order before anything else."""
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    return (0, value, "") if number else (1, 0, str(value))


def _group(rows: list[dict], seeds: tuple[str, ...]) -> Group:
    rows = sorted(rows, key=lambda r: [_order(r["params"].get(s)) for s in seeds])
    params = {k: v for k, v in rows[0]["params"].items()
              if all(r["params"].get(k) == v for r in rows)}
    stats, texts, numbers, missing = _summarise(rows)
    return Group(rows[0]["family"], _label(rows, seeds), params, rows[0].get("recipe") or {}, rows[0].get("epochs") or 0,
                 tuple(r["spec"] for r in rows), {s: tuple(r["params"].get(s) for r in rows) for s in seeds
                                                  if s in rows[0]["params"]}, stats, texts, numbers, missing)


def group_rows(rows: list[dict]) -> tuple[list[Group], list[tuple[str, str]]]:
    """(groups ordered by family and label, [(run, why it is in no group)]) of run-index rows."""
    buckets: dict[str, list[dict]] = {}
    outside: list[tuple[str, str]] = []
    for row in rows:
        problem = _problem(row)
        if problem:
            outside.append((row.get("spec") or f"{row['family']}:{row['variant']}", problem))
            continue
        buckets.setdefault(_key(row, seed_params_of(row["family"])), []).append(row)
    groups = [_group(b, seed_params_of(b[0]["family"])) for b in buckets.values()]
    return sorted(groups, key=lambda g: (g.family, g.label)), outside

