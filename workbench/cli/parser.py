"""The `workbench` command line: its arguments, checked before any command runs.

Each subcommand names its handler as "module:function" (`func`); `workbench.cli.main`
imports that module only when the command runs, so `workbench list` never imports what
`workbench dashboard` needs. Bad arguments are one line and exit status 2.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from workbench.core.errors import UserError
from workbench.core.schedule import parse_schedule

__all__ = ["build_parser", "parse_args", "DESCRIPTION"]

DESCRIPTION = "`workbench`: train, analyze, list, render, report and serve variants from one store."


def _device_arg(text: str) -> str:
    if not re.fullmatch(r"cpu|cuda(:\d+)?", text):
        raise argparse.ArgumentTypeError(f"expected cpu, cuda or cuda:N, got {text!r}")
    return text


def _epochs_arg(text: str) -> int:
    if not re.fullmatch(r"[+-]?[0-9]{1,18}", text.strip(), re.ASCII):
        raise argparse.ArgumentTypeError(f"expected an integer (plain decimal digits), got {text!r}")
    return int(text)


def _schedule_arg(text: str) -> str:
    """A checkpoint SPEC, checked now so that '' or a huge range fails before any work."""
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


def _threads_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--threads", type=_epochs_arg, metavar="N",
                   help="torch threads, 1-512 (default: a run's recorded count, else the cores this process may "
                        "use; OMP_NUM_THREADS wins). A run keeps the count it was created with: counts round differently")


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (like every other bad input), exit status 2."""
    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="workbench", description=DESCRIPTION)
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
    _threads_option(p)
    p.add_argument("--store", help=store_help)
    p.add_argument("--quiet", action="store_true", help="print only the final line")
    p.add_argument("--step-mode", default="auto", choices=("auto", "eager", "compile", "graph"),
                   help="how each training step runs: eager; compile (torch.compile); graph (the whole step "
                        "captured in one CUDA graph, CUDA only; not yet run on a GPU); auto: eager (default)")
    p.add_argument("--log-format", choices=("bar", "plain"), default="bar",
                   help="bar: a progress bar (default); plain: one line per evaluation, e.g. "
                        "'Epoch  12300 | Train: 100.0%% | Test:  47.1%% | Loss: 1.23e-04, wnorm=45.2, smooth=0.234'")
    p.set_defaults(func="workbench.cli.train:cmd_train")

    p = sub.add_parser("configs", help="list the named run configs (configs/ and the store's), or save one")
    p.add_argument("--json", action="store_true", help="one JSON array of configs for scripts (keys: name, variant, "
                   "recipe, epochs, schedule, eval_every, description, saved_in_store)")
    p.add_argument("--store", help=store_help)
    p.set_defaults(func="workbench.cli.train:cmd_configs", action=None)
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
    p.add_argument("--json", action="store_true", help="one JSON array of jobs for scripts (keys: workbench.cli.runs.JOB_KEYS)")
    p.add_argument("--store", help=store_help)
    p.set_defaults(func="workbench.cli.runs:cmd_jobs")

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
    _threads_option(p)
    p.add_argument("--store", help=store_help)
    p.add_argument("--quiet", action="store_true", help="no training progress bars (local)")
    p.set_defaults(func="workbench.cli.train:cmd_sweep")

    p = sub.add_parser("families", help="list the families with their parameters (type, default, meaning)")
    p.set_defaults(func="workbench.cli.runs:cmd_families")

    p = sub.add_parser("list", help="the runs in the store as a table (family, short label, state, epochs, test "
                       "accuracy, turn, tags)")
    p.add_argument("--where", metavar="CLAUSE", help="only runs matching comparisons on params, r.FIELDs, final metrics, "
                   "markers and headlines joined by and/or, e.g. \"p=113 and turn<10000\"")
    p.add_argument("--sort", metavar="FIELDS", help="order by these fields, comma-separated; -FIELD descends, "
                   "e.g. --sort=-test_acc,p")
    p.add_argument("--group", action="store_true", help="one row per group of runs that differ only in seed params "
                   "(n, mean ± std and 95%% interval of final metrics, markers, headlines); --where then filters groups")
    p.add_argument("--long", action="store_true", help="one line per run with its full spec, checkpoints, analyzers, "
                   "markers and headlines, instead of the table")
    p.add_argument("--json", action="store_true", help="one JSON array of runs for scripts (stable keys: "
                   "workbench.query.run_table.JSON_KEYS)")
    p.add_argument("--store", help=store_help)
    p.set_defaults(func="workbench.cli.runs:cmd_list")

    p = sub.add_parser("tag", help="tag a run (or --remove tags); `workbench list --where tag=NAME` finds them")
    p.add_argument("variant", metavar="RUN", help="the run: family[:key=value,...] as `workbench list --long` shows it")
    p.add_argument("tags", nargs="+", metavar="TAG", help="words of letters, digits and _ . + - (at most 40 characters)")
    p.add_argument("--remove", action="store_true", help="remove these tags instead")
    p.add_argument("--store", help=store_help)
    p.set_defaults(func="workbench.cli.annotate:cmd_tag")

    p = sub.add_parser("note", help="set a run's free-text note (\"\" removes it); shown by `workbench list`")
    p.add_argument("variant", metavar="RUN", help="the run: family[:key=value,...]")
    p.add_argument("text", help="the note, at most 2,000 characters (quote it)")
    p.add_argument("--store", help=store_help)
    p.set_defaults(func="workbench.cli.annotate:cmd_note")

    p = sub.add_parser("index", help="bring the store's run index (index.sqlite) up to date, or --rebuild it")
    p.add_argument("--rebuild", action="store_true", help="regenerate every run's row from the store's files "
                   "(keeps jobs and configs; an unusable file is moved aside)")
    p.add_argument("--store", help=store_help)
    p.set_defaults(func="workbench.cli.runs:cmd_index")

    p = sub.add_parser("analyze", help="run analyzers over every checkpoint of a trained variant, or over run groups")
    p.add_argument("variant", nargs="?", help="family[:key=value,...]; omitted: the demo variant")
    p.add_argument("--group", metavar="CLAUSE", help="instead of one variant: run the group analyzers over each run "
                   "group `workbench list --group --where CLAUSE` shows ('all': every group); writes "
                   "<store>/.groups/<id>/<analyzer>.npz")
    p.add_argument("--analyzers", default="all", help="'all' or comma-separated names (see `workbench analyzers`)")
    p.add_argument("--epochs", type=_schedule_arg, help="only checkpoints in this SPEC (START:STOP:STEP or E, comma-separated)")
    p.add_argument("--force", action="store_true", help="recompute artifacts that are up to date")
    p.add_argument("--probe", metavar="NAME", help="run the row-wise analyzers on a named probe's inputs (see "
                   "`workbench probe list`); artifacts are kept under its name (default: the family's own probe)")
    p.add_argument("--jobs", type=_epochs_arg, metavar="N",
                   help="worker processes sharing the checkpoints (default: one per two cores, at most 16, "
                        "at most one per 4 checkpoints; 1 on a 2-core machine)")
    p.add_argument("--device", default="cpu", type=_device_arg, help="cpu, cuda or cuda:N (default: cpu)")
    _threads_option(p)
    p.add_argument("--store", help=store_help)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--option", action="append", default=[], metavar="NAME=VALUE",
                   help="an analyzer option (repeatable), part of each artifact's identity; a comma list is a list, "
                        "e.g. --option ablate_heads=0,2 --option patch_from=1500 (analyzers/interventions.py)")
    p.set_defaults(func="workbench.cli.analyze:cmd_analyze")

    p = sub.add_parser("probe", help="named probes: sets of a family's inputs that `analyze --probe` runs on")
    p.set_defaults(func="workbench.cli.probes:cmd_probe")
    acts = p.add_subparsers(dest="action", metavar="add|list", required=True, parser_class=_Parser)
    q = acts.add_parser("add", help="save a probe under a name in the store")
    q.add_argument("name", help="the probe's name (letters, digits, _ . , = + -)")
    q.add_argument("family", help="the family it is for (see `workbench list`)")
    q.add_argument("expr", help="'all'; a filter such as 'a < b', 'train', 'test', 'a + b >= p'; a list such as "
                   "'4+29, 17+96'; or rows of the family's probe, 'rows 0-9' (sequences: '[3 1 4], [2 7 1]')")
    q.add_argument("--description", default="", help="one line saying what the probe is for")
    q.add_argument("--replace", action="store_true", help="overwrite a probe saved under this name")
    q.add_argument("--store", help=store_help)
    q = acts.add_parser("list", help="list the store's probes")
    q.add_argument("--store", help=store_help)

    p = sub.add_parser("densify", help="add checkpoints inside a trained run's window by a replay proven bit-identical")
    p.add_argument("variant", nargs="?", help="family[:key=value,...] of a trained variant; omitted: the demo variant")
    p.add_argument("--around", default="turn", help="E1:E2, inclusive epochs, or an analyzer that marks a "
                   "transition: 'turn' (onset..midpoint padded by its width; needs `workbench analyze`) (default: turn)")
    p.add_argument("--every", type=_epochs_arg, help="checkpoint every multiple of N epochs in the window (default: "
                   "the coarsest 1, 2 or 5 x 10^k giving at least 20 and twice the checkpoint density there)")
    p.add_argument("--device", default="cpu", type=_device_arg, help="the device the run was trained on (default: cpu)")
    _threads_option(p)
    p.add_argument("--store", help=store_help)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func="workbench.cli.train:cmd_densify")

    p = sub.add_parser("analyzers", help="list analyzers with kind, scope, version, needs and description")
    p.add_argument("variant", nargs="?", help="only those that apply to this variant's family")
    p.set_defaults(func="workbench.cli.analyze:cmd_analyzers")

    p = sub.add_parser("views", help="list the figure views")
    p.add_argument("variant", nargs="?", help="only those that apply to this variant's family")
    p.set_defaults(func="workbench.cli.analyze:cmd_views")

    p = sub.add_parser("render", help="render one view of a variant to .html, .png or .svg, or a per-epoch view "
                       "animated over training to .gif or .mp4",
                       epilog="A view's options follow as --NAME VALUE, one for each option it declares (e.g. "
                              "--neuron 5; `workbench views` lists them): given after VARIANT.")
    p.add_argument("variant", help="family[:key=value,...] of a trained variant")
    p.add_argument("--view", required=True, help="view name (see `workbench views`)")
    p.add_argument("--epoch", type=_epochs_arg, help="checkpoint epoch, for per-epoch views")
    p.add_argument("--epochs", metavar="A:B", help="a per-epoch view animated over the analyzed checkpoints from "
                   "epoch A to B (inclusive; A: or :B open) into --out .gif or .mp4 (default: all of them)")
    p.add_argument("--fps", type=float, default=4.0, help="frames a second of a .gif/.mp4 (default 4)")
    p.add_argument("--out", required=True, type=_out_arg, help="output file (.html, .png or .svg; .gif or .mp4 "
                   "animates a per-epoch view, needs imageio: pip install 'training-dynamics-workbench[export]')")
    p.add_argument("--store", help=store_help)
    p.set_defaults(func="workbench.cli.figures:cmd_render", view_args=True)

    p = sub.add_parser("report", help="write one standalone offline HTML report for a variant or a run group")
    p.add_argument("variant", nargs="?", help="family[:key=value,...]; omitted: the demo variant")
    p.add_argument("--group", metavar="GROUP", help="instead of one variant: the report of a run group (runs differing "
                   "only in seeds), named by its spec or label, or a --where clause that selects one group of "
                   "`workbench list --group`; written to <store>/.groups/<id>/report.html")
    p.add_argument("--groups", metavar="CLAUSE", help="instead of one variant: several run groups side by side (a grid "
                   "with its seed spread), those of `workbench list --group --where CLAUSE` ('' for all)")
    p.add_argument("--band", choices=("minmax", "ci", "none"),
                   help="with --group or --groups: the band around each mean curve, min-max or the 95%% interval of the mean "
                        "(default: ci)")
    p.add_argument("--draw", choices=("band", "runs", "both"),
                   help="with --group: each curve as the mean with its band, each run's thin line, or both "
                        "(default: band)")
    p.add_argument("--out", type=_out_arg, help="output .html (default: <run dir>/report.html)")
    p.add_argument("--epochs", type=_schedule_arg, help="per-epoch views at these epochs (default: init, end of memorization, "
                   "epoch markers such as the turn, end)")
    p.add_argument("--store", help=store_help)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--spec", metavar="NAME|FILE", help="a report built for a question: a report spec (title, prose, "
                   "views in order) shipped in report_specs/, saved in the store, or a .yaml file (workbench.query.report_specs)")
    p.add_argument("--save", metavar="NAME", help="with --spec FILE: check it and save it in the store as NAME")
    p.add_argument("--specs", action="store_true", help="list the report specs (shipped and saved)")
    p.set_defaults(func="workbench.cli.figures:cmd_report")

    p = sub.add_parser("dashboard", help="serve the interactive dashboard for a store")
    p.add_argument("--store", help=store_help)
    p.add_argument("--host", default="127.0.0.1", help="bind address (default: loopback only)")
    p.add_argument("--port", type=_port_arg, default=8050, help="TCP port 1-65535 (default: 8050)")
    p.add_argument("--launch", choices=("auto", "on", "off"), default="auto",
                   help="whether the Runs page may start train/analyze/sweep jobs in the store: auto (default) is "
                        "on only when --host is loopback; off keeps it off, e.g. on a shared server")
    p.add_argument("--allow-host", action="append", metavar="NAME",
                   help="also answer requests that name NAME as their Host (repeatable); by default only the bound "
                        "address (and, on loopback, localhost) is answered, which stops DNS-rebinding pages")
    p.set_defaults(func="workbench.cli.serve:cmd_dashboard")

    p = sub.add_parser("demo", help="train the demo variant, analyze it, and write its report")
    p.add_argument("--store", help=store_help)
    p.add_argument("--quiet", action="store_true", help="no training progress bar")
    p.set_defaults(func="workbench.cli:cmd_demo")
    return parser


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The parsed command line; a command that takes a view's options (`view_args`) gets what
    follows its own arguments as `args.view_args` (checked against the view's declarations by
    the command), any other command refuses arguments it does not know."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and getattr(args, "view_args", None) is not True:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if getattr(args, "view_args", None) is True:
        args.view_args = extra
    return args
