"""The page registry and the controls of declared view options: the app builds what they declare."""

from __future__ import annotations

import json

import pytest
from dash import html

from workbench.core.view import ViewOption, get_view, list_options
from workbench.ui.dashboard import create_app, options, pages
from workbench.ui.dashboard.pages import Page, StateField, list_pages, page_at, register_page
from workbench.ui.dashboard.state import parse_state


@pytest.fixture()
def extra_page():
    """A page registered for one test, then removed (the registry is process-wide)."""
    page = register_page(Page("notes", "/notes", "Notes", layout=lambda site: html.Div(id="notes-body"),
                              state=(StateField("note", "notes-body", "children"),), run_tables=(), order=40))
    yield page
    pages._PAGES._entries.pop("notes")


def _layout_ids(app) -> set[str]:
    found, stack = set(), [app.layout()]
    while stack:
        node = stack.pop()
        if isinstance(node, (list, tuple)):
            stack.extend(node)
        elif hasattr(node, "to_plotly_json"):
            if isinstance(getattr(node, "id", None), str):
                found.add(node.id)
            stack.append(getattr(node, "children", None))
    return found


def test_the_built_in_pages_are_registered_in_navigation_order():
    assert [(p.name, p.path, p.title) for p in list_pages()] == [
        ("explore", "/", "Explore"), ("compare", "/compare", "Compare"), ("reports", "/reports", "Reports"),
        ("runs", "/runs", "Runs")]
    assert page_at("/compare").name == "compare" and page_at("/nowhere").name == "explore"
    assert page_at(["not", "a", "path"]).name == "explore"


def test_a_page_is_one_declaration(store, extra_page):
    app = create_app(store)
    ids = _layout_ids(app)
    assert {"nav-notes", "page-notes", "notes-body"} <= ids  # navigation and body, from the declaration
    assert next(p.title for p in list_pages() if p.name == "notes") == "Notes"
    routing = next(k for k in app.callback_map if "page-notes.className" in k)
    body = {"output": routing, "outputs": [{"id": i, "property": p} for i, p in
                                           (o.rsplit(".", 1) for o in routing.strip(".").split("..."))],
            "inputs": [{"id": "url", "property": "pathname", "value": "/notes"}], "changedPropIds": ["url.pathname"]}
    answer = json.loads(app.server.test_client().post("/_dash-update-component", json=body).get_data(as_text=True))
    classes = {i: v["className"] for i, v in answer["response"].items() if "className" in v}
    assert classes["page-notes"] == "page" and classes["page-explore"] == "page hidden"
    writer = next(k for k in app.callback_map if "nav-notes.href" in k)  # the URL writer carries its state
    assert any(i["id"] == "notes-body" for i in app.callback_map[writer]["inputs"])
    assert parse_state("?note=hello&neuron=3") == {"note": "hello", "neuron": 3}


def test_a_page_may_not_take_another_pages_path_or_url_keys(extra_page):
    with pytest.raises(ValueError, match="already page 'notes'"):
        register_page(Page("other", "/notes", "Other", layout=lambda site: None))
    with pytest.raises(ValueError, match="URL keys \\['note'\\]"):
        register_page(Page("other", "/other", "Other", layout=lambda site: None, state=(StateField("note", "x"),)))
    with pytest.raises(ValueError, match="duplicate page name"):
        register_page(Page("notes", "/elsewhere", "Notes", layout=lambda site: None))


def test_every_index_or_choice_option_has_a_control_and_a_url_entry():
    declared = list_options(control=True)
    assert {o.key for o in options.CONTROLS} == set(declared) >= {"neuron", "head", "top_neuron", "scale"}
    fields = {f.key: f for f in options.state_fields()}
    assert fields["neuron"].kind == "int" and fields["scale"].choices == ("shared", "neuron")
    assert "neurons" not in fields  # a pass-through option has no control
    assert options.view_controls("neuron_heatmap") == ("neuron",) and options.view_controls("loss_curves") == ()
    assert options.render_values("neuron_across_primes", {"neuron": 5, "top_neuron": 1}) == {"neuron": 1}


def test_ranges_come_from_what_each_option_declares(store, vid):
    from workbench.ui.dashboard import data

    got = options.ranges(store, data.resolve_variant(store, vid))
    # axis lengths (a summary's axis, the trace's rows, is not read: None, unbounded); a choice's values;
    # the names a run offers a name option (here no probe is saved: only the canonical one)
    assert got == {"neuron": 24, "head": 4, "scale": ["shared", "neuron"], "trace_input": None,
                   "probe": ["canonical"]}


def test_a_name_control_lists_the_runs_probes_and_keeps_to_them(store, vid):
    from workbench.analysis.probing import add_probe
    from workbench.store.probes import save_probe
    from workbench.core.probes import Probe
    from workbench.ui.dashboard import data

    add_probe(store, "below", "modular_addition", "a < b")
    save_probe(store, Probe("elsewhere", "interleaved_streams", "rows 0"))  # another family's: not offered
    try:
        got = options.ranges(store, data.resolve_variant(store, vid))["probe"]
        probe = get_view("trace").option("probe")
        assert got == ["canonical", "below"] == options.name_options(probe, {"probe": got})
        assert options.clamp(probe, "below", got) == "below"
        assert options.clamp(probe, "elsewhere", got) == "canonical" == options.clamp(probe, None, got)
        assert options.name_options(probe, None) == ["canonical"]
    finally:
        for name in ("below", "elsewhere"):
            store.probe_path(name).unlink()


@pytest.mark.parametrize("value, bound, expected", [
    (999, 24, 23), (-4, 24, 0), (2.4, 24, 2), (2.5, 24, 3), ("7", 24, 7), (None, 24, 0), (float("nan"), 24, 0),
    (True, 24, 0), ([3], 24, 0), (10**30, 24, 0), (5, None, 5), (5, 0, 5),
])
def test_clamp_rounds_and_holds_an_index_in_range(value, bound, expected):
    assert options.clamp(get_view("neuron_heatmap").option("neuron"), value, bound) == expected


def test_clamp_keeps_a_choice_among_its_values():
    scale = get_view("neuron_grid").option("scale")
    assert options.clamp(scale, "neuron", ["shared", "neuron"]) == "neuron"
    assert options.clamp(scale, "log", ["shared", "neuron"]) == "shared" == options.clamp(scale, ["x"], None)


@pytest.mark.parametrize("kwargs, message", [
    ({"name": "Neuron", "label": "x"}, "lower_snake_case"), ({"name": "epoch", "label": "x"}, "none of"),
    ({"name": "n", "label": "x", "kind": "slider"}, "kind must be"),
    ({"name": "n", "label": "x", "axis": "neuron", "capability": "n_heads"}, "not both"),
    ({"name": "n", "label": "x", "capability": "n_hedas"}, "unknown capability"),
    ({"name": "n", "label": "x", "kind": "choice"}, "needs its choices"),
    ({"name": "n", "label": "x", "kind": "choice", "choices": ("a",), "default": "a", "axis": "head"}, "only an index"),
    ({"name": "n", "label": "x", "kind": "choice", "choices": ("a",), "default": "b"}, "not one of"),
    ({"name": "n", "label": "x", "default": -1}, "default is an int >= 0"),
    ({"name": "n", "label": "x", "kind": "name", "default": "a"}, "which `names`"),
    ({"name": "n", "label": "x", "kind": "name", "names": "probes", "default": None}, "default is a name"),
])
def test_a_malformed_option_fails_when_declared(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ViewOption(**kwargs)


def test_one_key_one_meaning():
    from workbench.core.view import register_view

    other = ViewOption("neuron", "Neuron", axis="top")  # the key of NEURON, another range
    with pytest.raises(ValueError, match="declared differently by another view"):
        register_view("not_registered", scope="epoch", sources=("neuron_activations",), options=(other,))(lambda a: a)
    with pytest.raises(ValueError, match="click must be"):
        register_view("not_registered", scope="epoch", sources=("neuron_activations",), click="Bad key")(lambda a: a)
