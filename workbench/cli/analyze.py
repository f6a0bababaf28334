"""`workbench analyze`, `analyzers` and `views`: run the analyzers, and list what applies."""

from __future__ import annotations

from workbench.cli._args import caps_of, store_of
from workbench.core.analyzer import analyzer_needs, get_analyzer, list_analyzers
from workbench.core.capabilities import unmet
from workbench.query.views import view_table
from workbench.requests import AnalyzeRequest, checked, execute

__all__ = ["cmd_analyze", "cmd_analyzers", "cmd_views", "analyze_request"]


def analyze_request(args) -> AnalyzeRequest:
    """`workbench analyze`'s arguments as the typed request a dashboard job sends too."""
    return checked(AnalyzeRequest, variant=args.variant, analyzers=args.analyzers, epochs=args.epochs,
                   force=args.force, jobs=args.jobs, device=args.device, quiet=args.quiet)


def cmd_analyze(args) -> None:
    execute(analyze_request(args), store_of(args))


def cmd_analyzers(args) -> None:
    caps = caps_of(args)
    for name in list_analyzers():
        a = get_analyzer(name)
        if caps is not None and unmet(analyzer_needs(name), caps):
            continue
        scope = "per-epoch" if a.scope == "epoch" else "summary"
        needs = ",".join(analyzer_needs(name)) or "-"
        print(f"{name:28s} {a.kind:12s} {scope:9s} v{a.version}  needs {needs:34s} {a.description}")


def cmd_views(args) -> None:
    for line in view_table(caps_of(args)):
        print(line)
