"""Named probes: a declared set of a family's inputs that analysis runs the model on.

A probe is (name, family, expression); the rows it selects are a subset of the family's
canonical probe (`Family.probe(params)`, for grid tasks the full input grid), in that
probe's order. The expression is one of

- ``all`` (or empty): every row, the canonical probe (its name is `CANONICAL`);
- a filter, e.g. ``a < b``, ``train``, ``test``, ``a + b >= p and not train``: the safe
  language of `workbench.core.probe_filter` over the family's operand names (``a``, ``b``;
  ``p`` too where each row has its own modulus), the constant ``p`` and the split flags;
- an explicit list of operand pairs: ``4+29, 17+96`` (any of + - * x / between the two
  numbers) or tuples ``(4, 29), (17, 96)`` (``(p, a, b)`` where the modulus is an operand);
- rows of the canonical probe by index: ``rows 0-9, 17`` (sequence families: a set of
  their sequences), or sequences written out: ``[3 1 4 1 5], [2 7 1 8 2]``.

A family with no operands (e.g. next-token streams) refuses a filter or a pair list with
the reason; its rows and sequences still select. Interventions and views take a probe by
name through `Store.read_probe` and `select_rows` (interv uses both).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from workbench.core.errors import UserError
from workbench.core.probe_filter import compile_filter

__all__ = ["CANONICAL", "Probe", "probe_kind", "operand_names", "select_rows", "check_probe", "parse_pairs",
           "pairs_text"]

CANONICAL = "canonical"  # the family's own probe: artifacts keep their pre-probe paths
_PAIR = re.compile(r"^\s*(\d+)\s*[-+*x/]\s*(\d+)\s*$")
_TUPLE = re.compile(r"\(([^()]*)\)")
_ROWS = re.compile(r"^\s*rows?\s+(.+)$", re.IGNORECASE)
_SEQ = re.compile(r"\[([^\[\]]*)\]")


@dataclass(frozen=True)
class Probe:
    """A named probe: `expr` over `family`'s canonical probe (see the module docstring)."""

    name: str
    family: str
    expr: str
    description: str = ""

    @property
    def kind(self) -> str:
        return probe_kind(self.expr)

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "family": self.family, "expr": self.expr, "description": self.description}


def probe_kind(expr: str) -> str:
    """"all", "rows", "sequences", "pairs" or "filter" (the syntax decides, before any family is read)."""
    text = expr.strip()
    if text.lower() in ("", "all"):
        return "all"
    if _ROWS.match(text):
        return "rows"
    if text.startswith("["):
        return "sequences"
    if all(_PAIR.match(s) for s in re.split(r"[,;]", text)) or _is_tuples(text):
        return "pairs"
    return "filter"


def _is_tuples(text: str) -> bool:
    """"(4, 29), (17, 96)": tuples of numbers and nothing else (a filter's "(a < b) and train" is not)."""
    inner = _TUPLE.findall(text)
    return bool(inner) and all(re.fullmatch(r"[\d\s,]+", t) for t in inner) and \
        not re.sub(r"[\s,;]", "", _TUPLE.sub("", text))


def operand_names(caps: Mapping[str, Any]) -> dict[str, int]:
    """Operand name -> token column of a family's inputs ({} if it declares none)."""
    if caps.get("modular"):
        i, j = caps["modular"]["operands"]
        return {"a": int(i), "b": int(j)}
    if caps.get("multi_prime"):
        mp = caps["multi_prime"]
        return {"p": int(mp["modulus"]), "a": int(mp["operands"][0]), "b": int(mp["operands"][1])}
    return {}


def _no_operands(caps: Mapping[str, Any], what: str) -> UserError:
    why = "its inputs are token sequences" if caps.get("sequence") else "it declares no operands"
    return UserError(f"this family cannot take a probe {what}: {why}; select its rows ('rows 0-9') or sequences instead")


def parse_pairs(text: str, n: int) -> list[tuple[int, ...]]:
    """Operand tuples of an explicit list ("4+29, 17+96" or "(4, 29), (17, 96)"), each of length n."""
    if _is_tuples(text):
        items = [tuple(int(v) for v in re.split(r"[\s,]+", m.strip()) if v) for m in _TUPLE.findall(text)]
    else:
        parts = [(s, _PAIR.match(s)) for s in re.split(r"[,;]", text) if s.strip()]
        bad = [s for s, m in parts if m is None]
        if bad:
            raise UserError(f"probe list {text!r}: {bad[0].strip()!r} is not an input like 4+29 or (4, 29)")
        items = [tuple(int(g) for g in m.groups()) for _, m in parts]
    bad = [it for it in items if len(it) != n]
    if bad or not items:
        raise UserError(f"probe list {text!r}: each input needs {n} numbers" + (f", got {bad[0]}" if bad else ""))
    return items


def pairs_text(pairs) -> str:
    """An explicit list as probe text: "(4, 29), (17, 96)"."""
    return ", ".join("(" + ", ".join(str(int(v)) for v in pair) + ")" for pair in pairs)


def _rows_of_index(text: str, n_rows: int) -> np.ndarray:
    rows: list[int] = []
    for part in re.split(r"[,\s]+", _ROWS.match(text).group(1).strip()):
        m = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if m is None:
            raise UserError(f"probe rows {text!r}: {part!r} is not a row or a range START-END")
        lo, hi = int(m.group(1)), int(m.group(2) or m.group(1))
        if hi >= n_rows or lo > hi:
            raise UserError(f"probe rows {text!r}: {part!r} is outside rows 0-{n_rows - 1}")
        rows.extend(range(lo, hi + 1))
    return np.array(sorted(set(rows)), dtype=np.int64)


def _match_rows(wanted: list[tuple[int, ...]], table: np.ndarray, what: str) -> np.ndarray:
    """Row of each wanted tuple in `table` [row, n]; UserError naming the first absent one."""
    index = {tuple(int(v) for v in row): i for i, row in reversed(list(enumerate(table)))}
    missing = [w for w in wanted if w not in index]
    if missing:
        raise UserError(f"probe input {missing[0]} is not {what} of this family's probe")
    return np.array(sorted({index[w] for w in wanted}), dtype=np.int64)


def select_rows(expr: str, inputs: np.ndarray, train_mask: np.ndarray, caps: Mapping[str, Any]) -> np.ndarray:
    """The canonical-probe rows a probe expression selects, ascending.

    Args:
        expr: the probe's expression (module docstring).
        inputs: [row, n_ctx] the canonical probe's tokens; train_mask: [row] its split.
        caps: the family's capabilities as a dict.

    Returns:
        [n] int64 row indices. UserError (one line) for a bad expression, an input not in the
        probe, a kind the family cannot take, or a probe that selects nothing.
    """
    kind, names = probe_kind(expr), operand_names(caps)
    inputs = np.asarray(inputs)
    if kind == "all":
        rows = np.arange(len(inputs), dtype=np.int64)
    elif kind == "rows":
        rows = _rows_of_index(expr, len(inputs))
    elif kind == "sequences":
        seqs = [tuple(int(v) for v in m.split()) for m in _SEQ.findall(expr)]
        rows = _match_rows(seqs, inputs, "a sequence")
    elif not names:
        raise _no_operands(caps, "filter" if kind == "filter" else "list of operands")
    elif kind == "pairs":
        rows = _match_rows(parse_pairs(expr, len(names)), inputs[:, list(names.values())], "an input")
    else:
        rows = np.flatnonzero(_filter(expr, inputs, train_mask, caps, names)).astype(np.int64)
    if not len(rows):
        raise UserError(f"probe {expr!r} selects no inputs of this family")
    return rows


def _filter(expr: str, inputs: np.ndarray, train_mask: np.ndarray, caps, names: dict[str, int]) -> np.ndarray:
    declared = {n: "int" for n in names} | {"train": "bool", "test": "bool"}
    env = {n: inputs[:, col].astype(np.int64) for n, col in names.items()}
    if caps.get("modular") and "p" not in names:
        declared["p"], env["p"] = "int", np.int64(caps["modular"]["p"])
    env |= {"train": np.asarray(train_mask, dtype=bool), "test": ~np.asarray(train_mask, dtype=bool)}
    return compile_filter(expr, declared)(env)


def check_probe(expr: str, caps: Mapping[str, Any]) -> None:
    """Refuse (UserError, one line) a probe whose syntax or names this family cannot take,
    before any data is built: `probe add` calls it; `select_rows` checks the rows themselves."""
    kind, names = probe_kind(expr), operand_names(caps)
    if kind in ("filter", "pairs") and not names:
        raise _no_operands(caps, "filter" if kind == "filter" else "list of operands")
    if kind == "filter":
        declared = {n: "int" for n in names} | {"train": "bool", "test": "bool"}
        if caps.get("modular"):
            declared["p"] = "int"
        compile_filter(expr, declared)
    elif kind == "pairs":
        parse_pairs(expr, len(names))
