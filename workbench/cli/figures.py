"""`workbench render` and `report`: a run's figures, one view or the whole offline report."""

from __future__ import annotations

from workbench.api import load_variant
from workbench.cli._args import spec_of, spec_or_demo, store_of
from workbench.core.errors import UserError
from workbench.core.variant import parse_variant
from workbench.core.view import get_view
from workbench.store import RunKey
from workbench.ui.report import write_report

__all__ = ["cmd_render", "cmd_report", "view_options"]


def view_options(view_name: str, argv: list[str]) -> dict:
    """`--NAME VALUE` (or `--NAME=VALUE`) pairs as the view's declared options, checked before any work."""
    view, options, rest = get_view(view_name), {}, list(argv)
    while rest:
        flag = rest.pop(0)
        name, eq, text = flag[2:].replace("-", "_").partition("=") if flag.startswith("--") else ("", "", "")
        if not name:
            raise UserError(f"unexpected argument {flag!r}; a view's options are --NAME VALUE")
        option = view.option(name)
        if option is None:
            raise UserError(f"view {view.name!r} has no option {name!r}; options: "
                            f"{', '.join(o.name for o in view.options) or 'none'}")
        if not eq and not rest:
            raise UserError(f"--{name}: expected a value ({option.help or option.label})")
        try:
            options[name] = option.parse(text if eq else rest.pop(0))
        except ValueError as err:
            raise UserError(f"--{name}: {err}") from None
    return options


def cmd_render(args) -> None:
    options = view_options(args.view, args.view_args)
    v = load_variant(spec_of(args), store=store_of(args).root)
    fig = (v.at(args.epoch) if args.epoch is not None else v).figure(args.view, **options)
    print(fig.export(args.out))


def cmd_report(args) -> None:
    if getattr(args, "spec", None) or getattr(args, "specs", False) or getattr(args, "save", None):
        from workbench.cli.report_specs import cmd_report_spec

        cmd_report_spec(args)
        return
    spec = spec_or_demo(args)
    path = write_report(store_of(args), RunKey(*parse_variant(spec).key), out=args.out, epochs=args.epochs,
                        progress=not args.quiet)
    print(f"report: {path}")
