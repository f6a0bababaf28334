"""Only this dashboard's own pages may drive it: the Host and Origin checks on every request.

A web page elsewhere can make the browser send requests to 127.0.0.1:PORT. Two checks
stop it before Dash sees anything (a 403, plain text):

- **Host.** A request must name this server in its Host header: the address it is bound
  to (and, on loopback, `localhost` / `127.0.0.1` / `[::1]`; bound to every interface,
  the machine's names and addresses), on its port, or a name of the allow-list
  (`workbench dashboard --allow-host NAME`). DNS rebinding (a page at evil.example whose
  name later resolves to 127.0.0.1) sends `Host: evil.example:PORT` and is refused.
- **Origin.** A request that can change state (anything but GET, HEAD, OPTIONS; every
  Dash callback is a POST) that carries an Origin must come from the page's own origin,
  `http(s)://<its Host>`; `Origin: null` is refused too.

Starting and cancelling jobs also need the page's launch token (jobs_panel).
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import Flask, Response, request

__all__ = ["Hosts", "allowed_hosts", "install", "LOOPBACK_NAMES"]

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
_SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


@dataclass(frozen=True)
class Hosts:
    """The host names (lower case, IPv6 without brackets) a request may name, and the port (None: any)."""

    names: frozenset[str]
    port: int | None = None

    def allows(self, header: str) -> bool:
        """Whether a Host header ('name', 'name:port', '[v6]:port') names this server."""
        name, port = _split(header)
        if name is None or name not in self.names:
            return False
        return self.port is None or port == self.port or (port is None and self.port == 80)


def _split(header: str) -> tuple[str | None, int | None]:
    """('name', port or None) of a Host header; (None, None) if it is malformed."""
    try:
        parts = urlsplit(f"//{header.strip()}")
        return (parts.hostname or None), parts.port
    except ValueError:  # a port that is not a number, an unclosed [
        return None, None


def _own_names() -> set[str]:
    """This machine's host names and their addresses (for a server bound to every interface)."""
    names = {socket.gethostname(), socket.getfqdn()}
    for name in list(names):
        try:
            names |= {info[4][0].split("%")[0] for info in socket.getaddrinfo(name, None)}
        except (OSError, UnicodeError):
            pass
    return names


def allowed_hosts(host: str, port: int, allow: tuple[str, ...] = ()) -> Hosts:
    """The Hosts a server bound to `host`:`port` answers to, plus the names in `allow`."""
    bound = host.strip("[]").lower()
    names = {bound} | {a.strip().strip("[]").lower() for a in allow if a.strip()}
    if bound in LOOPBACK_NAMES or bound.startswith("127."):
        names |= LOOPBACK_NAMES
    if bound in ("", "0.0.0.0", "::"):
        names |= LOOPBACK_NAMES | {n.lower() for n in _own_names()}
    return Hosts(frozenset(names), port)


def _refuse(why: str) -> Response:
    return Response(f"workbench dashboard: refused: {why}\n", status=403, mimetype="text/plain")


def install(server: Flask, hosts: Hosts) -> None:
    """Refuse, before any view runs, requests whose Host or Origin is not this server's."""

    @server.before_request
    def _guard():
        header = request.headers.get("Host", "")
        if not hosts.allows(header):
            return _refuse(f"Host {header[:80]!r} is not this server's; start it with --allow-host NAME to serve "
                           "another name")
        origin = request.headers.get("Origin")
        if request.method not in _SAFE_METHODS and origin is not None:
            parts = urlsplit(origin) if origin != "null" else None
            if parts is None or parts.scheme not in ("http", "https") or parts.netloc.lower() != header.lower():
                return _refuse(f"Origin {origin[:80]!r} is not this dashboard's own page")
        return None
