"""`workbench analyze`, `analyzers` and `views`: run the analyzers, and list what applies.

`workbench analyze --group CLAUSE` runs the group-scope analyzers (workbench.analysis.group)
over each run group that `workbench list --group --where CLAUSE` shows ('all': every
group); every group and analyzer is checked before the first artifact is written.
"""

from __future__ import annotations

from workbench.analysis.group import analyze_group, check_group
from workbench.cli._args import caps_of, store_of
from workbench.core.analyzer import analyzer_needs, get_analyzer, list_analyzers
from workbench.core.capabilities import unmet
from workbench.core.errors import UserError
from workbench.query.group_listing import group_table
from workbench.query.views import view_table
from workbench.requests import AnalyzeRequest, checked, execute

__all__ = ["cmd_analyze", "cmd_analyzers", "cmd_views", "analyze_request", "parse_options"]


def analyze_request(args) -> AnalyzeRequest:
    """`workbench analyze`'s arguments as the typed request a dashboard job sends too."""
    return checked(AnalyzeRequest, variant=args.variant, analyzers=args.analyzers, epochs=args.epochs,
                   force=args.force, jobs=args.jobs, device=args.device, threads=args.threads, quiet=args.quiet,
                   probe=args.probe, options=parse_options(getattr(args, "option", None) or []))


def _scalar(text: str) -> int | str:
    text = text.strip()
    return int(text) if text.lstrip("-").isdigit() else text


def parse_options(items: list[str]) -> dict:
    """`--option NAME=VALUE` items as analyzer options: an integer stays one, a comma list is a list."""
    options: dict = {}
    for item in items:
        name, eq, value = item.partition("=")
        if not eq or not name.strip() or not value.strip():
            raise UserError(f"--option {item!r}: expected NAME=VALUE, e.g. ablate_heads=0,2")
        options[name.strip()] = [_scalar(v) for v in value.split(",")] if "," in value else _scalar(value)
    return options


def cmd_analyze(args) -> None:
    if args.group is not None:
        cmd_analyze_groups(args)
        return
    execute(analyze_request(args), store_of(args))


def _group_clause(args) -> str | None:
    """The --group CLAUSE as a --where clause (None for 'all'); UserError for what does not go with it."""
    if not args.group.strip():
        raise UserError(f"--group {args.group!r} is empty; give a --where clause over groups (e.g. \"p=53\"), or 'all'")
    clash = [flag for flag, value in (("VARIANT", args.variant), ("--epochs", args.epochs), ("--jobs", args.jobs),
                                      ("--probe", args.probe), ("--threads", args.threads))
             if value is not None]
    if clash:
        raise UserError(f"--group analyzes run groups; it takes no {' or '.join(clash)}")
    return None if args.group.strip() == "all" else args.group


def cmd_analyze_groups(args) -> None:
    """Every matching run group through the group analyzers; all checked before anything is written."""
    store = store_of(args)
    table = group_table(store, _group_clause(args))
    if not table:
        raise UserError(f"no run group matches {args.group!r} (see `workbench list --group`)")
    for g in table:
        check_group(store, list(g.runs), args.analyzers)
    for g in table:
        result = analyze_group(store, list(g.runs), analyzers=args.analyzers, force=args.force)
        written = ", ".join(str(store.group_artifact_path(result.group, a)) for a in result.computed)
        left = sum(len(why) for why in result.left_out.values())
        note = f"; {left} run(s) left out (see above)" if left else ""
        print(f"{g.spec} (n={g.n}), group {result.group}: {written or 'up to date'}{note}")


def cmd_analyzers(args) -> None:
    caps = caps_of(args)
    for name in [*list_analyzers(), *list_analyzers(scope="group")]:  # run-level, then `analyze --group`'s
        a = get_analyzer(name)
        if caps is not None and unmet(analyzer_needs(name), caps):
            continue
        scope = {"epoch": "per-epoch", "group": "group"}.get(a.scope, "summary")  # group: `analyze --group`
        needs = ",".join(analyzer_needs(name)) or "-"
        print(f"{name:28s} {a.kind:12s} {scope:9s} v{a.version}  needs {needs:34s} {a.description}")


def cmd_views(args) -> None:
    for line in view_table(caps_of(args)):
        print(line)
