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

A callback request must also have the shape its callback declares (the output one of
the server's callbacks, as many inputs and states as it takes): a malformed one is a 400
naming what is wrong, not a 500 from inside Dash. Starting and cancelling jobs, and saving a
report view, also need the page's launch token (jobs_panel, save_view: `token_ok`).
"""

from __future__ import annotations

import hmac
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from typing import Any

from flask import Flask, Response, request

__all__ = ["Hosts", "allowed_hosts", "install", "check_callbacks", "callback_output", "token_ok", "LOOPBACK_NAMES"]

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
_SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
_CALLBACK_PATH = "/_dash-update-component"


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


def _refuse(why: str, status: int = 403) -> Response:
    return Response(f"workbench dashboard: refused: {why}\n", status=status, mimetype="text/plain")


def _malformed(body: Any, callbacks: dict) -> str | None:
    """What is wrong with a callback request's body for the server's `callbacks`, or None."""
    if not isinstance(body, dict) or not isinstance(body.get("output"), str):
        return "not a callback request"
    spec = callbacks.get(body["output"])
    if spec is None or "callback" not in spec:
        return "no such callback on this server"
    for part in ("inputs", "state"):
        items = body.get(part, [])
        if not isinstance(items, list) or len(items) != len(spec.get(part, [])):
            return f"its {part} do not match the callback's"
        if not all(_item(i) or isinstance(i, list) and all(_item(j) for j in i) for i in items):
            return f"its {part} are not (id, property, value) items"  # a list of them for a wildcard (ALL) id
    return None


def _item(i: object) -> bool:
    return isinstance(i, dict) and "id" in i and "property" in i


def install(server: Flask, hosts: Hosts) -> None:
    """Refuse, before any view runs, requests whose Host or Origin is not this server's (register it first)."""

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


def check_callbacks(server: Flask, callbacks: dict) -> None:
    """Answer a callback request that does not fit one of `callbacks` (the Dash app's
    callback_map) with a 400 naming the problem (register it after every other hook)."""

    @server.before_request
    def _shape():
        if request.method == "POST" and request.path == _CALLBACK_PATH:
            problem = _malformed(request.get_json(silent=True), callbacks)
            if problem:
                return _refuse(f"malformed callback request: {problem}", status=400)
        return None


def callback_output() -> str | None:
    """The output a callback request (POST to Dash's endpoint) asks for, or None for any other request."""
    if request.method != "POST" or request.path != _CALLBACK_PATH:
        return None
    body = request.get_json(silent=True)
    return body.get("output") if isinstance(body, dict) and isinstance(body.get("output"), str) else None


def token_ok(token: str | None, sent: object) -> bool:
    """Whether a page sent back this server's launch token (None: the server has none), in constant time."""
    return bool(token) and isinstance(sent, str) and hmac.compare_digest(sent.encode(), token.encode())
