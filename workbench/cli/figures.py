"""`workbench render` and `report`: a run's figures, one view (or one animated over training)
or the whole offline report (or a run group's)."""

from __future__ import annotations

from workbench.api import load_variant
from workbench.cli._args import spec_of, spec_or_demo, store_of
from workbench.core.errors import UserError
from workbench.core.variant import parse_variant
from workbench.core.view import get_view
from workbench.store import RunKey
from workbench.ui.animation import FORMATS, animate, parse_range
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
    animated = args.out.lower().endswith(FORMATS)
    if args.epochs is not None and not animated:
        raise UserError(f"--epochs animates a view: give --out a .gif or .mp4 file, not {args.out!r}")
    if animated and args.epoch is not None:
        raise UserError("--epoch draws one checkpoint; an animation takes --epochs A:B")
    span = parse_range(args.epochs) if args.epochs is not None else (0, 2**62)
    v = load_variant(spec_of(args), store=store_of(args).root)
    if animated:
        path, frames = animate(v, args.view, args.out, span, fps=args.fps, options=options)
        print(f"{path}: {frames} frames")
        return
    fig = (v.at(args.epoch) if args.epoch is not None else v).figure(args.view, **options)
    print(fig.export(args.out))


def cmd_report(args) -> None:
    if getattr(args, "spec", None) or getattr(args, "specs", False) or getattr(args, "save", None):
        from workbench.cli.report_specs import cmd_report_spec

        cmd_report_spec(args)
        return
    if args.groups is not None:
        if args.variant or args.epochs or args.group is not None or args.draw:
            raise UserError("report --groups takes no VARIANT, --epochs, --group or --draw: the clause names the groups")
        from workbench.ui.groups_report import write_groups_report

        print(f"report: {write_groups_report(store_of(args), args.groups or None, out=args.out, band=args.band or 'ci')}")
        return
    if args.group is not None:
        if args.variant or args.epochs:
            raise UserError("report --group takes no VARIANT or --epochs: the group names its runs")
        from workbench.ui.group_report import write_group_report

        path = write_group_report(store_of(args), args.group, out=args.out, band=args.band or "ci",
                                  draw=args.draw or "band")
        print(f"report: {path}")
        return
    if args.band or args.draw:
        raise UserError("--band and --draw draw run groups: give --group or --groups")
    spec = spec_or_demo(args)
    path = write_report(store_of(args), RunKey(*parse_variant(spec).key), out=args.out, epochs=args.epochs,
                        progress=not args.quiet)
    print(f"report: {path}")
