"""`workbench report --spec NAME|FILE`, `--spec FILE --save NAME` and `--specs`: reports built for a question."""

from __future__ import annotations

from workbench.cli._args import spec_of, store_of
from workbench.core.errors import UserError
from workbench.core.variant import demo_variant
from workbench.query.report_specs import load_spec, save_spec, spec_names
from workbench.ui.report_views import write_spec_report

__all__ = ["cmd_report_spec"]


def cmd_report_spec(args) -> None:
    store = store_of(args)
    if args.specs:
        for name, where in spec_names(store).items():
            print(f"{name:32s} {where:8s} {load_spec(store, name)[1].title}")
        return
    if not args.spec:
        raise UserError("--save needs --spec FILE (the spec to save)")
    if args.save:
        print(f"saved report spec {args.save}: {save_spec(store, args.save, args.spec)}")
        return
    if args.epochs:
        raise UserError("--epochs does not go with --spec: a spec names each view's epoch")
    name, spec = load_spec(store, args.spec)
    variant = spec_of(args) or spec.variant or demo_variant()[0]
    print(f"report: {write_spec_report(store, name, spec, variant, out=args.out)}")
