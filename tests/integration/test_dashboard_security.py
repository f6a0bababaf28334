"""Only the dashboard's own pages can drive it (issue 24, security): a request naming another
Host (DNS rebinding), posted from another Origin, or without the page's launch token is
refused and launches nothing (no job row, no index, no run); a form value of the wrong type
is a message in the page, never a 500; with launching off the job callbacks answer with a
refusal, not a 500."""

from __future__ import annotations

import json
import math
import socket

import pytest

from workbench.store import Store
from workbench.ui.dashboard import create_app, guard
from workbench.ui.dashboard._background import background_server

SPEC = "modular_addition:p=17,frac_train=0.5"
FORM = {"job-kind": "train", "job-target": SPEC, "job-epochs": "20", "job-schedule": "0:20:10"}


def _token(client, host: str = "127.0.0.1:8050") -> str | None:
    """The launch token the served page carries (the dcc.Store in the layout)."""
    def find(node):
        if isinstance(node, dict):
            if node.get("props", {}).get("id") == "launch-token":
                return node["props"].get("data")
            return next((t for t in map(find, node.values()) if t is not None), None)
        if isinstance(node, list):
            return next((t for t in map(find, node) if t is not None), None)
        return None

    return find(client.get("/_dash-layout", headers={"Host": host}).get_json())


STATES = ["job-kind", "job-target", "job-config", "job-recipe", "job-epochs", "job-schedule", "job-extra-epochs",
          "job-analyzers", "launch-token"]  # the start callback's, in order


def _start_body(app, values: dict) -> dict:
    spec = app.callback_map.get("job-message.children", {"state": [{"id": i} for i in STATES]})
    assert [s["id"] for s in spec["state"]] == STATES
    state = [{"id": i, "property": "data" if i == "launch-token" else "value", "value": values.get(i)} for i in STATES]
    return {"output": "job-message.children", "outputs": {"id": "job-message", "property": "children"},
            "inputs": [{"id": "job-start", "property": "n_clicks", "value": 1}], "state": state,
            "changedPropIds": ["job-start.n_clicks"]}


def _post(client, body, **headers):
    return client.post("/_dash-update-component", data=json.dumps(body), content_type="application/json",
                       headers=headers)


def _launched_nothing(store: Store) -> None:
    assert not store.index_path().exists() and not (store.root / Store.JOBS_DIR).exists() and store.runs() == []


@pytest.fixture
def served(tmp_path):
    store = Store(tmp_path / "store")
    store.root.mkdir()
    app = create_app(store, launch=True, hosts=guard.allowed_hosts("127.0.0.1", 8050))
    client = app.server.test_client()
    return store, app, client


@pytest.mark.parametrize("headers, refused", [
    ({"Host": "evil.example:8050"}, "Host 'evil.example:8050'"),  # DNS rebinding: the attacker's name
    ({"Host": "evil.example:8050", "Origin": "http://evil.example:8050"}, "Host"),
    ({"Host": "127.0.0.1:9999"}, "Host"),  # another port
    ({"Host": "127.0.0.1:8050", "Origin": "http://evil.example"}, "Origin 'http://evil.example'"),
    ({"Host": "127.0.0.1:8050", "Origin": "null"}, "Origin 'null'"),
    ({"Host": "127.0.0.1:8050", "Origin": "http://localhost:8050"}, "Origin"),  # another origin, same machine
])
def test_a_foreign_host_or_origin_is_refused_and_launches_nothing(served, headers, refused):
    store, app, client = served
    token = _token(client)
    assert token
    reply = _post(client, _start_body(app, {**FORM, "launch-token": token}), **headers)
    assert reply.status_code == 403 and refused in reply.get_data(as_text=True)
    _launched_nothing(store)


def test_the_page_itself_is_refused_to_a_rebinding_host(served):
    _, _, client = served
    assert client.get("/", headers={"Host": "evil.example:8050"}).status_code == 403
    assert client.get("/_dash-layout", headers={"Host": "evil.example:8050"}).status_code == 403
    assert client.get("/", headers={"Host": "localhost:8050"}).status_code == 200
    assert client.get("/", headers={"Host": "[::1]:8050"}).status_code == 200


@pytest.mark.parametrize("sent", [None, "", "wrong", 7, ["x"], {"t": 1}])
def test_without_the_pages_launch_token_nothing_starts(served, sent):
    store, app, client = served
    reply = _post(client, _start_body(app, {**FORM, "launch-token": sent}), Host="127.0.0.1:8050",
                  Origin="http://127.0.0.1:8050")
    assert reply.status_code == 200 and "launch token is missing or stale" in reply.get_data(as_text=True)
    _launched_nothing(store)


CRAFTED = [{"a": 1}, ["lr=1"], 5, 1e308, math.inf, True, "1" * 23, "x" * 5000]


KIND_OF = {"job-extra-epochs": "extend", "job-analyzers": "analyze"}  # the job kind that reads the field


@pytest.mark.parametrize("field", ["job-kind", "job-target", "job-config", "job-recipe", "job-epochs",
                                   "job-schedule", "job-extra-epochs", "job-analyzers"])
@pytest.mark.parametrize("value", CRAFTED, ids=[repr(v)[:20] for v in CRAFTED])
def test_a_wrong_value_in_the_form_is_a_message_never_a_500(served, field, value):
    store, app, client = served
    form = {**FORM, "job-kind": KIND_OF.get(field, "train"), "launch-token": _token(client), field: value}
    reply = _post(client, _start_body(app, form), Host="127.0.0.1:8050", Origin="http://127.0.0.1:8050")
    text = reply.get_data(as_text=True)
    assert reply.status_code == 200 and "not started" in text, text[-300:]
    _launched_nothing(store)


def test_launch_off_answers_with_a_refusal_not_a_500(tmp_path):
    store = Store(tmp_path / "store")
    store.root.mkdir()
    app = create_app(store, launch=False)
    client = app.server.test_client()
    assert _token(client) is None
    reply = _post(client, _start_body(app, {**FORM, "launch-token": "anything"}))
    assert reply.status_code == 200 and "starting jobs from this page is off" in reply.get_data(as_text=True)
    _launched_nothing(store)


@pytest.mark.parametrize("body", [{"output": "nosuch.children"}, {"output": 7}, [], "x",
                                  {"output": "runs-table.data", "inputs": [], "state": []}])
def test_a_malformed_callback_request_is_a_400_not_a_500(served, body):
    _, _, client = served
    reply = _post(client, body, Host="127.0.0.1:8050")
    assert reply.status_code == 400 and "malformed callback request" in reply.get_data(as_text=True)


def _raw(url: str, host: str, origin: str | None = None) -> str:
    """A POST with exactly these headers, over a socket (a browser on a rebinding page sends this)."""
    port = int(url.rstrip("/").rsplit(":", 1)[1])
    body = json.dumps({"output": "job-message.children"}).encode()
    head = (f"POST /_dash-update-component HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            + (f"Origin: {origin}\r\n" if origin else "") + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n")
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(head.encode() + body)
        return b"".join(iter(lambda: sock.recv(65536), b"")).decode(errors="replace")


def test_a_rebinding_request_to_a_real_server_is_refused(tmp_path):
    store = Store(tmp_path / "store")
    store.root.mkdir()
    with background_server(store, launch=True) as url:
        port = url.rstrip("/").rsplit(":", 1)[1]
        assert _raw(url, f"evil.example:{port}", f"http://evil.example:{port}").startswith("HTTP/1.1 403")
        assert _raw(url, f"127.0.0.1:{port}", f"http://evil.example:{port}").startswith("HTTP/1.1 403")
    _launched_nothing(store)
