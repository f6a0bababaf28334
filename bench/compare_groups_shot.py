"""Screenshot the compare page with seed groups drawn as bands (issue 25), to look at.

Serves STORE's dashboard in a thread, opens /compare in Debian's chromium (Playwright, no
browser download) at 1440 px with the runs whose variant holds every --has text selected, grouped by seeds
with the chosen band and the runs' thin lines, and writes a PNG of the viewport.

With --element ID the shot is that element alone (e.g. compare-group-table: the seed-group
table and the shared PCA basis panel), still at 1440 px.

Run: .venv/bin/python bench/compare_groups_shot.py STORE OUT.png [--band minmax|ci|none] [--height 900] [--has r.lr=0.003]
     [--element compare-group-table]
"""

from __future__ import annotations

import argparse
from urllib.parse import urlencode

from workbench.store import Store
from workbench.ui.dashboard._background import dashboard_page
from workbench.ui.dashboard.data import variant_id


def _url(base: str, store: Store, has: list[str], band: str) -> str:
    keys = [k for k in store.runs() if all(h in k.variant for h in has)]
    query = [("compare", variant_id(k)) for k in keys] + [("group", "seeds"), ("band", band), ("thin", "runs")]
    return f"{base}compare?{urlencode(query)}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("store")
    ap.add_argument("out")
    ap.add_argument("--band", default="minmax", choices=("minmax", "ci", "none"))
    ap.add_argument("--height", type=int, default=900, help="viewport height in px (the shot is the viewport)")
    ap.add_argument("--has", action="append", default=None,
                    help="select the runs whose variant holds this text (repeatable: all of them; default r.lr=0.003)")
    ap.add_argument("--element", help="shoot this element id only (waits for the shared PCA plot when it holds one)")
    args = ap.parse_args()
    store = Store(args.store)
    with dashboard_page(store, height=args.height) as (page, base):
        page.goto(_url(base, store, args.has or ["r.lr=0.003"], args.band))
        page.wait_for_function("() => document.querySelectorAll('#compare-test_loss .scatterlayer .trace').length > 1")
        page.wait_for_selector("#compare-group-table")
        if args.element:
            page.wait_for_selector("#compare-shared-pca .scatterlayer .trace")
        page.wait_for_timeout(2000)
        if args.element:
            page.locator(f"div#{args.element}").screenshot(path=args.out)
        else:
            page.screenshot(path=args.out)
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
