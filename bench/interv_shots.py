"""Screenshots at 1440 px (issue 31): the interventions view and a report spec on the dashboard's Reports page.

Serves STORE's dashboard in a thread, opens /reports?report=SPEC&report_run=RUN in Debian's chromium
(Playwright, no browser download), waits for every figure, and writes two PNGs: the page's top
(title, prose and first views) and the interventions view's block.

Run: .venv/bin/python bench/interv_shots.py STORE RUN_SUBSTRING OUT_DIR [--spec the_turn]
"""

from __future__ import annotations

import argparse
from pathlib import Path
from urllib.parse import urlencode

from workbench.store import Store
from workbench.ui.dashboard._background import dashboard_page
from workbench.ui.dashboard.data import variant_id


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("store")
    ap.add_argument("run", help="a substring of the run's variant directory, e.g. seed=0,")
    ap.add_argument("out_dir")
    ap.add_argument("--spec", default="the_turn")
    args = ap.parse_args()
    store = Store(args.store)
    run = next(k for k in store.runs() if args.run in k.variant)
    out = Path(args.out_dir)
    with dashboard_page(store, height=1400, timeout_ms=300_000) as (page, base):
        page.goto(f"{base}reports?{urlencode([('report', args.spec), ('report_run', variant_id(run))])}")
        page.wait_for_selector("#reports-body h2")
        page.wait_for_function("document.querySelectorAll('#reports-body .js-plotly-plot .main-svg').length >= 6")
        page.wait_for_timeout(3000)
        page.screenshot(path=str(out / "report_spec.png"))
        block = page.locator("#reports-body > div").filter(has=page.locator("h3", has_text="interventions"))
        block.scroll_into_view_if_needed()
        page.wait_for_timeout(1000)
        block.screenshot(path=str(out / "interventions.png"))
        print(f"wrote {out / 'report_spec.png'} and {out / 'interventions.png'}")


if __name__ == "__main__":
    main()
