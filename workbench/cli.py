"""`workbench`: train, analyze, list, render, report and serve variants from one store.

Every command validates its input before writing anything; bad input (including an empty
VARIANT or --store, which mean neither the demo nor the current directory) and corrupt
store files print one line, `workbench: error: ...`, and exit with status 2. An error the
system raises (disk full, permission denied) is one line too, with status 1.
"""

from __future__ import annotations

import argparse
import sys

from workbench.core.errors import UserError
from workbench.store import Store

__all__ = ["main", "build_parser"]


def _store(args) -> Store:
    """The store named by --store; an empty --store is an error, not the current directory."""
    if args.store is not None and not args.store.strip():
        raise UserError("--store '' is empty; give a directory, or leave it out for $WORKBENCH_STORE or ./artifacts")
    return Store(args.store)


def _spec(args) -> str | None:
    """The VARIANT argument; an empty one is an error, not a request for the demo."""
    if args.variant is not None and not args.variant.strip():
        raise UserError("empty VARIANT ''; give family[:key=value,...], or leave it out for the demo")
    return args.variant


def _demo_spec() -> tuple[str, dict]:
    """The demo variant's spec and plan: the first registered family that declares a demo."""
    from workbench.core.family import get_family, list_families
    from workbench.core.variant import parse_variant

    name = next(n for n in list_families() if get_family(n).demo)
    demo = get_family(name).demo
    return parse_variant(name, demo["params"]).spec, demo


# ---------------------------------------------------------------------------- train
def _train_request(args):
    """(variant, epochs, schedule, eval_every, config name) from VARIANT, --config and --set."""
    from workbench.config import load_config, parse_sets
    from workbench.core.variant import parse_variant

    config = load_config(args.config, store=_store(args)) if args.config else None
    sets = parse_sets(args.set)
    spec, demo = _spec(args), {}
    if not spec:
        spec, demo = (config.variant, {}) if config else _demo_spec()
    recipe = {**(config.recipe if config else {}), **sets}
    variant = parse_variant(spec, recipe=recipe)
    plan = {"epochs": args.epochs, "schedule": args.schedule, "eval_every": args.eval_every}
    for source in (config.model_dump() if config else {}, demo):
        plan = {k: source.get(k) if v is None else v for k, v in plan.items()}  # the command line wins
    if args.extra_epochs is not None:  # extending keeps the run's own plan
        plan = {"epochs": args.epochs, "schedule": args.schedule, "eval_every": args.eval_every}
    return variant, plan, (config.name if config else None)


def cmd_train(args) -> None:
    from workbench.trainer import plan_training, train

    variant, plan_args, config = _train_request(args)
    store = _store(args)
    if args.seeds is not None or args.data_seeds is not None:
        from workbench.sweep import train_sweep

        train_sweep(variant.spec, store, seeds=args.seeds, data_seeds=args.data_seeds, device=args.device,
                    quiet=args.quiet, log_format=args.log_format, step_mode=args.step_mode, **plan_args)
        return
    plan = plan_training(variant, store, extra_epochs=args.extra_epochs, config=config, **plan_args)
    if args.resume and plan.fresh:
        raise UserError(f"--resume: {variant.spec} has no run to resume in {store.root}")
    store.ensure_writable()
    if plan.start_epoch >= plan.epochs and not plan.fresh:
        print(f"{plan.variant.spec}: already trained to epoch {plan.epochs} ({store.run_dir(plan.key)})")
        return
    train(plan, store, device=args.device, quiet=args.quiet, log_format=args.log_format, step_mode=args.step_mode)


def cmd_configs(args) -> None:
    from workbench.config import RunConfig, config_names, load_config, parse_sets, save_config, stored_configs

    store = _store(args)
    if args.action == "save":
        spec = _spec(args) or _demo_spec()[0]
        config = RunConfig(variant=spec, recipe=parse_sets(args.set), epochs=args.epochs, schedule=args.schedule,
                           eval_every=args.eval_every, description=args.description or "")
        save_config(store, args.name, config, replace=args.replace)
        print(f"config {args.name!r} saved in {store.index_path()}; train with `workbench train --config {args.name}`")
        return
    saved = stored_configs(store)
    for name, cfg in [(n, load_config(n)) for n in config_names()] + sorted(saved.items()):
        over = ",".join(f"{k}={v}" for k, v in cfg.recipe.items())
        print(f"{name:28s} {cfg.variant}" + (f"  recipe {over}" if over else "") + ("  (saved in the store)" if name in saved else "")
              + (f"\n{'':28s} {cfg.description}" if cfg.description else ""))


def cmd_jobs(args) -> None:
    from workbench.jobs import cancel, list_jobs

    store = _store(args)
    if args.cancel is not None:
        if not cancel(store, args.cancel):
            raise UserError(f"job {args.cancel} is not queued or running in {store.root}")
        print(f"job {args.cancel} cancelled")
        return
    for job in list_jobs(store, limit=args.last):
        done = job["progress"]
        print(f"{job['id']:>5}  {job['kind']:8s} {job['state']:10s}"
              + (f" {done[0]:g}/{done[1]:g}" if done else "") + f"  {job['target']}"
              + (f"  log {log}" if (log := store.job_log_path(job["id"])).is_file() else "")
              + (f"\n{'':7s}{job['error']}" if job["error"] else ""))


def cmd_sweep(args) -> None:
    from workbench.sweep_backends import run_sweep
    from workbench.sweep_spec import expand, groups, load_sweep

    sweep = load_sweep(args.spec)
    if args.dry_run:
        for i, group in enumerate(groups(expand(sweep), sweep.max_members)):
            print(f"group {i + 1} {group.label}")
        return
    run_sweep(sweep, _store(args), backend=args.backend, analyze=not args.no_analyze, device=args.device,
              epochs=args.epochs, schedule=args.schedule, eval_every=args.eval_every, analyzers=args.analyzers,
              retries=args.retries, quiet=args.quiet)


# ----------------------------------------------------------------------------- list
def cmd_list(args) -> None:
    from workbench._cli_list import cmd_list as list_store

    list_store(_store(args), where=args.where, sort=args.sort)


def cmd_index(args) -> None:
    from workbench.index import rebuild, run_rows

    store = _store(args)
    if args.rebuild:
        count, moved = rebuild(store)
        print(f"run index {store.index_path()}: {count} runs indexed from the store"
              + (f"; the unusable file was moved to {moved} (its jobs and configs are not carried over)" if moved else ""))
        return
    if not store.root.is_dir():
        raise UserError(f"store {str(store.root)!r} does not exist")
    rows = run_rows(store)
    print(f"run index {store.index_path()}: {len(rows)} runs, current")


# -------------------------------------------------------------------------- analyze
def cmd_analyze(args) -> None:
    from workbench.analysis import analyze

    spec = _spec(args) or _demo_spec()[0]
    result = analyze(spec, _store(args), analyzers=args.analyzers, epochs=args.epochs, force=args.force,
                     device=args.device, quiet=args.quiet, jobs=args.jobs)
    print(f"analyzed: {result.computed} artifacts written, {result.skipped} up to date"
          + (f", {len(result.failed)} unreadable checkpoints skipped: {', '.join(result.failed)}" if result.failed else ""))


def cmd_densify(args) -> None:
    from workbench.densify import densify, plan_densify

    store = _store(args)
    plan = plan_densify(_spec(args) or _demo_spec()[0], store, around=args.around, every=args.every)
    if not plan.new:
        print(f"{plan.variant.spec}: no multiple of {plan.every} in {plan.window[0]}..{plan.window[1]} lacks a "
              "checkpoint; nothing to do")
        return
    written = densify(plan, store, device=args.device, quiet=args.quiet)
    print(f"{plan.variant.spec}: window {plan.window[0]}..{plan.window[1]} ({plan.how}): {len(written)} new "
          f"checkpoints ({', '.join(map(str, written))}) every {plan.every} epochs, replayed from the state at epoch "
          f"{plan.start} to {plan.stop}, every existing checkpoint on the way bit-identical; run `workbench analyze`")


def _caps(args) -> dict | None:
    """The capabilities of the VARIANT argument's family, or None without one."""
    from workbench.core.variant import parse_variant

    spec = _spec(args)
    if not spec:
        return None
    variant = parse_variant(spec)
    return variant.family.capabilities(variant.params)


def cmd_analyzers(args) -> None:
    from workbench.core.analyzer import get_analyzer, list_analyzers
    from workbench.core.analyzer import analyzer_needs
    from workbench.core.capabilities import unmet

    caps = _caps(args)
    for name in list_analyzers():
        a = get_analyzer(name)
        if caps is not None and unmet(analyzer_needs(name), caps):
            continue
        scope = "per-epoch" if a.scope == "epoch" else "summary"
        needs = ",".join(analyzer_needs(name)) or "-"
        print(f"{name:28s} {a.kind:12s} {scope:9s} v{a.version}  needs {needs:34s} {a.description}")


# ---------------------------------------------------------------- figures, report
def cmd_views(args) -> None:
    from workbench.views import view_table

    for line in view_table(_caps(args)):
        print(line)


def cmd_render(args) -> None:
    from workbench.api import load_variant

    v = load_variant(_spec(args), store=_store(args).root)
    options = {k: getattr(args, k) for k in ("neuron", "head") if getattr(args, k) is not None}
    fig = (v.at(args.epoch) if args.epoch is not None else v).figure(args.view, **options)
    print(fig.export(args.out))


def cmd_report(args) -> None:
    from workbench.report import write_report
    from workbench.store import RunKey
    from workbench.core.variant import parse_variant

    spec = _spec(args) or _demo_spec()[0]
    path = write_report(_store(args), RunKey(*parse_variant(spec).key), out=args.out, epochs=args.epochs,
                        progress=not args.quiet)
    print(f"report: {path}")


def _check_listen(host: str, port: int) -> None:
    """UserError naming --host/--port unless this process could listen there now."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as err:
        raise UserError(f"cannot resolve --host {host!r}: {getattr(err, 'strerror', None) or err}") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server will
        try:
            probe.bind(address)
        except OSError as err:
            raise UserError(f"cannot listen on {host}:{port}: {err.strerror or err}") from None


def cmd_dashboard(args) -> None:
    from workbench.dashboard import serve

    store = _store(args)
    _check_listen(args.host, args.port)
    serve(store, host=args.host, port=args.port, launch={"on": True, "off": False}.get(args.launch))


# ----------------------------------------------------------------------------- demo
def cmd_demo(args) -> None:
    """Train the embedded demo variant, run every analyzer, write its report."""
    for step in (["train", "--quiet"] if args.quiet else ["train"], ["analyze", "--analyzers", "all"], ["report"]):
        code = main(step + (["--store", args.store] if args.store is not None else []))
        if code:
            raise SystemExit(code)


# --------------------------------------------------------------------------- parser
def _device_arg(text: str) -> str:
    import re

    if not re.fullmatch(r"cpu|cuda(:\d+)?", text):
        raise argparse.ArgumentTypeError(f"expected cpu, cuda or cuda:N, got {text!r}")
    return text


def _epochs_arg(text: str) -> int:
    import re

    if not re.fullmatch(r"[+-]?[0-9]{1,18}", text.strip(), re.ASCII):
        raise argparse.ArgumentTypeError(f"expected an integer (plain decimal digits), got {text!r}")
    return int(text)


def _schedule_arg(text: str) -> str:
    """A checkpoint SPEC, checked now so that '' or a huge range fails before any work."""
    from workbench.core.schedule import parse_schedule

    try:
        parse_schedule(text)
    except UserError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    return text


def _index_arg(text: str) -> int:
    value = _epochs_arg(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an index >= 0, got {text!r}")
    return value


def _port_arg(text: str) -> int:
    port = _epochs_arg(text)
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"expected a TCP port 1-65535, got {text!r}")
    return port


def _out_arg(text: str) -> str:
    """An output file we could write: not a directory, and under a directory (or one we can create)."""
    from pathlib import Path

    if not text.strip():
        raise argparse.ArgumentTypeError("expected a file name, got ''")
    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is a directory; give a file name inside it")
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise argparse.ArgumentTypeError(f"cannot write {text!r}: {str(parent)!r} is a file, not a directory")
    return text


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (like every other bad input), exit status 2."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="workbench", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)
    store_help = "artifact store (default: $WORKBENCH_STORE or ./artifacts)"

    p = sub.add_parser("train", help="train a variant, checkpointing on a schedule (resumes if interrupted)")
    p.add_argument("variant", nargs="?", help="family[:key=value,...]; omitted: the quick demo variant")
    p.add_argument("--epochs", type=_epochs_arg, help="total epochs (default: the family recipe's)")
    p.add_argument("--extra-epochs", type=_epochs_arg, help="extend a finished run by N epochs")
    p.add_argument("--schedule", type=_schedule_arg, help="checkpoint epochs: START:STOP:STEP or E, comma-separated (0 and the end always)")
    p.add_argument("--eval-every", type=_epochs_arg, help="evaluate train/test metrics every N epochs")
    p.add_argument("--seeds", help="sweep model seeds, e.g. 0-63 or 1,2,5 (trained as one batched model)")
    p.add_argument("--data-seeds", help="sweep data seeds, e.g. 0-7")
    p.add_argument("--config", metavar="NAME|FILE",
                   help="a YAML run config: a file, or NAME for configs/NAME.yaml (see `workbench configs`)")
    p.add_argument("--set", action="append", metavar="FIELD=VALUE",
                   help="override a recipe field, e.g. --set weight_decay=1.0 (repeatable; part of the run's identity)")
    p.add_argument("--resume", action="store_true",
                   help="continue an interrupted run (re-running does this anyway); an error if there is none")
    p.add_argument("--device", default="cpu", type=_device_arg, help="cpu, cuda or cuda:N (default: cpu)")
    p.add_argument("--store", help=store_help)
    p.add_argument("--quiet", action="store_true", help="print only the final line")
    p.add_argument("--step-mode", default="auto", choices=("auto", "eager", "compile", "graph"),
                   help="how each training step runs: eager; compile (torch.compile); graph (the whole step "
                        "captured in one CUDA graph, CUDA only; not yet run on a GPU); auto: eager (default)")
    p.add_argument("--log-format", choices=("bar", "plain"), default="bar",
                   help="bar: a progress bar (default); plain: one line per evaluation, e.g. "
                        "'Epoch  12300 | Train: 100.0%% | Test:  47.1%% | Loss: 1.23e-04, wnorm=45.2, smooth=0.234'")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("configs", help="list the named run configs (configs/ and the store's), or save one")
    p.add_argument("--store", help=store_help)
    p.set_defaults(func=cmd_configs, action=None)
    saves = p.add_subparsers(dest="action", metavar="save", parser_class=_Parser)
    q = saves.add_parser("save", help="save a variant and recipe under a name in the store's run index")
    q.add_argument("name", help="the config's name (letters, digits, _ . -); `workbench train --config NAME` uses it")
    q.add_argument("variant", nargs="?", help="family[:key=value,...]; omitted: the demo variant")
    q.add_argument("--set", action="append", metavar="FIELD=VALUE", help="a recipe field (repeatable)")
    q.add_argument("--epochs", type=_epochs_arg, help="total epochs")
    q.add_argument("--schedule", type=_schedule_arg, help="checkpoint epochs: START:STOP:STEP or E, comma-separated")
    q.add_argument("--eval-every", type=_epochs_arg, help="evaluate every N epochs")
    q.add_argument("--description", help="one line saying what the config is for")
    q.add_argument("--replace", action="store_true", help="overwrite a config saved under this name")
    q.add_argument("--store", help=store_help)

    p = sub.add_parser("jobs", help="the jobs started from the dashboard (recorded in the store's run index)")
    p.add_argument("--last", type=_index_arg, default=50, help="how many of the latest jobs to list (default 50)")
    p.add_argument("--cancel", type=_index_arg, metavar="ID", help="cancel a queued or running job")
    p.add_argument("--store", help=store_help)
    p.set_defaults(func=cmd_jobs)

    p = sub.add_parser("sweep", help="train (then analyze) the product of a sweep description, stacked where it can")
    p.add_argument("spec", metavar="SPEC", help="a YAML sweep file, or inline: family:p=97|101,seed=0-3,r.lr=1e-3|3e-3")
    p.add_argument("--backend", choices=("local", "ray"), default="local",
                   help="local: groups one after another here (default); ray: each group a Ray task (RAY_ADDRESS "
                        "or a local cluster)")
    p.add_argument("--no-analyze", action="store_true", help="train only")
    p.add_argument("--analyzers", help="what to analyze after training: 'all' or names (default: the file's, or all)")
    p.add_argument("--epochs", type=_epochs_arg, help="total epochs (default: the file's, or each recipe's)")
    p.add_argument("--schedule", type=_schedule_arg, help="checkpoint epochs: START:STOP:STEP or E, comma-separated")
    p.add_argument("--eval-every", type=_epochs_arg, help="evaluate train/test metrics every N epochs")
    p.add_argument("--retries", type=_index_arg, default=1, help="Ray: rerun a group whose worker died N times (default 1)")
    p.add_argument("--dry-run", action="store_true", help="print the groups and stop")
    p.add_argument("--device", default="cpu", type=_device_arg, help="cpu, cuda or cuda:N (default: cpu)")
    p.add_argument("--store", help=store_help)
    p.add_argument("--quiet", action="store_true", help="no training progress bars (local)")
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser("list", help="list families with their parameters, and the variants in the store")
    p.add_argument("--where", metavar="CLAUSE", help="only runs matching comparisons on params, r.FIELDs, final metrics, "
                   "markers and headlines joined by and/or, e.g. \"p=113 and turn<10000\"")
    p.add_argument("--sort", metavar="FIELDS", help="order by these fields, comma-separated; -FIELD descends, "
                   "e.g. --sort=-test_acc,p")
    p.add_argument("--store", help=store_help)
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("index", help="bring the store's run index (index.sqlite) up to date, or --rebuild it")
    p.add_argument("--rebuild", action="store_true", help="regenerate every run's row from the store's files "
                   "(keeps jobs and configs; an unusable file is moved aside)")
    p.add_argument("--store", help=store_help)
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("analyze", help="run analyzers over every checkpoint of a trained variant")
    p.add_argument("variant", nargs="?", help="family[:key=value,...]; omitted: the demo variant")
    p.add_argument("--analyzers", default="all", help="'all' or comma-separated names (see `workbench analyzers`)")
    p.add_argument("--epochs", type=_schedule_arg, help="only checkpoints in this SPEC (START:STOP:STEP or E, comma-separated)")
    p.add_argument("--force", action="store_true", help="recompute artifacts that are up to date")
    p.add_argument("--jobs", type=_epochs_arg, metavar="N",
                   help="worker processes sharing the checkpoints (default: one per two cores, at most 16, "
                        "at most one per 4 checkpoints; 1 on a 2-core machine)")
    p.add_argument("--device", default="cpu", type=_device_arg, help="cpu, cuda or cuda:N (default: cpu)")
    p.add_argument("--store", help=store_help)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_analyze)

    p = sub.add_parser("densify", help="add checkpoints inside a trained run's window by a replay proven bit-identical")
    p.add_argument("variant", nargs="?", help="family[:key=value,...] of a trained variant; omitted: the demo variant")
    p.add_argument("--around", default="turn", help="E1:E2, inclusive epochs, or an analyzer that marks a "
                   "transition: 'turn' (onset..midpoint padded by its width; needs `workbench analyze`) (default: turn)")
    p.add_argument("--every", type=_epochs_arg, help="checkpoint every multiple of N epochs in the window (default: "
                   "the coarsest 1, 2 or 5 x 10^k giving at least 20 and twice the checkpoint density there)")
    p.add_argument("--device", default="cpu", type=_device_arg, help="the device the run was trained on (default: cpu)")
    p.add_argument("--store", help=store_help)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_densify)

    p = sub.add_parser("analyzers", help="list analyzers with kind, scope, version, needs and description")
    p.add_argument("variant", nargs="?", help="only those that apply to this variant's family")
    p.set_defaults(func=cmd_analyzers)

    p = sub.add_parser("views", help="list the figure views")
    p.add_argument("variant", nargs="?", help="only those that apply to this variant's family")
    p.set_defaults(func=cmd_views)

    p = sub.add_parser("render", help="render one view of a variant to .html, .png or .svg")
    p.add_argument("variant", help="family[:key=value,...] of a trained variant")
    p.add_argument("--view", required=True, help="view name (see `workbench views`)")
    p.add_argument("--epoch", type=_epochs_arg, help="checkpoint epoch, for per-epoch views")
    p.add_argument("--neuron", type=_index_arg, help="neuron to show, for views with a neuron option")
    p.add_argument("--head", type=_index_arg, help="attention head to show, for views with a head option")
    p.add_argument("--out", required=True, type=_out_arg, help="output file (.html, .png or .svg)")
    p.add_argument("--store", help=store_help)
    p.set_defaults(func=cmd_render)

    p = sub.add_parser("report", help="write one standalone offline HTML report for a variant")
    p.add_argument("variant", nargs="?", help="family[:key=value,...]; omitted: the demo variant")
    p.add_argument("--out", type=_out_arg, help="output .html (default: <run dir>/report.html)")
    p.add_argument("--epochs", type=_schedule_arg, help="per-epoch views at these epochs (default: init, end of memorization, "
                   "epoch markers such as the turn, end)")
    p.add_argument("--store", help=store_help)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("dashboard", help="serve the interactive dashboard for a store")
    p.add_argument("--store", help=store_help)
    p.add_argument("--host", default="127.0.0.1", help="bind address (default: loopback only)")
    p.add_argument("--port", type=_port_arg, default=8050, help="TCP port 1-65535 (default: 8050)")
    p.add_argument("--launch", choices=("auto", "on", "off"), default="auto",
                   help="whether the Runs page may start train/analyze/sweep jobs in the store: auto (default) is "
                        "on only when --host is loopback; off keeps it off, e.g. on a shared server")
    p.set_defaults(func=cmd_dashboard)

    p = sub.add_parser("demo", help="train the demo variant, analyze it, and write its report")
    p.add_argument("--store", help=store_help)
    p.add_argument("--quiet", action="store_true", help="no training progress bar")
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except UserError as err:
        print(f"workbench: error: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # the system refused (disk full, permissions): one line, not a traceback
        where = f": {err.filename}" if err.filename else ""
        print(f"workbench: error: {err.strerror or err}{where}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("workbench: interrupted; rerun the same command to resume", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
