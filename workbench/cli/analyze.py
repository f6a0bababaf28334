"""`workbench analyze`, `analyzers` and `views`: run the analyzers, and list what applies."""

from __future__ import annotations

from workbench.analysis.pipeline import analyze
from workbench.cli._args import caps_of, spec_or_demo, store_of
from workbench.core.analyzer import analyzer_needs, get_analyzer, list_analyzers
from workbench.core.capabilities import unmet
from workbench.query.views import view_table

__all__ = ["cmd_analyze", "cmd_analyzers", "cmd_views"]


def cmd_analyze(args) -> None:
    spec = spec_or_demo(args)
    result = analyze(spec, store_of(args), analyzers=args.analyzers, epochs=args.epochs, force=args.force,
                     device=args.device, quiet=args.quiet, jobs=args.jobs)
    print(f"analyzed: {result.computed} artifacts written, {result.skipped} up to date"
          + (f", {len(result.failed)} unreadable checkpoints skipped: {', '.join(result.failed)}" if result.failed else ""))


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
