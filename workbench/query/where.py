"""`workbench list --where CLAUSE --sort FIELDS`: filter and order runs by what the index knows.

A clause is comparisons joined by `and` / `or` (and binds tighter), optionally negated
with `not` and grouped with parentheses:

    p=113 and turn<10000
    (lr>=1e-3 or r.weight_decay=0.5) and not family=least_action
    test_acc>0.99 and key_freqs=none

A comparison is FIELD OP VALUE with OP one of = == != < <= > >=. FIELD names

- a run field: `family`, `variant` (the spec), `config`, `epochs` (trained), `target`
  (the planned epochs), `checkpoints` (how many);
- a parameter (`p`, `seed`, ...) or a recipe field with an `r.` prefix (`r.lr`);
- a final metric (`test_acc`, `train_loss`, a family's extras such as `wnorm`);
- an epoch marker by name (`turn_onset_epoch`), by label (`turn_onset`) or by the analyzer
  that declares it (`turn` is its first marker, the onset);
- a headline (`key_freqs`, as "8,19,41" or "none"), compared as text;
- `tag`: `tag=baseline` keeps the runs tagged baseline, `tag!=baseline` the others
  (`workbench tag`); `note` compares the whole note as text.

VALUE is a number or a word (quote it, '...' or "...", to include blanks). Numbers compare
as numbers, anything else as text, where only = and != apply. A run that lacks the field
(say, not analyzed) matches no comparison on it. The clause is parsed here into a small
tree and evaluated in Python over the rows; it never becomes SQL. Anything malformed is
one UserError line naming the problem.
"""

from __future__ import annotations

import math
import operator
import re
from typing import Any, Callable

from workbench.core.analyzer import get_analyzer, list_analyzers
from workbench.core.errors import UserError
from workbench.core.family import get_family, list_families
from workbench.core.recipe import Recipe
from workbench.store.markers import marker_names

__all__ = ["parse_where", "check_fields", "parse_sort", "sort_rows", "row_fields", "MAX_CLAUSE"]

MAX_CLAUSE = 2000  # characters: a clause is typed by a person
MAX_DEPTH = 50  # nested parentheses and `not`s: the parser (and the test it builds) recurse once per level
_TOKEN = re.compile(r"""\s*(?:(?P<op><=|>=|!=|==|=|<|>)|(?P<paren>[()])|'(?P<sq>[^']*)'|"(?P<dq>[^"]*)"|(?P<word>[^\s()<>=!'"]+))""")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*", re.ASCII)
_NUMBER = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]{1,4})?", re.ASCII)
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq, "==": operator.eq, "!=": operator.ne,
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}  # operator token -> test


# ---------------------------------------------------------------------- fields
def _marker_aliases() -> dict[str, str]:
    """Every name a marker answers to -> the marker: its name, its label, its analyzer (first marker)."""
    out: dict[str, str] = {}
    for marker, analyzer in marker_names().items():
        out.setdefault(analyzer, marker)
        out[marker.removesuffix("_epoch")] = marker
        out[marker] = marker
    return out


def row_fields(row: dict, aliases: dict[str, str] | None = None) -> dict[str, Any]:
    """{field name: value} a clause can name in this index row (see module docstring)."""
    aliases = _marker_aliases() if aliases is None else aliases
    ckpts = row.get("checkpoints") or []
    fields: dict[str, Any] = {"family": row.get("family"), "variant": row.get("spec"), "config": row.get("config"),
                              "epochs": ckpts[-1] if ckpts else 0, "target": row.get("epochs"),
                              "checkpoints": len(ckpts), "tag": frozenset(row.get("tags") or ()),
                              "note": row.get("note")}
    fields.update(row.get("params") or {})
    fields.update({f"r.{k}": v for k, v in (row.get("recipe") or {}).items()})
    fields.update(row.get("metrics") or {})
    fields.update(row.get("headlines") or {})
    markers = row.get("markers") or {}
    fields.update({alias: markers[m] for alias, m in aliases.items() if m in markers})
    return fields


def _known_names(rows: list[dict], aliases: dict[str, str]) -> set[str]:
    """Every field any family, the recipe, a marker or a row defines (an unknown name is a typo)."""
    names = {"family", "variant", "config", "epochs", "target", "checkpoints", "tag", "note", *aliases}
    names |= {f for fam in list_families() for f in get_family(fam).Params.model_fields}
    names |= {f"r.{f}" for f in Recipe.model_fields}
    names |= {"train_loss", "train_acc", "test_loss", "test_acc", "epoch"}

    names |= {h for a in list_analyzers() for h in get_analyzer(a).headlines.values()}
    for row in rows:
        names |= set(row.get("headlines") or {})  # with the percentiles against nulls (store.markers.PCTL_SUFFIX)
        names |= set(row.get("metrics") or {})
    return names


# ---------------------------------------------------------------------- parser
def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos, text = [], 0, text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise UserError(f"malformed --where {text!r}: cannot read {text[pos:pos + 20].strip()!r}")
        kind = m.lastgroup
        out.append(("value" if kind in ("sq", "dq") else kind, m.group(kind)))
        pos = m.end()
    return out


class _Parser:
    """Recursive descent: or_ := and_ ('or' and_)*; and_ := not_ ('and' not_)*; not_ := 'not' not_ | atom."""

    def __init__(self, text: str):
        self.text, self.names, self.toks, self.i, self.depth = text, [], _tokens(text), 0, 0

    def fail(self, problem: str) -> UserError:
        return UserError(f"malformed --where {self.text!r}: {problem}")

    def peek(self) -> tuple[str, str] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> tuple[str, str]:
        tok = self.peek()
        if tok is None:
            raise self.fail("it ends too soon")
        self.i += 1
        return tok

    def keyword(self, word: str) -> bool:
        tok = self.peek()
        if tok and tok[0] == "word" and tok[1].lower() == word:
            self.i += 1
            return True
        return False

    def parse(self) -> Callable[[dict], bool]:
        if not self.toks:
            raise self.fail("it is empty")
        test = self.or_()
        if self.peek() is not None:
            raise self.fail(f"unexpected {self.peek()[1]!r}; join comparisons with 'and' or 'or'")
        return test

    def or_(self):
        parts = [self.and_()]
        while self.keyword("or"):
            parts.append(self.and_())
        return parts[0] if len(parts) == 1 else (lambda f: any(p(f) for p in parts))

    def and_(self):
        parts = [self.not_()]
        while self.keyword("and"):
            parts.append(self.not_())
        return parts[0] if len(parts) == 1 else (lambda f: all(p(f) for p in parts))

    def not_(self):
        if self.keyword("not"):
            inner = self.nested(self.not_)
            return lambda f: not inner(f)
        if self.peek() == ("paren", "("):
            self.take()
            inner = self.nested(self.or_)
            if self.take() != ("paren", ")"):
                raise self.fail("a '(' is not closed")
            return inner
        return self.comparison()

    def nested(self, parse):
        """`parse()` one level deeper; refused past MAX_DEPTH (a RecursionError otherwise, under the length limit)."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail(f"more than {MAX_DEPTH} nested parentheses or 'not's")
        try:
            return parse()
        finally:
            self.depth -= 1

    def comparison(self):
        kind, name = self.take()
        if kind != "word" or not _NAME.fullmatch(name):
            raise self.fail(f"expected a field name, found {name!r}")
        self.names.append(name)
        kind, op = self.take()
        if kind != "op":
            raise self.fail(f"expected one of = != < <= > >= after {name!r}, found {op!r}")
        kind, value = self.take()
        if kind not in ("word", "value"):
            raise self.fail(f"expected a value after {name} {op}, found {value!r}")
        return _compare(name, op, _value(value) if kind == "word" else value, self.fail)


def _value(word: str) -> float | str:
    return float(word) if _NUMBER.fullmatch(word) else word


def _compare(name: str, op: str, value: float | str, fail) -> Callable[[dict], bool]:
    if isinstance(value, str) and op not in ("=", "==", "!="):
        raise fail(f"{name} {op} {value!r}: only = and != compare text")
    test = _OPS[op]

    def check(fields: dict) -> bool:
        have = fields.get(name)
        if have is None:
            return False
        if isinstance(have, frozenset):  # tags: = asks "has it", != "has it not"; they have no order
            word = format(value, "g") if isinstance(value, float) else value
            return op in ("=", "==", "!=") and (word in have) == (op != "!=")
        if isinstance(value, float):
            if isinstance(have, bool) or not isinstance(have, (int, float)) or math.isnan(have):
                return op == "!="
            return test(float(have), value)
        return test(_text(have), value)

    return check


def _text(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return "+".join(_text(v) for v in value)
    if isinstance(value, frozenset):
        return "+".join(sorted(value))
    return str(value).lower() if isinstance(value, bool) or value is None else str(value)


def parse_where(text: str) -> tuple[Callable[[dict], bool], list[str]]:
    """(a predicate over index rows, the field names it uses) for `text`; check the names
    with `check_fields` once the rows are known.

    Raises:
        UserError (one line) for a malformed clause.
    """
    if len(text) > MAX_CLAUSE:
        raise UserError(f"--where is {len(text):,} characters, more than {MAX_CLAUSE:,}")
    parser = _Parser(text)
    test, aliases = parser.parse(), _marker_aliases()
    return (lambda row: test(row_fields(row, aliases))), parser.names


def check_fields(option: str, names: list[str], rows: list[dict]) -> None:
    """UserError naming the first of `names` that no family, recipe, marker, headline or row defines."""
    known = _known_names(rows, _marker_aliases())
    unknown = [n for n in names if n not in known]
    if unknown:
        raise UserError(f"{option}: unknown field {unknown[0]!r} (a parameter, r.FIELD, a final metric, "
                        "an epoch marker, a headline, or family, variant, config, epochs, target, checkpoints)")


# ------------------------------------------------------------------------ sort
def parse_sort(spec: str) -> list[tuple[str, bool]]:
    """'-test_acc,p' -> [("test_acc", True), ("p", False)] (name, descending); UserError if malformed."""
    keys = [(k.strip().removeprefix("-"), k.strip().startswith("-")) for k in spec.split(",")]
    bad = [name for name, _ in keys if not _NAME.fullmatch(name)]
    if bad or not keys:
        raise UserError(f"malformed --sort {spec!r}: expected FIELD or -FIELD, comma-separated")
    return keys


def sort_rows(rows: list[dict], keys: list[tuple[str, bool]]) -> list[dict]:
    """Rows ordered by `parse_sort` keys; runs lacking a field come last, whatever the direction."""
    aliases = _marker_aliases()
    fields = [row_fields(r, aliases) for r in rows]
    order = list(range(len(rows)))
    for name, desc in reversed(keys):  # stable sorts, last key first
        present = [i for i in order if fields[i].get(name) is not None]
        absent = [i for i in order if fields[i].get(name) is None]
        present.sort(key=lambda i: _sort_key(fields[i][name]), reverse=desc)
        order = present + absent
    return [rows[i] for i in order]


def _sort_key(value: Any) -> tuple:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (0, float(value), "")
    return (1, 0.0, _text(value))
