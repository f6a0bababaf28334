"""Write docs/dashboard.png: the dashboard on a real store at 1440 px, in headless Debian chromium.

    .venv/bin/python docs/screenshot.py --store artifacts   # after `workbench demo`
"""

from __future__ import annotations

import argparse
from pathlib import Path

from workbench.store import Store
from workbench.ui.dashboard._background import WIDTH, dashboard_page

SETTLED = ("() => document.querySelectorAll('.group.open .js-plotly-plot .main-svg').length > 0 && "
           "!document.querySelector('#panels').classList.contains('busy')")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", default="artifacts")
    parser.add_argument("--query", default="", help="URL query to open, e.g. 'neuron=7&epoch=2000'")
    parser.add_argument("--width", type=int, default=WIDTH)
    parser.add_argument("--out", default=str(Path(__file__).with_name("dashboard.png")))
    args = parser.parse_args()
    with dashboard_page(Store(args.store), width=args.width, timeout_ms=120_000) as (page, url):
        page.goto(url + ("?" + args.query if args.query else ""))
        page.wait_for_function(SETTLED)
        page.wait_for_timeout(1500)  # let every expanded panel finish drawing
        page.screenshot(path=args.out)
    print(args.out)


if __name__ == "__main__":
    main()
