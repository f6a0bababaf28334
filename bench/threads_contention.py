"""Torch threads under contention (issue 24 item 5): one thread, torch's default, the workbench's rule.

Each measurement trains the demo variant for --epochs epochs into a fresh store in a child
process and reports the trainer's time (imports excluded). Three modes, interleaved within
each repetition:

- one:     OMP_NUM_THREADS=1
- default: OMP_NUM_THREADS=<torch's default here>, OpenMP's own wait policy (spin, then sleep):
           torch as shipped, what every run used before issue 24
- rule:    no setting, and the child imports workbench.cli before torch as the command does
           (OMP_WAIT_POLICY=PASSIVE): the thread count workbench.core.compute decides from
           the cores, fixed for the run, with waiting threads asleep

Scenarios: the job alone; the job beside N CPU-bound processes (`while True: pass`, nice
0); N copies of the job at once. For each, `fair` = the mode's alone time x max(1, J/C),
J the CPU-bound processes in all (job included) and C the cores; the goal is time/fair
<= 1.25 (each job within 1.25x of its idle time x N/C).

    python bench/threads_contention.py --phase alone --out /tmp/alone.json          # queue paused
    python bench/threads_contention.py --phase contention --alone /tmp/alone.json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

CHILD = """
import sys
if sys.argv[3] == "cli":
    import workbench.cli  # noqa: F401  (before torch: what `workbench train` sets, OMP_WAIT_POLICY=PASSIVE)
import time, torch
from workbench.core.variant import demo_variant, parse_variant
from workbench.store import Store
from workbench.training.trainer import plan_training, train
store = Store(sys.argv[2])
variant = parse_variant(demo_variant()[0])
plan = plan_training(variant, store, epochs=int(sys.argv[1]), schedule="0:1:1", eval_every=50)
t0 = time.perf_counter()
train(plan, store, quiet=True)
print(time.perf_counter() - t0, torch.get_num_threads())
"""
MODES = ("one", "default", "rule")
SCENARIOS = (("beside", 1), ("beside", 2), ("beside", 4), ("copies", 2), ("copies", 4))  # (scenario, N)


def _default_threads() -> int:
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    out = subprocess.run([sys.executable, "-c", "import torch; print(torch.get_num_threads())"], env=env,
                         capture_output=True, text=True, check=True)
    return int(out.stdout)


def _env(mode: str, default: int) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    if mode != "rule":
        env["OMP_NUM_THREADS"] = "1" if mode == "one" else str(default)
    return env


def _jobs(mode: str, copies: int, epochs: int, default: int) -> list[tuple[float, int]]:
    """Run `copies` training children at once; (seconds, threads) of each."""
    roots = [tempfile.mkdtemp(prefix="thr-") for _ in range(copies)]
    procs = [subprocess.Popen([sys.executable, "-c", CHILD, str(epochs), root, "cli" if mode == "rule" else "bare"],
                              env=_env(mode, default), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for root in roots]
    out = []
    for p, root in zip(procs, roots):
        stdout, stderr = p.communicate()
        shutil.rmtree(root, ignore_errors=True)
        if p.returncode:
            raise SystemExit(stderr[-2000:])
        seconds, threads = stdout.split()[-2:]
        out.append((float(seconds), int(threads)))
    return out


def _spinners(n: int) -> list[subprocess.Popen]:
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]


def _measure(scenario: str, n: int, reps: int, epochs: int, default: int, modes=MODES) -> dict:
    """{mode: [seconds of each job of each repetition]} for one scenario, modes interleaved."""
    times: dict[str, list[float]] = {m: [] for m in modes}
    threads: dict[str, set[int]] = {m: set() for m in modes}
    loads = []
    for _ in range(reps):
        for mode in modes:
            spin = _spinners(n if scenario == "beside" else 0)
            try:
                time.sleep(0.5 if spin else 0)
                loads.append(os.getloadavg()[0])
                for seconds, used in _jobs(mode, n if scenario == "copies" else 1, epochs, default):
                    times[mode].append(seconds)
                    threads[mode].add(used)
            finally:
                for p in spin:
                    p.kill()
                    p.wait()
    return {"scenario": scenario, "n": n, "times": times, "threads": {m: sorted(t) for m, t in threads.items()},
            "load": sum(loads) / len(loads)}


def _row(result: dict, alone: dict, cores: int) -> list[str]:
    n, scenario = result["n"], result["scenario"]
    total = n if scenario == "copies" else n + 1
    label = "alone" if scenario == "alone" else (f"{n} copies at once" if scenario == "copies" else f"beside {n} spinners")
    cells = []
    for mode in MODES:
        ts = result["times"].get(mode)
        if not ts:
            cells.append("not run")
            continue
        mean = sum(ts) / len(ts)
        base = sum(alone["times"][mode]) / len(alone["times"][mode])
        fair = base * max(1.0, total / cores)
        cells.append(f"{mean:.1f} s ({'/'.join(map(str, result['threads'][mode]))} thr) "
                     f"**{mean / fair:.2f}**" if scenario != "alone" else
                     f"{mean:.1f} s ({'/'.join(map(str, result['threads'][mode]))} thr)")
    mean = {m: sum(ts) / len(ts) for m, ts in result["times"].items()}
    return [label, f"{result['load']:.1f}", *cells, f"{mean['rule'] / mean['one']:.2f}"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--phase", choices=("alone", "contention"), required=True)
    ap.add_argument("--epochs", type=int, default=150)
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--out", help="alone phase: where to write its JSON")
    ap.add_argument("--alone", help="contention phase: the alone phase's JSON")
    ap.add_argument("--only", type=int, help="contention phase: run only this scenario (index into SCENARIOS)")
    ap.add_argument("--modes", default=",".join(MODES), help="contention phase: these modes only (comma-separated)")
    args = ap.parse_args()
    default, cores = _default_threads(), len(os.sched_getaffinity(0))
    print(f"# {time.strftime('%Y-%m-%d %H:%M')} cores {cores}, torch default threads {default}, "
          f"demo {args.epochs} epochs, {args.reps} repetitions, modes interleaved", flush=True)
    if args.phase == "alone":
        result = _measure("alone", 0, args.reps, args.epochs, default)
        print(json.dumps(result), flush=True)
        with open(args.out, "w") as f:
            json.dump(result, f)
        return
    alone = json.load(open(args.alone))
    print("| scenario | load | one thread | torch default | rule | rule ÷ one |\n|---|---|---|---|---|---|")
    print("| " + " | ".join(_row(alone, alone, cores)) + " |", flush=True)
    for scenario, n in SCENARIOS if args.only is None else SCENARIOS[args.only:args.only + 1]:
        result = _measure(scenario, n, args.reps, args.epochs, default, modes=args.modes.split(","))
        print("| " + " | ".join(_row(result, alone, cores)) + " |", flush=True)
        print(json.dumps(result), file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
