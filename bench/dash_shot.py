"""Screenshot the dashboard's explore page at 1440 px in a given URL state, once a panel is drawn.

    # a probe's trace view (Output group; the sidebar shows the Probe dropdown)
    nice -n 10 .venv/bin/python bench/dash_shot.py --store /tmp/probes-store --panel trace \
        --state groups=output --state probe=pairs4 --state trace_input=2 --out docs/trace_dashboard.png
    # the Training group against wall time (xunit=time: offered where the run recorded its clock)
    nice -n 10 .venv/bin/python bench/dash_shot.py --store /tmp/walltime-store --panel loss_curves \
        --state groups=training --state xunit=time --out docs/dashboard_wall_time_1440.png

`--state KEY=VALUE` (repeatable) is any entry of the page's URL query; the run is `--variant`
(default: the store's first). Prints the file, and the panel's x axis title.
"""

from __future__ import annotations

import argparse
from urllib.parse import urlencode

from workbench.core.variant import parse_variant
from workbench.store import RunKey, Store
from workbench.ui.dashboard._background import dashboard_page
from workbench.ui.dashboard.data import variant_id


def _settled(panel: str) -> str:
    return (f"() => document.querySelectorAll('#panel-{panel} .js-plotly-plot .main-svg').length > 0 && "
            "!document.querySelector('#panels').classList.contains('busy')")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--panel", required=True, help="the view whose panel must be drawn first, e.g. trace")
    parser.add_argument("--state", action="append", default=[], metavar="KEY=VALUE", help="a URL query entry")
    parser.add_argument("--variant", help="the run (default: the store's first)")
    parser.add_argument("--height", type=int, default=1400)
    args = parser.parse_args()
    store = Store(args.store)
    key = RunKey(*parse_variant(args.variant).key) if args.variant else store.runs()[0]
    state = [("variant", variant_id(key))] + [tuple(s.split("=", 1)) for s in args.state]
    with dashboard_page(store, height=args.height) as (page, url):
        page.goto(f"{url}?{urlencode(state)}")
        page.wait_for_function(_settled(args.panel))
        page.wait_for_timeout(2500)  # let every panel finish drawing
        page.screenshot(path=args.out, full_page=True)
        title = page.evaluate(f"() => document.querySelector('#fig-{args.panel} .js-plotly-plot').layout.xaxis"
                              ".title.text")
    print(f"{args.out}: x axis {title!r}")


if __name__ == "__main__":
    main()
