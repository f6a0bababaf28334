"""`workbench sweep SPEC`: a sweep description, expanded into variants and stacked groups.

SPEC is inline or a YAML file. Inline, it is a variant spec whose values may list
alternatives with `|` and integer ranges with `A-B`, recipe fields included:

    modular_addition:p=97|101|113,seed=0-3,r.lr=1e-3|3e-3

A YAML file (read strictly: workbench.core.strict_yaml) says the same, plus the training plan:

    variant: modular_addition:frac_train=0.3   # the base: family and fixed values
    params: {p: [97, 101, 113], seed: "0-3"}   # a value, a list, or "A-B" / "a|b" text
    recipe: {lr: [1.0e-3, 3.0e-3]}
    epochs: 3000                               # optional: schedule, eval_every too
    analyzers: all                             # what `sweep` runs after training
    zip: {seed: [0, 1, 2], data_seed: [0, 1, 2]}  # lists that vary together

The variants are the product of every listed value. A `zip` group's lists (params, or
recipe fields as `r.FIELD`) have one length and vary together, as one axis of that
product: the example above gives 3 seed pairs, not 9. `zip` may also be a list of such
groups, each its own axis; a group can thus name a few hand-picked recipe cells
(configs/mod97_grid.yaml). Members that differ only in their
seeds (`seed`, `data_seed`) and share a recipe and plan can train as one stacked model
(`Family.stackable`); each such set, cut at `max_members`, is a **group**, the unit a
backend runs. Grouping depends on the description alone, never on progress, so every run
of a sweep and every backend forms the same groups.
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, StrictInt, ValidationError

from workbench.core.errors import UserError
from workbench.core.variant import parse_variant
from workbench.sweep.stacked import MAX_MEMBERS
from workbench.training.config import CONFIG_DIR, read_mapping

__all__ = ["SweepSpec", "Group", "load_sweep", "expand", "groups", "SEED_PARAMS", "CONFIG_SWEEPS"]

CONFIG_SWEEPS = CONFIG_DIR / "sweeps"  # named sweep specs (`workbench sweep mod97_grid`), apart from run configs

SEED_PARAMS = ("seed", "data_seed")  # the params stacked members may differ in (see workbench.sweep.stacked)
_RANGE = re.compile(r"([0-9]{1,9})-([0-9]{1,9})", re.ASCII)


class SweepSpec(BaseModel):
    """A sweep description (a YAML file's content, or an inline spec's)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    variant: str
    params: dict[str, Any] = {}
    recipe: dict[str, Any] = {}
    epochs: StrictInt | None = None  # strict: YAML's `true` or `1e3` is not an epoch count
    schedule: str | None = None
    eval_every: StrictInt | None = None
    analyzers: str = "all"
    max_members: StrictInt = 256
    description: str = ""
    zip: dict[str, Any] | list[dict[str, Any]] = []


@dataclass(frozen=True)
class Group:
    """Variants one job trains together (one stacked model where the family can stack)."""

    specs: tuple[str, ...]
    label: str  # e.g. "modular_addition:p=97,... x4"


def _values(key: str, value: Any, where: str) -> list[Any]:
    """A listed value -> its alternatives: a list, 'a|b|c' text, 'A-B' integer range, or one value."""
    if isinstance(value, list):
        items = value
    elif isinstance(value, str):
        items = [v.strip() for v in value.split("|")]
    else:
        items = [value]
    out: list[Any] = []
    for item in items:
        if isinstance(item, (dict, list)) or item is None or item == "":
            raise UserError(f"malformed sweep {where!r}: {key} has an empty or nested value")
        m = _RANGE.fullmatch(item) if isinstance(item, str) else None
        span = range(int(m.group(1)), int(m.group(2)) + 1) if m else [item]
        if m and not span:
            raise UserError(f"malformed sweep {where!r}: {key}={item} needs A <= B")
        if len(out) + len(span) > MAX_MEMBERS:  # counted before any list is built
            raise UserError(f"sweep {where!r}: {key} lists more than {MAX_MEMBERS:,} values")
        out += list(span)
    return out


def _inline(text: str) -> SweepSpec:
    name, _, rest = text.strip().partition(":")
    params: dict[str, Any] = {}
    recipe: dict[str, Any] = {}
    for part in filter(None, (p.strip() for p in rest.split(","))):
        key, sep, value = part.partition("=")
        key = key.strip()
        if not sep or not key or not value.strip():
            raise UserError(f"malformed sweep {text!r}: {part!r} is not key=value")
        target = recipe if key.startswith("r.") else params
        field = key.removeprefix("r.")
        if field in target:
            raise UserError(f"malformed sweep {text!r}: {key!r} is given twice")
        target[field] = value.strip()
    return SweepSpec(variant=name.strip(), params=params, recipe=recipe)


def _is_file(text: str) -> bool:
    try:
        return Path(text).is_file()
    except (OSError, ValueError):  # longer than a file name may be, a NUL byte: an inline spec
        return False


def load_sweep(text: str, files: bool = True) -> SweepSpec:
    """Read SPEC: a name in configs/sweeps/, a .yaml/.yml file or an existing file (only when
    `files`: a dashboard job never reads a file), else an inline spec, however long.

    Raises:
        UserError (one line) for an unreadable or malformed description.
    """
    named = CONFIG_SWEEPS / f"{text}.yaml"
    if text.isidentifier() and named.is_file():
        path = named
    elif files and (text.strip().endswith((".yaml", ".yml")) or _is_file(text)):
        path = Path(text)
    else:
        if not text.strip():
            raise UserError("empty sweep SPEC ''; give family:key=value|value,... or a YAML file")
        return _inline(text)
    doc = read_mapping(path, "sweep file")
    try:
        return SweepSpec.model_validate(doc)
    except ValidationError as err:
        e = err.errors()[0]
        raise UserError(f"sweep file {text!r}: {'.'.join(map(str, e['loc'])) or 'sweep'}: {e['msg']}") from None


def expand(sweep: SweepSpec) -> list:
    """Every variant of the product, in order, each once.

    Raises:
        UserError for an invalid value (named as parse_variant names it) or more than
        MAX_MEMBERS variants.
    """
    where = sweep.variant
    axes = _zip_axes(sweep)  # outermost: a seed group then runs every cell before the next seed
    axes += [[[(False, k, v)] for v in _values(k, value, where)] for k, value in sweep.params.items()]
    axes += [[[(True, k, v)] for v in _values(f"r.{k}", value, where)] for k, value in sweep.recipe.items()]
    count = 1
    for values in axes:
        count *= len(values)
    if count > MAX_MEMBERS:
        raise UserError(f"sweep {where!r} names {count:,} variants, more than {MAX_MEMBERS:,}")
    seen: dict[tuple, Any] = {}
    for combo in itertools.product(*axes):
        chosen = [item for point in combo for item in point]  # a point: (is_recipe, key, value) settings
        params = {k: _text(v) for is_recipe, k, v in chosen if not is_recipe}
        recipe = {k: _text(v) for is_recipe, k, v in chosen if is_recipe}
        variant = parse_variant(sweep.variant, params, recipe=recipe)
        seen.setdefault(variant.key, variant)
    return list(seen.values())


def _zip_axes(sweep: SweepSpec) -> list[list]:
    """One product axis per `zip` group: its i-th point sets every key of the group to its i-th value."""
    where = sweep.variant
    named = [f"r.{k}" for k in sweep.recipe] + list(sweep.params)
    axes = []
    for group in [sweep.zip] if isinstance(sweep.zip, dict) else sweep.zip:
        columns = {}
        for key, value in group.items():
            if key in named:
                raise UserError(f"malformed sweep {where!r}: {key} is listed twice (zip and params/recipe)")
            named.append(key)
            columns[key] = _values(key, value, where)
        lengths = {len(v) for v in columns.values()}
        if len(lengths) > 1:
            raise UserError(f"malformed sweep {where!r}: zip lists differ in length "
                            f"({', '.join(f'{k}: {len(v)}' for k, v in columns.items())})")
        n = lengths.pop() if lengths else 0
        if columns and not n:
            raise UserError(f"malformed sweep {where!r}: zip lists are empty")
        if n:
            axes.append([[(k.startswith("r."), k.removeprefix("r."), v[i]) for k, v in columns.items()]
                         for i in range(n)])
    return axes


def _text(value: Any) -> Any:
    """YAML numbers pass as they are; text (and a boolean, never a number) stays text for
    parse_variant's strict reading."""
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)


def groups(variants: list, max_members: int = 256) -> list[Group]:
    """Stackable sets of `variants` (same family, non-seed params and recipe), cut at `max_members`."""
    if max_members <= 0:
        raise UserError(f"max_members must be positive, got {max_members}")
    sets: dict[str, list] = {}
    for v in variants:
        fixed = {k: x for k, x in v.params.model_dump().items() if k not in SEED_PARAMS}
        key = json.dumps([v.family.name, fixed, [list(o) for o in v.recipe_overrides]], sort_keys=True, default=str)
        sets.setdefault(key if v.family.stackable else v.spec, []).append(v)
    out = []
    for members in sets.values():
        for i in range(0, len(members), max_members):
            chunk = members[i:i + max_members]
            label = chunk[0].spec + (f" x{len(chunk)}" if len(chunk) > 1 else "")
            out.append(Group(tuple(v.spec for v in chunk), label))
    return out
