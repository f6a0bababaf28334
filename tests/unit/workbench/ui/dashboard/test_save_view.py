"""Saving the Explore layout as a report view (issue 31 item 4): the views it holds, and the
guard: only a request from the dashboard's own page, with its launch token, writes a spec."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest

from workbench.query.report_specs import load_spec
from workbench.store import Store
from workbench.testing.synthetic import synthetic_run
from workbench.ui.dashboard import create_app, guard
from workbench.ui.dashboard.data import variant_id
from workbench.ui.dashboard.reports import render_spec
from workbench.ui.dashboard.save_view import OFF, layout_views

HOST = "127.0.0.1:8050"


@pytest.fixture
def store(tmp_path):
    store = Store(tmp_path / "store")
    synthetic_run(store, p=7, epochs=[0, 100, 200], n_neurons=8, n_heads=2)
    return store


def _search(store, **extra) -> str:
    return "?" + urlencode({"variant": variant_id(store.runs()[0]), **extra})


def test_the_open_groups_views_keep_the_epoch_and_the_controls_they_follow(store):
    key = store.runs()[0]
    views = layout_views(store, key, {"groups": ["training", "neurons"], "epoch": 100, "neuron": 3})
    by_view = {v["view"]: v for v in views}
    assert by_view["loss_curves"] == {"view": "loss_curves"}  # over training: no epoch, no neuron
    per_epoch = [v for v in views if "epoch" in v]
    assert per_epoch and all(v["epoch"] == 100 for v in per_epoch)
    assert any(v.get("neuron") == 3 for v in per_epoch)  # the neuron panel follows the neuron control
    assert layout_views(store, key, {"groups": ["no_such_group"]}) == []


def _app(store, launch=True):
    app = create_app(store, launch=launch, hosts=guard.allowed_hosts("127.0.0.1", 8050))
    return app, app.server.test_client()


def _token(app) -> str | None:
    """The token the served page carries (the Reports page's dcc.Store)."""
    layout = app.layout() if callable(app.layout) else app.layout
    return next(c.data for c in layout._traverse() if getattr(c, "id", None) == "reports-token")


def _save(app, client, name, search, token, **headers):
    output = next(k for k in app.callback_map if k.startswith("..reports-save-message.children"))
    state = [("reports-save-name", "value", name), ("reports-save-title", "value", "My layout"),
             ("url", "search", search), ("reports-token", "data", token)]
    body = {"output": output, "outputs": [{"id": "reports-save-message", "property": "children"},
                                          {"id": "reports-spec", "property": "options"},
                                          {"id": "reports-spec", "property": "value"},
                                          {"id": "reports-run", "property": "value"}],
            "inputs": [{"id": "reports-save", "property": "n_clicks", "value": 1}],
            "state": [{"id": i, "property": p, "value": v} for i, p, v in state],
            "changedPropIds": ["reports-save.n_clicks"]}
    return client.post("/_dash-update-component", data=json.dumps(body), content_type="application/json",
                       headers={"Host": HOST, **headers})


def test_saving_with_the_token_writes_a_spec_the_page_then_shows(store):
    app, client = _app(store)
    search = _search(store, groups="training,neurons", epoch=200, neuron=2)
    reply = _save(app, client, "mine", search, _token(app))
    response = reply.get_json()["response"]
    assert reply.status_code == 200 and "saved report spec 'mine'" in response["reports-save-message"]["children"]
    assert response["reports-run"]["value"] == variant_id(store.runs()[0])  # the page then shows the layout's run
    _, spec = load_spec(store, "mine")
    assert spec.title == "My layout" and spec.views[0].view == "loss_curves"
    assert any(v.epoch == 200 and v.options.get("neuron") == 2 for v in spec.views)
    body = render_spec(store, "mine", variant_id(store.runs()[0]))
    assert body[0].children == "My layout" and len(body) == 1 + len(spec.views)
    again = _save(app, client, "mine", search, _token(app)).get_data(as_text=True)
    assert "not saved: report spec 'mine' exists" in again
    shipped = _save(app, client, "the_turn", search, _token(app)).get_data(as_text=True)
    assert "is shipped" in shipped


@pytest.mark.parametrize("headers, token", [
    ({"Origin": "http://evil.example"}, "good"),  # a page elsewhere posting to this server: 403 before Dash
    ({"Origin": "null"}, "good"),
    ({}, "stale-token"),  # no page of this server: no token
    ({}, None),
])
def test_a_cross_origin_or_tokenless_save_writes_nothing(store, headers, token):
    app, client = _app(store)
    sent = _token(app) if token == "good" else token
    reply = _save(app, client, "evil", _search(store, groups="training"), sent, **headers)
    text = reply.get_data(as_text=True)
    if headers:
        assert reply.status_code == 403 and "refused: Origin" in text
    else:
        assert "not saved: this page's launch token is missing or stale" in text
    assert store.report_spec_names() == []


def test_a_server_that_may_not_launch_may_not_save(store):
    app, client = _app(store, launch=False)
    assert _token(app) is None
    reply = _save(app, client, "mine", _search(store, groups="training"), None).get_data(as_text=True)
    assert f"not saved: {OFF}" in reply and store.report_spec_names() == []
