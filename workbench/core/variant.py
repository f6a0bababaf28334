"""Variant specs: `family:key=value,...`, resolved against the family's params model.

The directory name of a variant lists its params (defaults included) in field order,
`key=value,...`, so it is deterministic and round-trips through `parse_variant`. Two
exceptions keep existing runs' names stable: a param declared `in_name: when_set` (see
workbench.core.family) is listed only when it differs from its default, and recipe overrides
follow as `r.FIELD=VALUE` (Recipe field order) only when they differ from the family's
recipe, e.g. `p=97,...,r.weight_decay=1.0,r.lr_schedule=warmup`. An override's value may
be `none` (for optional fields) or `a+b` (for tuples such as betas or no_decay).

Values are read strictly, so that one variant has one spelling and one directory:

- an integer parameter takes plain ASCII decimal digits with an optional sign (`13`,
  `-2`); full-width digits (`１３`), underscores (`1_3`), `13.0`, hex and blanks inside
  are refused, though Python's `int()` would accept most of them;
- a float parameter takes an ASCII decimal or scientific number (`0.3`, `.3`, `3e-4`);
  `inf` and `nan` reach the params model, whose bounds refuse them by name;
- a key given twice (`p=13,p=17`) is an error, not "the last one wins";
- a float zero is stored as `0.0`, so `weight_decay=-0.0` is the same variant (and the
  same directory) as `weight_decay=0`.

Every refusal is a `UserError` naming the parameter and the value.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from workbench.core.errors import UserError
from workbench.core.family import Family, get_family, list_families
from workbench.core.recipe import Recipe, steps_per_epoch

__all__ = ["Variant", "parse_variant", "format_value", "demo_variant", "short_label"]

_INT = re.compile(r"[+-]?[0-9]{1,30}", re.ASCII)  # 30 digits is far past any bound; longer is refused
_FLOAT = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]{1,4})?|[+-]?(inf|infinity|nan)", re.ASCII | re.I)


def format_value(value: Any) -> str:
    if isinstance(value, (tuple, list)):
        return "+".join(format_value(v) for v in value)
    if value is None:
        return "none"
    return repr(value) if isinstance(value, float) else str(value)


def _named_when_set(field) -> bool:
    extra = field.json_schema_extra
    return isinstance(extra, dict) and extra.get("in_name") == "when_set"


@dataclass(frozen=True)
class Variant:
    """A family plus fully resolved params and the recipe fields this run overrides."""

    family: Family
    params: BaseModel
    recipe_overrides: tuple[tuple[str, Any], ...] = ()  # (Recipe field, value), in Recipe field order

    @property
    def recipe(self) -> Recipe:
        """The family's recipe for these params with this run's overrides applied."""
        base = self.family.recipe(self.params)
        return base.model_validate({**base.model_dump(), **dict(self.recipe_overrides)}) if self.recipe_overrides else base

    @functools.cached_property
    def steps_per_epoch(self) -> int:
        """Optimizer steps in one epoch: the recipe's batches over the family's training rows."""
        return steps_per_epoch(self.recipe, int(self.family.data(self.params).train_mask.sum()))

    @property
    def dir_name(self) -> str:
        """The run's name in the store (`RunKey.variant`): the spec without the family. The store
        keeps it as the directory name when it fits NAME_MAX and shortens a longer one to a
        prefix and a hash (workbench.store._layout.variant_dir); the name itself is never cut."""
        fields = type(self.params).model_fields
        parts = [f"{k}={format_value(v)}" for k, v in self.params.model_dump().items()
                 if not (_named_when_set(fields[k]) and v == fields[k].default)]
        return ",".join(parts + [f"r.{k}={format_value(v)}" for k, v in self.recipe_overrides])

    @property
    def spec(self) -> str:
        return f"{self.family.name}:{self.dir_name}"

    @property
    def key(self) -> tuple[str, str]:
        return (self.family.name, self.dir_name)

    def __str__(self) -> str:
        return self.spec


def _parse_pairs(text: str, spec: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = part.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key or not value:
            raise UserError(f"malformed variant {spec!r}: {part!r} is not key=value")
        if key in pairs:
            raise UserError(f"malformed variant {spec!r}: parameter {key!r} is given twice")
        pairs[key] = value
    return pairs


def _typed(family: Family, key: str, value: Any, annotation: Any) -> Any:
    """A spec's string value as the field's type, read strictly (module docstring)."""
    origin, args = get_origin(annotation), get_args(annotation)
    if isinstance(value, str) and origin in (Union, getattr(__import__("types"), "UnionType", Union)):
        if value.lower() == "none" and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _typed(family, key, value, inner[0]) if len(inner) == 1 else value
    if isinstance(value, str) and origin is tuple:
        items = value.split("+")
        kinds = args if len(args) == len(items) and Ellipsis not in args else [args[0] if args else str] * len(items)
        return tuple(_typed(family, key, v, a) for v, a in zip(items, kinds)) if value else ()
    if isinstance(value, str) and get_origin(annotation) is None and annotation in (int, float):
        pattern, kind = (_INT, "a plain decimal integer") if annotation is int else (_FLOAT, "a plain decimal number")
        if not pattern.fullmatch(value):
            raise UserError(f"invalid parameter {key!r} for family {family.name!r}: {value!r} is not {kind}")
        value = int(value) if annotation is int else float(value)
    if isinstance(value, float) and value == 0:
        return 0.0  # -0.0 is 0.0: one variant, one directory
    return value


def _first_error(family: Family, err: ValidationError) -> str:
    e = err.errors()[0]
    field = ".".join(str(x) for x in e["loc"])
    msg = e["msg"].removeprefix("Value error, ")
    if not field:  # a model validator: a rule over several parameters
        return f"invalid parameters for family {family.name!r}: {msg}"
    got = e.get("input")
    if isinstance(got, (int, float, str)) and str(got) not in msg:
        msg += f", got {got!r}"
    return f"invalid parameter {field!r} for family {family.name!r}: {msg}"


def parse_variant(spec: str, overrides: dict[str, Any] | None = None,
                  recipe: dict[str, Any] | None = None) -> Variant:
    """Resolve 'family[:k=v,...,r.field=v,...]' (plus optional overrides) to a `Variant`.

    Args:
        spec: the variant spec; `r.FIELD=VALUE` entries override recipe fields.
        overrides: params that replace the spec's.
        recipe: recipe fields that replace the spec's `r.` entries (from --set or --config).
    Raises:
        UserError naming the problem: unknown family, unknown, repeated or mistyped param or
        recipe field, or a value the family's or the recipe's validators reject.
    """
    if not isinstance(spec, str):  # e.g. a variant.json whose "variant" is a number
        raise UserError(f"a variant spec is text like 'family:key=value', got {type(spec).__name__} {spec!r}")
    name, _, rest = spec.strip().partition(":")
    family = get_family(name.strip())
    pairs = _parse_pairs(rest, spec)
    raw: dict[str, Any] = {k: v for k, v in pairs.items() if not k.startswith("r.")} | (overrides or {})
    fields = family.Params.model_fields
    unknown = [k for k in raw if k not in fields]
    if unknown:
        raise UserError(f"unknown parameter {unknown[0]!r} for family {family.name!r}; valid: {', '.join(fields)}"
                        " (recipe fields take an 'r.' prefix)")
    raw = {k: _typed(family, k, v, fields[k].annotation) for k, v in raw.items()}
    try:
        params = family.Params.model_validate(raw)
    except ValidationError as err:
        raise UserError(_first_error(family, err)) from None
    asked = {k[2:]: v for k, v in pairs.items() if k.startswith("r.")} | (recipe or {})
    return Variant(family, params, _recipe_overrides(family, params, asked))


def _recipe_overrides(family: Family, params: BaseModel, asked: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    """Validated overrides that differ from the family's recipe, in Recipe field order."""
    fields = Recipe.model_fields
    unknown = [k for k in asked if k not in fields]
    if unknown:
        raise UserError(f"unknown recipe field {unknown[0]!r}; valid: {', '.join(fields)}")
    typed = {k: _typed(family, f"r.{k}", v, fields[k].annotation) for k, v in asked.items()}
    base = family.recipe(params)
    try:
        merged = Recipe.model_validate({**base.model_dump(), **typed})
    except ValidationError as err:
        e = err.errors()[0]
        where = ".".join(str(x) for x in e["loc"])
        raise UserError(f"invalid recipe{' field r.' + where if where else ''}: "
                        f"{e['msg'].removeprefix('Value error, ')}") from None
    return tuple((k, getattr(merged, k)) for k in fields if k in typed and getattr(merged, k) != getattr(base, k))


def demo_variant() -> tuple[str, dict[str, Any]]:
    """The embedded demo variant's spec and plan ({"params", "epochs", "schedule", ...}): the
    first registered family that declares a `demo` (what `workbench train` alone trains)."""
    name = next((f for f in list_families() if get_family(f).demo), None)
    if name is None:
        raise UserError("no family declares a demo variant")
    demo = get_family(name).demo
    return parse_variant(name, demo["params"]).spec, demo


def short_label(family_name: str, name: str) -> str:
    """A run's name cut to what differs from its family's defaults, for a progress bar or a table.

    e.g. 'modular_addition:p=97,r.lr=0.003' for `name` (a `Variant.dir_name`) 'p=97,seed=999,...'
    whose other params are the defaults; the family alone when nothing differs. Recipe overrides
    (`r.FIELD`) always differ, so they stay. A family that is not installed keeps the whole name.
    """
    try:
        fields = get_family(family_name).Params.model_fields
    except UserError:
        return f"{family_name}:{name}"
    kept = []
    for part in filter(None, name.split(",")):
        key, _, value = part.partition("=")
        info = fields.get(key)
        if info is None or value != format_value(info.get_default(call_default_factory=True)):
            kept.append(part)
    return f"{family_name}:{','.join(kept)}" if kept else family_name
