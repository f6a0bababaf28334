"""Trace a few train and test pairs of a trained run and screenshot the trace view at 1440 px.

    nice -n 10 .venv/bin/python bench/trace_shot.py --store /tmp/probes-store --inputs "3+5, 10+40, 2+7, 30+30" \
        --input 0 --out docs/trace_train.png

Prints how long the trace took cold (every checkpoint's forward, then cached in the store), warm
(read from the store), and how long the figure took to build, then writes the PNG (headless
Debian chromium through playwright, as docs/screenshot.py).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import workbench
from workbench.core.variant import demo_variant
from workbench.store import Store
from workbench.ui.dashboard._background import browser_page


def shoot(url: str, out: str, height: int, ready: str | None = None) -> None:
    """Open `url` in headless chromium at 1440 px wide, wait for `ready` (a JS predicate), write a PNG."""
    with browser_page(height) as page:
        page.goto(url)
        if ready:
            page.wait_for_function(ready)
        page.wait_for_timeout(2500)  # let every panel finish drawing
        page.screenshot(path=out, full_page=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", required=True)
    parser.add_argument("--variant", default=None, help="default: the demo variant")
    parser.add_argument("--inputs", required=True, help="a probe name or an expression, e.g. '3+5, 10+40'")
    parser.add_argument("--input", type=int, default=0, help="the traced input the lower panels follow")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    spec, store = args.variant or demo_variant()[0], Store(args.store)
    t0 = time.perf_counter()
    trace = workbench.trace(spec, args.inputs, store=store)
    t1 = time.perf_counter()
    trace = workbench.trace(spec, args.inputs, store=store)
    t2 = time.perf_counter()
    fig = trace.figure(input=args.input)
    t3 = time.perf_counter()
    print(f"trace of {len(trace['inputs'])} inputs over {len(trace['epochs'])} checkpoints: first call {t1 - t0:.1f} s, "
          f"second {t2 - t1:.2f} s, figure {t3 - t2:.2f} s; inputs {trace['inputs'].tolist()}, "
          f"train {trace['is_train'].tolist()}, emergence {trace['emergence_epoch'].tolist()}, "
          f"key freqs {trace['key_freqs'].tolist()}")
    with tempfile.TemporaryDirectory() as tmp:
        page_file = Path(tmp) / "trace.html"
        fig.update_layout(width=1400)
        fig.write_html(page_file, include_plotlyjs=True)
        shoot(page_file.as_uri(), args.out, height=1180)
    print(args.out)


if __name__ == "__main__":
    main()
