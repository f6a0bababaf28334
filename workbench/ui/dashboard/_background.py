"""The dashboard under waitress in a background thread: for browser tests and screenshots."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Iterator

from workbench.store import Store
from workbench.ui.dashboard.app import create_app, quiet_queue_warnings

__all__ = ["background_server"]


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
