"""`workbench`: train, analyze, list, render, report and serve variants from one store.

Every command validates its input before writing anything; bad input (including an empty
VARIANT or --store, which mean neither the demo nor the current directory) and corrupt
store files print one line, `workbench: error: ...`, and exit with status 2. An error the
system raises (disk full, permission denied) is one line too, with status 1.

`main` parses the arguments (workbench.cli.parser) and imports the command's module only
then (the one place the workbench imports a module of its own lazily), so that a command
loads only what it uses: `workbench list` never imports plotly or dash.

Before anything loads torch, OpenMP's waiting threads are told to sleep rather than spin
(OMP_WAIT_POLICY=PASSIVE, unless the user set it or GOMP_SPINCOUNT): a spinning torch thread on
a busy machine holds a core its partner needs, and made training 5-10x slower
(workbench.core.compute; bench/threads_contention.py). Worker processes inherit it.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Callable

if "GOMP_SPINCOUNT" not in os.environ:  # read once, when libgomp loads with torch: set it first
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from workbench.cli.parser import build_parser, parse_args
from workbench.core.errors import UserError

__all__ = ["main", "build_parser", "guarded"]


def _dispatch(args) -> None:
    """Run the command's handler, "module:function", importing its module now."""
    module, _, function = args.func.partition(":")
    getattr(importlib.import_module(module), function)(args)


def cmd_demo(args) -> None:
    """Train the embedded demo variant, run every analyzer, write its report."""
    for step in (["train", "--quiet"] if args.quiet else ["train"], ["analyze", "--analyzers", "all"], ["report"]):
        code = main(step + (["--store", args.store] if args.store is not None else []))
        if code:
            raise SystemExit(code)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return guarded(lambda: _dispatch(args))


def guarded(work: Callable[[], None]) -> int:
    """Run `work` as a command runs: its exit status, and one line on stderr for an error."""
    try:
        work()
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
