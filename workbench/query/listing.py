"""`workbench list`: the runs in the store as a table (workbench.query.run_table), as JSON, or
with `--long` one line per run with its full spec; `workbench families`: the families with
their parameters.

A long line says how far it trained, what was analyzed and how it came out, plus the job
on it where there is one (`training`, `analyzing`, or `interrupted` after a `kill -9`).
A run whose variant.json, metrics.npz, status.json or a summary holding epoch markers
cannot be read is shown as damaged, naming the file and the problem, and the listing goes on.
"""

from __future__ import annotations

from workbench.core.errors import UserError
from workbench.core.family import get_family, list_families
from workbench.query.run_table import run_table
from workbench.query.where import check_fields, parse_sort, parse_where, sort_rows
from workbench.store import Store
from workbench.store.index import run_rows
from workbench.store.markers import marker_label, marker_names
from workbench.store.record import job_state

__all__ = ["list_store", "format_row", "select_rows", "family_docs"]


def _type_name(annotation) -> str:
    """'int' for a plain class, "Literal['LN'] | None" for a typing construct."""
    if isinstance(annotation, type) and not getattr(annotation, "__args__", None):
        return annotation.__name__
    return str(annotation).replace("typing.", "")


def family_docs() -> list[str]:
    """`workbench families`: each family's description and parameters (type, default, meaning)."""
    lines = ["families:"]
    for name in list_families():
        fam = get_family(name)
        lines.append(f"  {name}: {fam.description}")
        for field, info in fam.Params.model_fields.items():
            lines.append(f"    {field}: {_type_name(info.annotation)} = {info.default!r}  {info.description or ''}".rstrip())
    return lines


def _outcome(row: dict) -> str:
    """'  test acc 1.000  turn onset 1430  key frequencies 8,19' from an index row."""
    acc = (row.get("metrics") or {}).get("test_acc")
    out = f"  test acc {acc:.3f}" if isinstance(acc, float) else ""
    markers, unmarked = row.get("markers") or {}, row.get("unmarked") or []
    by_analyzer: dict[str, list[str]] = {}
    for marker, analyzer in marker_names().items():
        by_analyzer.setdefault(analyzer, []).append(marker)
    for analyzer, names in by_analyzer.items():
        found = [m for m in names if m in markers]
        if found:
            out += "".join(f"  {marker_label(m)} {markers[m]}" for m in found)
        elif analyzer in unmarked:
            out += f"  no {analyzer}"  # analyzed, and none of its epochs exist (e.g. a run that never turns)
    return out + "".join(f"  {name.replace('_', ' ')} {_brief(value)}" for name, value in (row.get("headlines") or {}).items())


_BRIEF = 40  # characters of a headline a listing line shows (a matrix-by-matrix one runs to 200)


def _brief(text: str) -> str:
    """The headline, cut at a comma to at most _BRIEF characters with '…' (the report shows it whole)."""
    if len(text) <= _BRIEF:
        return text
    cut = text.rfind(",", 0, _BRIEF)
    return text[:cut] + ",…" if cut > 0 else text[:_BRIEF] + "…"


def _job(row: dict) -> str:
    """'  training 1200/3500', or '  interrupted: train at 1200/3500; rerun ...' after a kill."""
    status = row.get("status")
    if not status:
        return ""
    state = job_state(status)  # "running" from a process that has died since it was indexed reads "interrupted"
    if state not in ("running", "interrupted"):
        return ""
    job, done, total = status.get("job"), status.get("done"), status.get("total")
    where = f" at {done}/{total}" if done is not None and total is not None else ""
    if state == "running":
        return f"  {'training' if job == 'train' else 'analyzing' if job == 'analyze' else job}{where}"
    return f"  interrupted: {job}{where}; rerun `workbench {job} {row['spec']}` to resume"


def _annotations(row: dict) -> str:
    """'  tags a,b  note "..."' (workbench tag / note), or ''."""
    tags, note = row.get("tags") or [], row.get("note")
    return (f"  tags {','.join(tags)}" if tags else "") + (f"  note {note!r}" if note else "")


def format_row(row: dict) -> str:
    """One listing line for an index row; a file that cannot be read makes it '... damaged: <file>: <problem>'."""
    if row.get("damaged_record"):
        return f"  {row['family']}:{row['variant']}  damaged: {row['damaged_record']}"
    ckpts, analyzers = row.get("checkpoints") or [], row.get("analyzers") or []
    line = (f"  {row['spec']}  epochs {ckpts[-1] if ckpts else 0}/{row['epochs']}  checkpoints {len(ckpts)}"
            + (f"  analyzers {len(analyzers)}" if analyzers else ""))
    if row.get("damaged"):
        return f"{line}  damaged: {row['damaged']}"
    return line + _outcome(row) + _job(row) + _annotations(row)


def select_rows(store: Store, where: str | None = None, sort: str | None = None) -> tuple[list[dict], int]:
    """The index rows of `store`'s runs that `where` keeps, in `sort` order, and how many runs there are.

    Raises:
        UserError if the store path exists but is not a readable directory, or for a
        malformed --where or --sort.
    """
    if store.root.exists() and not store.root.is_dir():
        raise UserError(f"store {str(store.root)!r} is not a directory")
    test, names = parse_where(where) if where is not None else (None, [])  # malformed: fail before any read
    order = parse_sort(sort) if sort is not None else []
    try:
        rows = run_rows(store)
    except OSError as err:
        raise UserError(f"cannot list store {str(store.root)!r}: {err.strerror or err}") from None
    check_fields("--where", names, rows)
    check_fields("--sort", [name for name, _ in order], rows)
    total = len(rows)
    if test is not None:
        rows = [r for r in rows if not r.get("damaged_record") and test(r)]
    return (sort_rows(rows, order) if order else rows), total


def list_store(store: Store, where: str | None = None, sort: str | None = None, long: bool = False) -> None:
    """Print every run in `store` (damaged ones named, not fatal), read through the run index
    (workbench.store.index), as a table fitting 120 columns, or (`long`) one full line per run;
    `where` filters and `sort` orders them (workbench.query.where).

    Raises:
        UserError as `select_rows`.
    """
    rows, total = select_rows(store, where, sort)
    matching = f" ({len(rows)} of {total} match {where!r})" if where is not None else ""
    print(f"variants in {store.root}:" + ("" if rows else " none") + matching)
    if rows:
        print("\n".join(format_row(row) for row in rows) if long else "\n".join(run_table(rows)))
