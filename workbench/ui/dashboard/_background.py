"""The dashboard under waitress in a background thread, and headless Chromium pages at 1440 px:
for browser tests, screenshots and browser benchmarks (one place for the server, the browser flags
and the viewport)."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import TYPE_CHECKING, Iterator

from workbench.store import Store
from workbench.ui.dashboard.app import create_app, quiet_queue_warnings

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

__all__ = ["CHROMIUM", "CHROMIUM_ARGS", "WIDTH", "background_server", "browser_page", "chromium", "dashboard_page"]

CHROMIUM = "/usr/bin/chromium"  # Debian's: Playwright drives it, so `playwright install` never downloads a browser
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
WIDTH = 1440  # the width every screenshot is looked at


@contextmanager
def background_server(store: Store, port: int = 0, launch: bool = False) -> Iterator[str]:
    """Serve `store` on loopback (a free port unless given) until the block ends; yields the URL.
    `launch`: whether the Runs page may start jobs."""
    from waitress.server import create_server

    quiet_queue_warnings()
    server = create_server(create_app(store, launch=launch).server, host="127.0.0.1", port=port, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}/"
    finally:
        server.task_dispatcher.shutdown()  # finish in-flight requests before the sockets close
        server.close()
        thread.join(timeout=10)


@contextmanager
def chromium(path: str = CHROMIUM) -> Iterator[Browser]:
    """Headless Chromium (`path`) through Playwright until the block ends."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def browser_page(height: int = 1000, width: int = WIDTH, timeout_ms: int = 180_000) -> Iterator[Page]:
    """A page of a fresh headless Chromium, `width` x `height` px, waits timing out after `timeout_ms`."""
    with chromium() as browser:
        page = browser.new_page(viewport={"width": width, "height": height})
        page.set_default_timeout(timeout_ms)
        yield page


@contextmanager
def dashboard_page(store: Store, height: int = 1000, width: int = WIDTH, timeout_ms: int = 180_000,
                   launch: bool = False) -> Iterator[tuple[Page, str]]:
    """`store`'s dashboard served in the background (`launch`: its pages may start jobs and save
    report views) and a Chromium page to open it in; yields (page, base URL)."""
    with background_server(store, launch=launch) as url, browser_page(height, width, timeout_ms) as page:
        yield page, url
