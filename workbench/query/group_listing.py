"""`workbench list --group` and `workbench.list_groups`: one row per run group, with spread.

Each row names the group by the params that set it apart from the other groups of its
family (the params they all share are printed once above), then n and mean ± std [95%
bootstrap interval of the mean] of the main quantities: test accuracy, test loss and the
first epoch marker found (the turn's onset). A line under it gives every other final
metric, marker and headline the same way, names each run left out of a quantity with
the reason, and, where a group has any, its outliers (`workbench.query.outliers`: runs more
robust (MAD) spreads from the group's median than 3 or the 95% null for n normal runs). `--where` takes the run language (workbench.query.where) over a group's shared
params, r.FIELDs, its n and the group means of metrics, markers and numeric headlines.
"""

from __future__ import annotations

import textwrap

from workbench.core.errors import UserError
from workbench.query.groups import Group, agreement, group_rows, seed_summary
from workbench.query.outliers import RULE, group_outliers, outlier_line, threshold
from workbench.query.stats import BOOTSTRAP_SEED, RESAMPLES
from workbench.query.where import check_fields, parse_where
from workbench.store import Store
from workbench.store.index import run_rows

__all__ = ["GroupTable", "group_table", "find_group", "format_groups", "group_fields_row", "group_names", "run_name"]

WIDTH = 120  # columns the listing fits
MAIN = ("test_acc", "test_loss", "train_acc")  # a row shows these (and the first marker after test_acc) while they fit


class GroupTable(list):
    """The run groups a listing shows (`Group`s), with the runs in no group; prints as `workbench list --group`."""

    def __init__(self, groups: list[Group], outside: list[tuple[str, str]], total: int, where: str | None = None):
        super().__init__(groups)
        self.outside, self.total, self.where = outside, total, where

    def records(self) -> list[dict]:
        """One flat dict per group (group, n, and <quantity>_mean/_std/_lo/_hi/_min/_max), e.g. for pandas."""
        out = []
        for g in self:
            rec = {"family": g.family, "group": g.label, "n": g.n, **g.params}
            for name, s in g.stats.items():
                rec.update({f"{name}_{k}": getattr(s, k) for k in ("mean", "std", "lo", "hi", "min", "max")})
            out.append(rec)
        return out

    def __str__(self) -> str:
        return format_groups(self)

    def _repr_pretty_(self, printer, cycle) -> None:  # IPython shows the table, not a list of dataclasses
        printer.text(str(self))


def group_fields_row(g: Group) -> dict:
    """An index-row-shaped dict of the group for `--where` (workbench.query.where.row_fields)."""
    means = {k: s.mean for k, s in g.stats.items()}
    texts = {k: v[0] for k, v in g.texts.items() if len(set(v)) == 1}  # text compares only where all runs agree
    markers = {k: means.pop(k) for k in list(means) if k.endswith("_epoch")}
    return {"family": g.family, "spec": g.spec, "config": None, "epochs": g.epochs, "checkpoints": [g.epochs],
            "params": g.params, "recipe": g.recipe, "metrics": {**means, "n": g.n}, "markers": markers,
            "headlines": texts}


def group_table(store: Store, where: str | None = None) -> GroupTable:
    """The store's run groups (see module docstring), those matching `where` when given.

    Raises:
        UserError (one line) for a malformed or unknown `where`, or a store that cannot be read.
    """
    test, names = parse_where(where) if where is not None else (None, [])
    if store.root.exists() and not store.root.is_dir():
        raise UserError(f"store {str(store.root)!r} is not a directory")
    try:
        rows = run_rows(store)
    except OSError as err:
        raise UserError(f"cannot list store {str(store.root)!r}: {err.strerror or err}") from None
    groups, outside = group_rows(rows)
    pseudo = [group_fields_row(g) for g in groups]
    check_fields("--where", names, pseudo)
    if test is not None:
        groups = [g for g, row in zip(groups, pseudo) if test(row)]
        matching = {r.get("spec") for r in rows if not r.get("damaged_record") and test(r)}
        outside = [(spec, why) for spec, why in outside if spec in matching]  # a run in no group, by the run's fields
    return GroupTable(groups, outside, len(rows), where)


def find_group(store: Store, group: Group | str) -> Group:
    """One group: itself, the group whose spec or label is `group`, or the one group a `--where` clause selects.

    Raises:
        UserError (one line) when no group or several match, or for a malformed clause.
    """
    if isinstance(group, Group):
        return group
    every = group_table(store)
    named = [g for g in every if group in (g.spec, g.label)]
    found = named or list(group_table(store, where=group))
    if len(found) != 1:
        names = "; ".join(group_names(found or list(every))) or "none in the store"
        raise UserError(f"{len(found)} run groups match {group!r}; " + ("narrow it: " if found else "groups: ") + names)
    return found[0]


# ------------------------------------------------------------------ format
def _distinct(groups: list[Group]) -> dict[str, list[str]]:
    """family -> the param/recipe names whose value differs between its groups (epochs as 'epochs')."""
    out: dict[str, list[str]] = {}
    for fam in dict.fromkeys(g.family for g in groups):
        mine = [_settings(g) for g in groups if g.family == fam]
        keys = dict.fromkeys(k for s in mine for k in s)
        out[fam] = [k for k in keys if len({repr(s.get(k)) for s in mine}) > 1]
    return out


def _settings(g: Group) -> dict:
    seeds = set(g.seeds)
    return {**{k: v for k, v in g.params.items() if k not in seeds}, **{f"r.{k}": v for k, v in g.recipe.items()},
            "epochs": g.epochs}


def _name(g: Group, keys: list[str]) -> str:
    s = _settings(g)
    named = [f"{k}={s.get(k)}" for k in keys]
    named += [f"{k}={seed_summary(v)}" for k, v in g.seeds.items() if len(set(v)) > 1]
    return " ".join(named)


def group_names(groups: list[Group]) -> list[str]:
    """A short name per group: the params that set it apart from its family's other groups
    (and its varying seeds), led by the family where several are listed."""
    distinct, families = _distinct(groups), {g.family for g in groups}
    return [(f"{g.family} " if len(families) > 1 else "") + (_name(g, distinct[g.family]) or g.label) for g in groups]


def _cell(g: Group, name: str) -> str:
    s = g.stats.get(name)
    return f"{name.removesuffix('_epoch')} " + (s.brief() if s else "-")


def _left_out(g: Group) -> list[str]:
    """'    left out of key_freqs, key_source: seed=1|2 (key_frequencies not run)', one line per reason."""
    by_reason: dict[str, tuple[list[str], list[str]]] = {}
    for spec, quantity, why in g.missing:
        runs, quantities = by_reason.setdefault(why, ([], []))
        runs.append(spec) if spec not in runs else None
        quantities.append(quantity) if quantity not in quantities else None
    lines = []
    for why, (runs, quantities) in by_reason.items():
        who = ", ".join(run_name(g, spec) for spec in runs)
        lines.append(f"    left out of {', '.join(quantities)}: {who} ({why})")
    return lines


def run_name(g: Group, spec: str) -> str:
    """A run of the group by its seed params ('seed=3'), the spec where they do not tell it apart."""
    i = g.runs.index(spec)
    named = ",".join(f"{k}={v[i]}" for k, v in g.seeds.items() if len(set(v)) > 1)
    return named if named and sum(1 for j in range(g.n) if all(v[j] == v[i] for v in g.seeds.values())) == 1 else spec


def _detail(g: Group, shown: set[str]) -> list[str]:
    parts = [_cell(g, n) for n in g.stats if n not in shown]
    parts += [f"{n} {agreement(v)}" for n, v in g.texts.items()]
    lines = textwrap.wrap("; ".join(parts), WIDTH, initial_indent="    ", subsequent_indent="      ")
    return lines + _left_out(g) + _outliers(g)


def _outliers(g: Group) -> list[str]:
    """'    outliers (> 7.8 MAD spreads from the median, ...): seed=4: test_acc 0.2 (-53.4 spreads)', or nothing."""
    found = group_outliers(g)
    if not found:
        return []
    text = (f"outliers (> {threshold(g.n):.2g} MAD spreads from the median, the 95% null at n={g.n}): "
            + outlier_line(found, lambda s: run_name(g, s)))
    return ["    " + textwrap.shorten(text, WIDTH - 4, placeholder=" ...")]  # shorten drops leading spaces


def _header(table: GroupTable) -> list[str]:
    match = f" matching {table.where!r}" if table.where is not None else ""
    lines = textwrap.wrap(f"{len(table)} run group{'' if len(table) == 1 else 's'}{match} ({sum(g.n for g in table)} of the store's {table.total} runs); "
                          f"mean ± std [95% bootstrap interval of the mean, {RESAMPLES:,} resamples, seed "
                          f"{BOOTSTRAP_SEED}]; outliers: {RULE}", WIDTH)
    return lines


def _family_line(table: GroupTable, fam: str, distinct: list[str]) -> list[str]:
    """'modular_addition (seed params seed, data_seed): shared frac_train=0.4, ..., r.lr=0.003, epochs=3500'."""
    first = next(g for g in table if g.family == fam)
    skip = set(distinct) | set(first.seeds)
    tokens = [t for t in first.label.split(",") if t.split("=", 1)[0] not in skip]
    shared = [*tokens, f"epochs={first.epochs}"] if "epochs" not in distinct else tokens
    return textwrap.wrap(f"{fam} (seed params {', '.join(first.seeds)}): shared {', '.join(shared)}", WIDTH,
                         subsequent_indent="    ")


def _row(g: Group, keys: list[str]) -> tuple[str, set[str]]:
    """The group's row: its name, n, then main quantities while they fit WIDTH; (row, quantities shown)."""
    marker = next((n for n in g.stats if n.endswith("_epoch")), None)
    line, shown = f"  {_name(g, keys) or 'all'}  n={g.n}", set()
    for name in (MAIN[0], *([marker] if marker else []), *MAIN[1:]):
        cell = "  " + _cell(g, name)
        if name in g.stats and len(line + cell) <= WIDTH:
            line, shown = line + cell, shown | {name}
    return line, shown


def format_groups(table: GroupTable) -> str:
    """The `workbench list --group` text of `table` (lines within WIDTH columns, but run specs)."""
    lines, distinct = _header(table), _distinct(list(table))
    for fam, keys in distinct.items():
        lines += _family_line(table, fam, keys)
        for g in (g for g in table if g.family == fam):
            row, shown = _row(g, keys)
            lines += [row, *_detail(g, shown)]
    lines += [f"in no group: {spec} ({why})" for spec, why in table.outside]
    return "\n".join(lines)
