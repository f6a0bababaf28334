"""Issue 14's four conditions at CPU scale, and the clamps' calibration step.

    python bench/interleaved.py calibrate SPEC [--store DIR]   # print a clamped spec, calibrated
    python bench/interleaved.py run [--store DIR] [--params k=v,...] [--epochs N]

`run` trains control, then constraint, then the two clamps calibrated from the control's
final checkpoint, and prints per condition: test accuracy on predictable positions,
last-position accuracy, A and sigma^2 of hook_resid_post on the probe batch (the
family's metrics at the last evaluation), wall time, and the ratio of mean-preserving
to constraint accuracy. Bad input is one line and exit status 2.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from families.interleaved_streams import calibrated_spec, calibration_control  # noqa: E402
from workbench.core.errors import UserError  # noqa: E402
from workbench.core.variant import parse_variant  # noqa: E402
from workbench.store import RunKey, Store  # noqa: E402
from workbench.training.trainer import plan_training, train  # noqa: E402

COLUMNS = ("test_acc", "last_acc", "amplitude", "sigma2")


def calibrate(store: Store, spec: str) -> str:
    """The spec of clamped variant `spec` with calib_norm and calib_std measured at the
    final checkpoint of its finished control run in `store` (UserError if there is none)."""
    control = calibration_control(spec)
    key = RunKey(*control.key)
    done = store.read_record(key) if store.exists(key) else None
    if done is None or done.epochs not in store.checkpoint_epochs(key):
        raise UserError(f"control run {control.spec} is missing or unfinished in {store.root}; train it first")
    return calibrated_spec(spec, store.load_checkpoint(key, done.epochs))


def _train(spec: str, store: Store, epochs: int | None) -> dict:
    variant = parse_variant(spec)
    plan = plan_training(variant, store, epochs=epochs)
    t0 = time.perf_counter()
    if plan.start_epoch < plan.epochs or plan.fresh:
        train(plan, store, quiet=True)
    metrics = store.read_metrics(RunKey(*variant.key))
    return {"spec": variant.spec, "wall_s": time.perf_counter() - t0, **{k: float(metrics[k][-1]) for k in COLUMNS}}


def run(store: Store, params: str, epochs: int | None) -> list[tuple[str, dict]]:
    base = "interleaved_streams:" + params
    rows = [("control", _train(base + ",condition=control", store, epochs)),
            ("constraint", _train(base + ",condition=constraint", store, epochs))]
    for name in ("naive_clamp", "mean_clamp"):
        rows.append((name, _train(calibrate(store, f"{base},condition={name}"), store, epochs)))
    return rows


def table(rows: list[tuple[str, dict]]) -> str:
    lines = ["| condition | test acc | last acc | A | sigma^2 | wall s |", "|---|---|---|---|---|---|"]
    for name, r in rows:
        lines.append(f"| {name} | {r['test_acc']:.3f} | {r['last_acc']:.3f} | {r['amplitude']:.2f} | "
                     f"{r['sigma2']:.3f} | {r['wall_s']:.0f} |")
    by = dict(rows)
    lines.append(f"\nmean-preserving / constraint accuracy: {by['mean_clamp']['test_acc'] / by['constraint']['test_acc']:.3f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/interleaved.py")
    sub = parser.add_subparsers(dest="command", required=True)
    cal = sub.add_parser("calibrate", help="print a clamped spec with its control run's calibration")
    cal.add_argument("spec")
    bench = sub.add_parser("run", help="train the four conditions and print the verification table")
    bench.add_argument("--params", default="", help="shared params, k=v,... (default: the family's)")
    bench.add_argument("--epochs", type=int, default=None)
    for p in (cal, bench):
        p.add_argument("--store", help="artifact store (default: $WORKBENCH_STORE or ./artifacts)")
    args = parser.parse_args(argv)
    try:
        store = Store(args.store)
        print(calibrate(store, args.spec) if args.command == "calibrate" else table(run(store, args.params, args.epochs)))
    except UserError as err:
        print(f"interleaved: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
