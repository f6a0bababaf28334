"""Screenshot the dashboard's explore page at 1440 px with the Training group drawn against wall time.

    nice -n 10 .venv/bin/python bench/walltime_dash_shot.py --store /tmp/walltime-store --out /tmp/walltime.png

Only the Training group is open; the sidebar's "Curves over training" control shows x = wall time
(`xunit=time`), offered because the run recorded its clock (workbench.store.clock).
"""

from __future__ import annotations

import argparse
from urllib.parse import urlencode

from workbench.core.variant import parse_variant
from workbench.store import RunKey, Store
from workbench.ui.dashboard._background import dashboard_page
from workbench.ui.dashboard.data import variant_id

SETTLED = ("() => document.querySelectorAll('#panel-loss_curves .js-plotly-plot .main-svg').length > 0 && "
           "!document.querySelector('#panels').classList.contains('busy')")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--variant", help="the run (default: the store's first)")
    parser.add_argument("--epoch", type=int, help="the current epoch (default: the last checkpoint)")
    parser.add_argument("--log-x", action="store_true")
    args = parser.parse_args()
    store = Store(args.store)
    key = RunKey(*parse_variant(args.variant).key) if args.variant else store.runs()[0]
    state = {"variant": variant_id(key), "groups": "training", "xunit": "time"}
    state |= {"epoch": args.epoch} if args.epoch is not None else {}
    state |= {"axes": "log_x"} if args.log_x else {}
    with dashboard_page(store, height=1400) as (page, url):
        page.goto(f"{url}?{urlencode(state)}")
        page.wait_for_function(SETTLED)
        page.wait_for_timeout(2500)  # let every panel finish drawing
        page.screenshot(path=args.out, full_page=True)
        title = page.evaluate("() => document.querySelector('#fig-loss_curves .js-plotly-plot').layout.xaxis.title.text")
        note = page.locator("#curve-x-note").inner_text()
        print(f"{args.out}: x axis {title!r}; note {note!r}; wall time enabled: "
              f"{not page.locator('#curve-x input[value=time]').is_disabled()}")


if __name__ == "__main__":
    main()
