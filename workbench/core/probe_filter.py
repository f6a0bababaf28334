"""A small, safe expression language for probe filters: `a < b`, `train`, `a + b >= p and not test`.

Nothing is passed to `eval`: the text is tokenized and parsed here (recursive descent) into
a tree of closures over numpy columns. The names are only those the caller declares (a
family's operand names as int columns, `p` as a constant, `train`/`test` as bool columns);
anything else is one line naming it (`UserError`). Grammar, loosest first:

    or   := and ("or" and)*          and := not ("and" not)*        not := "not" not | cmp
    cmp  := sum (OP sum)?            OP: < <= > >= == != = (and the symbols ≤ ≥ ≠)
    sum  := prod (("+" | "-") prod)* prod := unary (("*" | "%" | "//") unary)*
    unary := "-" unary | atom        atom := INT | NAME | "(" or ")"

Arithmetic is on integers, comparisons give booleans, and/or/not take booleans; the whole
filter must be a boolean.
"""

from __future__ import annotations

import operator
import re
from typing import Callable, Mapping

import numpy as np

from workbench.core.errors import UserError

__all__ = ["compile_filter", "Filter"]

Filter = Callable[[Mapping[str, np.ndarray]], np.ndarray]  # names -> [row] bool
_TOKEN = re.compile(r"\s*(?:(\d+)|([A-Za-z_][A-Za-z0-9_]*)|(<=|>=|==|!=|//|[<>=+\-*%()≤≥≠]))")
_CMP = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq,
        "=": operator.eq, "!=": operator.ne, "≤": operator.le, "≥": operator.ge, "≠": operator.ne}
_ARITH = {"+": operator.add, "-": operator.sub, "*": operator.mul, "%": operator.mod, "//": operator.floordiv}
_WORDS = ("and", "or", "not")


def _tokens(text: str) -> list[str]:
    out, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            if not text[pos:].strip():
                break
            raise UserError(f"probe filter {text!r}: unexpected {text[pos:].strip()[0]!r} at position {pos}")
        out.append(m.group(m.lastindex))
        pos = m.end()
    return out


class _Parser:
    """Recursive descent over the tokens; each rule returns (kind, fn) with kind "int" or "bool"."""

    def __init__(self, text: str, names: Mapping[str, str]):
        self.text, self.names, self.toks, self.i = text, names, _tokens(text), 0

    def fail(self, why: str) -> UserError:
        return UserError(f"probe filter {self.text!r}: {why}")

    def peek(self) -> str | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> str:
        tok = self.peek()
        if tok is None:
            raise self.fail("ends too early")
        self.i += 1
        return tok

    def want(self, kind: str, got: tuple[str, Callable], what: str) -> Callable:
        if got[0] != kind:
            raise self.fail(f"{what} needs {'a number' if kind == 'int' else 'a condition'}, got "
                            f"{'a number' if got[0] == 'int' else 'a condition'}")
        return got[1]

    def parse(self) -> Filter:
        if not self.toks:
            raise self.fail("is empty")
        kind, fn = self.logic("or")
        if self.peek() is not None:
            raise self.fail(f"unexpected {self.peek()!r}")
        if kind != "bool":
            raise self.fail("is a number, not a condition (compare it, e.g. 'a + b >= p')")
        return fn

    def logic(self, word: str) -> tuple[str, Callable]:
        sub = (lambda: self.logic("and")) if word == "or" else self.negation
        left = sub()
        while self.peek() == word:
            self.take()
            lf, rf = self.want("bool", left, word), self.want("bool", sub(), word)
            op = np.logical_or if word == "or" else np.logical_and
            left = ("bool", lambda env, lf=lf, rf=rf, op=op: op(lf(env), rf(env)))
        return left

    def negation(self) -> tuple[str, Callable]:
        if self.peek() == "not":
            self.take()
            fn = self.want("bool", self.negation(), "not")
            return "bool", lambda env: np.logical_not(fn(env))
        return self.comparison()

    def comparison(self) -> tuple[str, Callable]:
        left = self.arith(("+", "-"), self.product)
        if self.peek() in _CMP:
            sym = self.take()
            lf, rf = self.want("int", left, sym), self.want("int", self.arith(("+", "-"), self.product), sym)
            return "bool", lambda env, op=_CMP[sym]: op(lf(env), rf(env))
        return left

    def product(self) -> tuple[str, Callable]:
        return self.arith(("*", "%", "//"), self.unary)

    def arith(self, ops: tuple[str, ...], sub: Callable) -> tuple[str, Callable]:
        left = sub()
        while self.peek() in ops:
            sym = self.take()
            lf, rf = self.want("int", left, sym), self.want("int", sub(), sym)
            left = ("int", lambda env, lf=lf, rf=rf, sym=sym: _apply(sym, lf(env), rf(env)))
        return left

    def unary(self) -> tuple[str, Callable]:
        if self.peek() == "-":
            self.take()
            fn = self.want("int", self.unary(), "-")
            return "int", lambda env: -fn(env)
        return self.atom()

    def atom(self) -> tuple[str, Callable]:
        tok = self.take()
        if tok == "(":
            inner = self.logic("or")
            if self.peek() != ")":
                raise self.fail("a '(' is not closed")
            self.take()
            return inner
        if tok.isdigit():
            return "int", lambda env, v=int(tok): np.int64(v)
        if tok in self.names:
            return self.names[tok], lambda env, n=tok: env[n]
        if re.fullmatch(r"[A-Za-z_]\w*", tok) and tok not in _WORDS:
            raise self.fail(f"unknown name {tok!r}; this family's are {', '.join(self.names)}")
        raise self.fail(f"unexpected {tok!r}")


def _apply(sym: str, left, right):
    if sym in ("%", "//") and np.any(np.asarray(right) == 0):
        raise UserError(f"probe filter: {'modulo' if sym == '%' else 'division'} by zero")
    return _ARITH[sym](np.asarray(left, dtype=np.int64), np.asarray(right, dtype=np.int64))


def compile_filter(text: str, names: Mapping[str, str]) -> Filter:
    """Parse a filter over `names` (name -> "int" or "bool") into env -> [row] bool.

    Raises:
        UserError (one line) for a syntax error, an unknown name, a type mismatch, or a
        filter that is not a condition.
    """
    fn = _Parser(text, names).parse()

    def run(env: Mapping[str, np.ndarray]) -> np.ndarray:
        return np.asarray(fn(env), dtype=bool)

    return run
