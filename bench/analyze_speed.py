"""Per-checkpoint analysis cost: one shared forward pass vs one forward pass per analyzer.

    .venv/bin/python bench/analyze_speed.py                      # p=113 canonical, init weights
    .venv/bin/python bench/analyze_speed.py --checkpoint run/checkpoints/epoch_010000.safetensors

The shared path is exactly the pipeline's: `build_epoch_context` over the union of the
declared hooks, then every per-epoch analyzer. The separate path builds a context (and
so runs the model) per analyzer with only its hooks. Analyzer cost does not depend on
how trained the weights are, so freshly initialized weights are a fair stand-in.
Goal: <= 1 s per p=113 checkpoint on 2 cores.
"""

from __future__ import annotations

import argparse
import time

import torch
from threadpoolctl import threadpool_limits

from workbench.analysis.checkpoint import build_epoch_context
from workbench.core.analyzer import get_analyzer, list_analyzers
from workbench.core.variant import parse_variant
from workbench.store._io import load_safetensors


def _shared(variant, state, names) -> tuple[float, float, dict[str, float]]:
    """(total seconds, forward seconds, analyzer -> seconds) with one shared context."""
    start = time.perf_counter()
    caps = variant.family.capabilities(variant.params)
    ctx = build_epoch_context(variant, state, 0, {h for n in names for h in get_analyzer(n).hook_names(caps)})
    forward = time.perf_counter() - start
    per = {}
    for name in names:
        t = time.perf_counter()
        get_analyzer(name).fn(ctx)
        per[name] = time.perf_counter() - t
    return time.perf_counter() - start, forward, per


def _separate(variant, state, names) -> float:
    """Seconds when every analyzer builds its own context (its own forward pass)."""
    start = time.perf_counter()
    for name in names:
        spec = get_analyzer(name)
        spec.fn(build_epoch_context(variant, state, 0, set(spec.hook_names(variant.family.capabilities(variant.params)))))
    return time.perf_counter() - start


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", default="modular_addition:p=113")
    parser.add_argument("--checkpoint", help="a safetensors checkpoint of --spec (default: init weights)")
    parser.add_argument("--repeats", type=int, default=2, help="timed runs; the best is reported")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    variant = parse_variant(args.spec)
    state = load_safetensors(args.checkpoint) if args.checkpoint else variant.family.init_state(variant.params)
    names = list_analyzers(scope="epoch")
    with threadpool_limits(limits=1, user_api="blas"):  # as the pipeline runs them
        _shared(variant, state, names)  # warm-up: imports, allocator, bridge construction caches
        shared = min((_shared(variant, state, names) for _ in range(args.repeats)), key=lambda r: r[0])
        separate = min(_separate(variant, state, names) for _ in range(args.repeats))
    total, forward, per = shared
    print(f"{variant.spec}  ({len(names)} per-epoch analyzers, {args.threads} threads, best of {args.repeats})")
    print(f"  context build (model + one forward over the probe): {forward:7.3f} s")
    for name, sec in sorted(per.items(), key=lambda kv: -kv[1]):
        print(f"    {name:28s} {sec:7.3f} s")
    print(f"shared forward pass:      {total:7.3f} s per checkpoint")
    print(f"one forward per analyzer: {separate:7.3f} s per checkpoint")
    print(f"ratio (separate / shared): {separate / total:5.2f}x")


if __name__ == "__main__":
    main()
