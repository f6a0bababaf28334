"""Screenshot the Reports page at 1440 px after saving the Explore layout as a report view (issue 31 item 4).

Serves STORE's dashboard with launching on (saving needs the page's launch token), opens the
Explore page at the given query, follows the Reports link (which carries the query), types a
name and a title, clicks Save, waits for the saved spec's views and writes the PNG. STORE must
be writable (a copy): the spec is saved in it.

Run: .venv/bin/python bench/save_view_shot.py STORE OUT.png [--query 'groups=training,neurons&neuron=3'] [--name my_view]
"""

from __future__ import annotations

import argparse

from workbench.store import Store
from workbench.ui.dashboard._background import dashboard_page
from workbench.ui.dashboard.data import variant_id


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("store")
    ap.add_argument("out")
    ap.add_argument("--query", default="groups=training,neurons&neuron=3")
    ap.add_argument("--name", default="my_view")
    ap.add_argument("--height", type=int, default=1400)
    args = ap.parse_args()
    store = Store(args.store)
    with dashboard_page(store, height=args.height, launch=True) as (page, base):
        page.goto(f"{base}?variant={variant_id(store.runs()[0])}&{args.query}")
        page.wait_for_selector("#page-explore .js-plotly-plot .main-svg")
        page.click("#nav-reports")
        page.wait_for_selector("#reports-body h2")
        page.fill("#reports-save-name", args.name)
        page.fill("#reports-save-title", "Neuron 3 around the turn")
        page.click("#reports-save")
        page.wait_for_function("() => /saved report spec/.test(document.querySelector('#reports-save-message').innerText)")
        page.wait_for_function("() => document.querySelector('#reports-body h2').innerText === 'Neuron 3 around the turn'")
        page.wait_for_timeout(3000)
        page.screenshot(path=args.out)
        print(page.inner_text("#reports-save-message"))
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
