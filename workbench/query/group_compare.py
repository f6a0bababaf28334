"""Several run groups side by side: per quantity each group's spread, and each group against the first.

The compare page's group table (workbench.ui.dashboard.compare_groups) and the offline report of
several groups (workbench.ui.groups_report) both show this table. A difference is marked
"differs" only when Welch's t and the permutation test over seeds both give p < ALPHA
(`workbench.query.stats.compare`); 3 runs a side can never reach it with the exact test.
"""

from __future__ import annotations

from workbench.query.group_listing import run_name
from workbench.query.groups import Group
from workbench.query.outliers import RULE, group_outliers, outlier_line
from workbench.query.stats import ALPHA, compare

__all__ = ["QUANTITIES", "NOTE", "comparison_table", "spread_rows", "difference_rows"]

QUANTITIES = ("test_acc", "test_loss", "train_acc", "turn_onset_epoch")  # the table's rows, where present
NOTE = (f"mean ± std [95% bootstrap interval of the mean]; a difference is marked \"differs\" when Welch's t "
        f"and the permutation test over seeds (exact up to 20,000 relabellings) both give p < {ALPHA}; "
        "3 runs a side can never reach it (the smallest exact p is 0.1); outliers, over every final metric, marker "
        f"and numeric headline: {RULE}")


def _values(g: Group | None, quantity: str) -> tuple:
    return g.values.get(quantity, ()) if g is not None else ()


def _cell(g: Group | None, quantity: str) -> str:
    s = g.stats.get(quantity) if g is not None else None
    return s.brief() if s is not None else "-"


def _difference(first: Group | None, other: Group | None, quantity: str) -> str:
    a, b = _values(first, quantity), _values(other, quantity)
    if len(a) < 2 or len(b) < 2:
        return "needs 2+ runs a side"
    return compare(a, b).brief()


def _outliers(g: Group | None) -> str:
    found = group_outliers(g) if g is not None else []
    return outlier_line(found, lambda spec: run_name(g, spec)) if found else "none"


def comparison_table(names: list[str], sizes: list[int], groups: list[Group | None],
                     quantities: tuple[str, ...] = QUANTITIES) -> tuple[list[str], list[list[str]]]:
    """(header, rows): per quantity each group's spread, then each later group against the first; outliers last.

    Args:
        names: each group's name; sizes: its number of runs; groups: its statistics (None: a run alone).
    """
    present = [q for q in quantities if any(g is not None and q in g.stats for g in groups)]
    tested = [i for i, g in enumerate(groups) if i and g is not None]  # a lone run has no spread to test
    head = ["quantity", *[f"{n} (n={k})" for n, k in zip(names, sizes)], *[f"{names[i]} vs {names[0]}" for i in tested]]
    body = [[q, *[_cell(g, q) for g in groups], *[_difference(groups[0], groups[i], q) for i in tested]]
            for q in present]
    body.append(["outliers", *[_outliers(g) for g in groups], *[""] * len(tested)])
    return head, body


def spread_rows(names: list[str], groups: list[Group], quantities: tuple[str, ...] = QUANTITIES
                ) -> tuple[list[str], list[list[str]]]:
    """(header, rows) with one row per group (a grid of many cells reads down, not across): n, each quantity's spread, outliers."""
    present = [q for q in quantities if any(q in g.stats for g in groups)]
    return (["group", "n", *present, "outliers"],
            [[name, str(g.n), *[_cell(g, q) for q in present], _outliers(g)] for name, g in zip(names, groups)])


def difference_rows(names: list[str], groups: list[Group], quantities: tuple[str, ...] = QUANTITIES
                    ) -> tuple[list[str], list[list[str]]]:
    """(header, rows): each later group against the first, one row per group, one column per quantity."""
    present = [q for q in quantities if any(q in g.stats for g in groups)]
    return (["group", *present],
            [[names[i], *[_difference(groups[0], groups[i], q) for q in present]] for i in range(1, len(groups))])
