"""`workbench render` and `report`: a run's figures, one view or the whole offline report."""

from __future__ import annotations

from workbench.api import load_variant
from workbench.cli._args import spec_of, spec_or_demo, store_of
from workbench.core.variant import parse_variant
from workbench.store import RunKey
from workbench.ui.report import write_report

__all__ = ["cmd_render", "cmd_report"]


def cmd_render(args) -> None:
    v = load_variant(spec_of(args), store=store_of(args).root)
    options = {k: getattr(args, k) for k in ("neuron", "head") if getattr(args, k) is not None}
    fig = (v.at(args.epoch) if args.epoch is not None else v).figure(args.view, **options)
    print(fig.export(args.out))


def cmd_report(args) -> None:
    spec = spec_or_demo(args)
    path = write_report(store_of(args), RunKey(*parse_variant(spec).key), out=args.out, epochs=args.epochs,
                        progress=not args.quiet)
    print(f"report: {path}")
