"""`workbench probe add|list`: named probes (workbench.core.probes) kept in the store."""

from __future__ import annotations

from workbench.analysis.probing import add_probe
from workbench.cli._args import store_of
from workbench.store.probes import list_probes

__all__ = ["cmd_probe"]


def cmd_probe(args) -> None:
    store = store_of(args)
    if args.action == "add":
        probe = add_probe(store, args.name, args.family, args.expr, args.description, replace=args.replace)
        print(f"probe {probe.name!r} ({probe.kind}) saved in {store.probe_path(probe.name)}; "
              f"run `workbench analyze VARIANT --probe {probe.name}`")
        return
    probes = list_probes(store)
    if not probes:
        print("no probes saved; add one with `workbench probe add NAME FAMILY EXPR`")
    for p in probes:
        print(f"{p.name:20s} {p.family:22s} {p.kind:9s} {p.expr}" + (f"  ({p.description})" if p.description else ""))
