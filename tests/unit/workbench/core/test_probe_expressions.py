"""Named probes: the filter language, explicit lists, rows and sequences, against hand-built grids."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.core.errors import UserError
from workbench.core.probe_filter import compile_filter
from workbench.core.probes import check_probe, parse_pairs, probe_kind, select_rows

P = 5
GRID = np.array([(a, b, P) for a in range(P) for b in range(P)])  # [25, 3]: a, b, "="
TRAIN = (np.arange(P * P) % 3 == 0)
MODULAR = {"modular": {"p": P, "operation": "add", "operands": (0, 1), "answer": 2}}
SEQUENCE = {"sequence": True}


def _pairs(rows):
    return [tuple(GRID[r, :2]) for r in rows]


@pytest.mark.parametrize("expr, want", [
    ("a < b", lambda a, b, t: a < b),
    ("train", lambda a, b, t: t),
    ("test", lambda a, b, t: not t),
    ("a + b >= p", lambda a, b, t: a + b >= P),
    ("a + b ≥ p and not train", lambda a, b, t: a + b >= P and not t),
    ("(a * b) % 3 == 1 or a = 0", lambda a, b, t: (a * b) % 3 == 1 or a == 0),
    ("-a + 2 * b // 2 != 1", lambda a, b, t: -a + b != 1),
])
def test_a_filter_selects_exactly_the_rows_its_condition_holds_on(expr, want):
    rows = select_rows(expr, GRID, TRAIN, MODULAR)
    expected = [i for i, (a, b, _) in enumerate(GRID) if want(a, b, TRAIN[i])]
    assert rows.tolist() == expected


def test_all_is_every_row_and_lists_rows_sequences_select_in_probe_order():
    assert select_rows("all", GRID, TRAIN, MODULAR).tolist() == list(range(P * P))
    assert _pairs(select_rows("4+1, 1+3", GRID, TRAIN, MODULAR)) == [(1, 3), (4, 1)]
    assert _pairs(select_rows("(2, 2); (0, 4)", GRID, TRAIN, MODULAR)) == [(0, 4), (2, 2)]
    assert select_rows("rows 3-5, 0", GRID, TRAIN, SEQUENCE).tolist() == [0, 3, 4, 5]
    assert select_rows("[1 2 5], [0 0 5]", GRID, TRAIN, SEQUENCE).tolist() == [0, 7]


@pytest.mark.parametrize("expr, kind", [("all", "all"), ("", "all"), ("4+29, 17+96", "pairs"),
                                        ("(4, 29), (17, 96)", "pairs"), ("(a < b) and train", "filter"),
                                        ("rows 1-3", "rows"), ("[1 2 3]", "sequences"), ("a+b", "filter")])
def test_the_syntax_decides_the_kind(expr, kind):
    assert probe_kind(expr) == kind


@pytest.mark.parametrize("expr, says", [
    ("a <", "ends too early"), ("a < c", "unknown name 'c'"), ("a + b", "is a number"),
    ("train + 1", "needs a number"), ("a and b", "needs a condition"), ("(a < b", "not closed"),
    ("a < b < 3", "unexpected '<'"), ("__import__('os')", "unexpected"), ("a # b", "unexpected '#'"),
    ("a % 0 == 1", "by zero"), ("9+9", "is not an input"), ("a < 0", "selects no inputs"),
    ("rows 30", "outside rows"), ("[9 9 9]", "is not a sequence"),
])
def test_a_bad_probe_is_one_user_error_line(expr, says):
    with pytest.raises(UserError, match=None) as err:
        select_rows(expr, GRID, TRAIN, MODULAR)
    assert says in str(err.value) and "\n" not in str(err.value)


def test_a_family_without_operands_refuses_a_filter_or_a_list_with_the_reason():
    for expr in ("a < b", "4+1", "train"):
        with pytest.raises(UserError, match="cannot take a probe .*token sequences"):
            check_probe(expr, SEQUENCE)
    check_probe("rows 0-3", SEQUENCE)  # rows and sequences still select


def test_filters_never_reach_python_eval():
    fn = compile_filter("a < b", {"a": "int", "b": "int"})
    assert fn({"a": np.array([1, 3]), "b": np.array([2, 2])}).tolist() == [True, False]
    with pytest.raises(UserError):
        compile_filter("a.__class__", {"a": "int"})


def test_multi_prime_lists_take_three_numbers_and_p_is_an_operand():
    caps = {"multi_prime": {"modulus": 0, "operands": (1, 2)}}
    table = np.array([(7, 1, 2, 0), (11, 1, 2, 0), (11, 3, 4, 0)])
    assert select_rows("(11, 1, 2)", table, np.ones(3, bool), caps).tolist() == [1]
    assert select_rows("p > 7 and a < b", table, np.ones(3, bool), caps).tolist() == [1, 2]
    assert parse_pairs("1+2", 2) == [(1, 2)]
    with pytest.raises(UserError, match="needs 3 numbers"):
        parse_pairs("1+2", 3)
