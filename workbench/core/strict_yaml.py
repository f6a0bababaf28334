"""YAML for run configs and sweep files: bounded, strict, and quiet about the file's content.

`yaml.safe_load` builds no Python objects, but it reads YAML 1.1: `true`, `on` and `yes`
are booleans (an int field then takes `true` as 1), `1:00` is sexagesimal 60, `010` is
octal 8, `1e23` a float, a repeated key silently takes the last value, and nesting is
recursion (a deep file raises RecursionError; a 50 MB one takes minutes). This loader
reads the plain subset a config needs:

- scalars resolve as YAML 1.2's core schema, narrowed: `null`/`~`/empty, `true`/`false`,
  decimal integers without a leading zero, decimal or exponent floats and `.inf`/`.nan`;
  anything else (`yes`, `1:00`, `010`, `0x1f`, dates) stays text, so a field that wants
  an int refuses it by name (the models use strict ints);
- a key given twice is an error, and so is an alias (`*name`: nothing here needs one, and
  aliases are how a small file expands into a huge document);
- at most `MAX_DEPTH` levels of nesting and `MAX_BYTES` bytes.

Errors name the file, line and column and what is wrong, never the file's content: a
path that is not a config must not come back in an error message.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from workbench.core.errors import UserError

__all__ = ["load_yaml", "read_yaml", "MAX_BYTES", "MAX_DEPTH"]

MAX_BYTES = 256 * 1024  # a config or sweep file is a page of text; this is a hundred pages
MAX_DEPTH = 20  # nesting levels (a config uses 2 or 3)


class _Loader(yaml.SafeLoader):
    """SafeLoader with the narrowed resolvers, no aliases, no duplicate keys, bounded depth."""

    yaml_implicit_resolvers: dict = {}  # first character -> [(tag, pattern)]; filled below

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            raise yaml.composer.ComposerError(None, None, "aliases (*name) are not supported", event.start_mark)
        if getattr(event, "tag", None) not in (None, "!"):  # `!!int 010` would read octal again
            raise yaml.composer.ComposerError(None, None, "explicit tags (!!type) are not supported", event.start_mark)
        self._depth = getattr(self, "_depth", 0) + 1
        try:
            if self._depth > MAX_DEPTH:
                raise yaml.composer.ComposerError(None, None, f"nested more than {MAX_DEPTH} levels deep",
                                                  event.start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node, deep=False):
        seen: set = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, (str, int, float, bool, type(None))):
                raise yaml.constructor.ConstructorError(None, None, "a key must be a plain value", key_node.start_mark)
            if key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"key {str(key)[:40]!r} is given twice",
                                                        key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_RESOLVERS = [  # (tag, pattern, the characters a matching scalar can start with)
    ("null", r"~|null|Null|NULL|", ["~", "n", "N", ""]),  # "": an empty value
    ("bool", r"true|True|TRUE|false|False|FALSE", list("tTfF")),
    ("int", r"[-+]?(?:0|[1-9][0-9]*)", list("-+0123456789")),
    ("float", r"[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)(?:[eE][-+]?[0-9]+)?|[-+]?[0-9]+[eE][-+]?[0-9]+"  # a dot or an exponent
              r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)", list("-+.0123456789")),
]
for _tag, _pattern, _first in _RESOLVERS:  # int before float: the first match wins
    _Loader.add_implicit_resolver(f"tag:yaml.org,2002:{_tag}", re.compile(rf"^(?:{_pattern})$"), _first)


def _where(err: yaml.YAMLError) -> str:
    """'what is wrong (line L, column C)', without the snippet PyYAML quotes from the file."""
    mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
    problem = getattr(err, "problem", None) or "unreadable"
    at = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
    return " ".join(str(problem).split())[:120] + at


def load_yaml(text: str, what: str = "YAML") -> Any:
    """Parse YAML text strictly (module docstring); UserError naming `what` and the problem."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise UserError(f"{what} is larger than {MAX_BYTES // 1024} KiB")
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.YAMLError as err:
        raise UserError(f"{what} is not valid YAML: {_where(err)}") from None
    except RecursionError:  # a construct deeper than the composer counts (flow collections nest too)
        raise UserError(f"{what} is not valid YAML: nested too deep") from None


def read_yaml(path: str | Path, what: str) -> Any:
    """Read a YAML file strictly; UserError (one line naming `what` and the file) if it is
    missing, too large, not UTF-8 or not valid YAML."""
    label = f"{what} {str(path)!r}"
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_BYTES + 1)
    except OSError as err:
        raise UserError(f"{label} cannot be read: {err.strerror or err}") from None
    if len(data) > MAX_BYTES:
        raise UserError(f"{label} is larger than {MAX_BYTES // 1024} KiB")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise UserError(f"{label} is not UTF-8 text") from None
    return load_yaml(text, label)
