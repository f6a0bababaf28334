"""Screenshot the dashboard's explore page at 1440 px with the trace view of a named probe open.

    nice -n 10 .venv/bin/python bench/trace_dash_shot.py --store /tmp/probes-store --probe pairs4 --input 2 \
        --out docs/trace_dashboard.png

Only the Output group is open (the trace view sits there); the sidebar shows the Probe dropdown.
"""

from __future__ import annotations

import argparse
from urllib.parse import urlencode

from workbench.core.variant import parse_variant
from workbench.store import RunKey, Store
from workbench.ui.dashboard._background import dashboard_page
from workbench.ui.dashboard.data import variant_id

SETTLED = ("() => document.querySelectorAll('#panel-trace .js-plotly-plot .main-svg').length > 0 && "
           "!document.querySelector('#panels').classList.contains('busy')")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", required=True)
    parser.add_argument("--probe", required=True)
    parser.add_argument("--input", type=int, default=0)
    parser.add_argument("--out", required=True)
    parser.add_argument("--variant", help="the run (default: the store's first)")
    args = parser.parse_args()
    store = Store(args.store)
    key = RunKey(*parse_variant(args.variant).key) if args.variant else store.runs()[0]
    query = urlencode({"variant": variant_id(key), "groups": "output", "probe": args.probe,
                       "trace_input": args.input})
    with dashboard_page(store, height=2000) as (page, url):
        page.goto(f"{url}?{query}")
        page.wait_for_function(SETTLED)
        page.wait_for_timeout(2500)  # let every panel finish drawing
        page.screenshot(path=args.out, full_page=True)
    print(args.out)


if __name__ == "__main__":
    main()
