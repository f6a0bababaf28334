"""Screenshot a compare-page spread preset (issue 29: the study's four conditions, or the leak), to look at.

Serves STORE's dashboard in a thread, opens /compare in Debian's chromium (Playwright, no
browser download) at 1440 px with one anchor run selected (the first whose variant holds
every --has text and no --lacks text), picks the preset in its dropdown and writes a PNG
of the preset's block (figure, table, paired ratios).

Run: .venv/bin/python bench/streams_shot.py STORE OUT.png [--preset four|leak] [--has arch=study] [--lacks attn_mask]
"""

from __future__ import annotations

import argparse
from urllib.parse import urlencode

from workbench.store import Store
from workbench.ui.dashboard._background import dashboard_page
from workbench.ui.dashboard.data import variant_id

PRESETS = {"four": "interleaved_streams: study's four conditions",
           "leak": "interleaved_streams: the leak: study control without and with the mask"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("store")
    ap.add_argument("out")
    ap.add_argument("--preset", choices=sorted(PRESETS), default="four")
    ap.add_argument("--has", action="append", default=None, help="the anchor's variant holds this (default: arch=study, condition=control)")
    ap.add_argument("--lacks", action="append", default=None, help="the anchor's variant lacks this (default: attn_mask)")
    args = ap.parse_args()
    store = Store(args.store)
    has, lacks = args.has or ["arch=study", "condition=control"], args.lacks or ["attn_mask"]
    anchor = next(k for k in store.runs() if all(h in k.variant for h in has) and not any(x in k.variant for x in lacks))
    with dashboard_page(store, height=2400) as (page, base):
        page.goto(f"{base}compare?{urlencode([('compare', variant_id(anchor))])}")
        page.click("#compare-preset")
        page.keyboard.type(PRESETS[args.preset].split(": ", 1)[1][:30])
        page.keyboard.press("Enter")
        page.wait_for_selector("#compare-preset-figure .scatterlayer .trace")
        page.wait_for_timeout(2000)
        page.locator("#compare-preset-table").screenshot(path=args.out)
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
