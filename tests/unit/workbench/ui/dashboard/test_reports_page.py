"""The Reports page shows a report spec for a run of the store, in the spec's order, or one line why not."""

from __future__ import annotations

from dash import dcc, html

from workbench.ui.dashboard.pages import Site, get_page
from workbench.ui.dashboard.reports import layout, render_spec


def _texts(children) -> list[str]:
    return [c.children for c in children if isinstance(c, (html.H2, html.P))]


def test_a_spec_shows_its_title_and_views_in_order(store, vid):
    body = render_spec(store, "failed_to_generalize", vid)
    assert isinstance(body[0], html.H2) and body[0].children == "Why did this run fail to generalize?"
    views = [d for d in body if isinstance(d, html.Div)]
    heads = [d.children[0].children for d in views]
    assert [h.split(" — ")[0] for h in heads] == ["loss_curves", "training_dynamics", "dimensionality",
                                                   "freq_specialization", "restricted_loss"]
    assert all(isinstance(d.children[-1], (dcc.Graph, html.P)) for d in views)


def test_a_bad_run_or_spec_is_one_line(store, vid):
    for name, run in (("the_turn", "nope/x"), ("no_such_spec", vid)):
        (line,) = render_spec(store, name, run)
        assert isinstance(line, html.P) and "\n" not in line.children
    assert "Pick a report spec" in render_spec(store, None, vid)[0].children


def test_the_page_is_registered_and_lists_the_shipped_specs(store):
    assert get_page("reports").path == "/reports"
    picker = layout(Site(store)).children[0].children[1]
    assert {"the_turn", "failed_to_generalize"} <= {o["value"] for o in picker.options}
