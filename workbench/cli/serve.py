"""`workbench dashboard`: serve the interactive dashboard for a store."""

from __future__ import annotations

import socket

from workbench.cli._args import store_of
from workbench.core.errors import UserError
from workbench.ui.dashboard import serve

__all__ = ["cmd_dashboard"]


def _check_listen(host: str, port: int) -> None:
    """UserError naming --host/--port unless this process could listen there now."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as err:
        raise UserError(f"cannot resolve --host {host!r}: {getattr(err, 'strerror', None) or err}") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server will
        try:
            probe.bind(address)
        except OSError as err:
            raise UserError(f"cannot listen on {host}:{port}: {err.strerror or err}") from None


def cmd_dashboard(args) -> None:
    store = store_of(args)
    _check_listen(args.host, args.port)
    serve(store, host=args.host, port=args.port, launch={"on": True, "off": False}.get(args.launch),
          allow_hosts=tuple(args.allow_host or ()))
