"""Capabilities: needs met or not, the reason text, and the analyzer and view filters built on them."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from workbench.core.analyzer import (
    _ANALYZERS,
    analyzer_needs,
    get_analyzer,
    list_analyzers,
    register_analyzer,
    unmet_needs,
)
from workbench.core.capabilities import Capabilities, Modular, check_need, met, reason, unmet
from workbench.core.family import get_family, list_families
from workbench.core.variant import parse_variant
from workbench.core.view import (
    applicable_views,
    get_view,
    list_views,
    optional_sources,
    register_view,
    unmet_view_needs,
    view_needs,
)
from workbench.query.views import is_placeholder, run_views, view_figure
from workbench.store import RunKey, RunRecord, Store

CAPS = {"modular": {"p": 7, "operation": "multiply", "operands": (0, 2), "answer": 3},
        "transformer": True, "mlp": False, "n_layers": 2, "neuron_hooks": ["blocks.1.mlp.hook_post"],
        "attention_hooks": []}


@pytest.mark.parametrize("need,expected", [
    ("transformer", True), ("mlp", False), ("sequence", False),  # present and truthy / falsy / absent
    ("attention_hooks", False),  # an empty list is no capability
    ("modular", True), ("modular.p", True), ("modular.q", False), ("n_layers.x", False),
    ("modular.operation=multiply", True), ("modular.operation=add", False), ("n_layers=2", True),
    ("modular.operands", True),
])
def test_met(need, expected):
    assert met(need, CAPS) is expected


def test_unmet_keeps_order_drops_repeats_and_what_an_unmet_parent_implies():
    assert unmet(["mlp", "transformer", "mlp", "sequence"], CAPS) == ["mlp", "sequence"]
    assert unmet(["modular.operation=add", "modular"], {"transformer": True}) == ["modular"]
    assert unmet(["modular.operation=add", "modular"], CAPS) == ["modular.operation=add"]
    assert unmet([], {}) == []
    assert reason(["modular", "attention_hooks"]) == "needs modular, attention_hooks"


@pytest.mark.parametrize("bad", ["", "=add", "modular.", ".p", "a..b=1", None])
def test_malformed_needs_are_refused_at_registration(bad):
    with pytest.raises(ValueError, match="malformed capability need"):
        check_need(bad)
    with pytest.raises(ValueError, match="malformed capability need"):
        register_analyzer("never_registered", kind="output", outputs={}, needs=(bad,))
    assert "never_registered" not in _ANALYZERS


@pytest.mark.parametrize("bad,problem", [("atention_hooks", "has no 'atention_hooks'"),
                                         ("modular.q", "modular has no 'q'"),
                                         ("n_layers.x", "n_layers has no 'x'"),
                                         ("routing.gate_hook", "routing has no 'gate_hook'")])
def test_a_need_outside_the_capability_schema_fails_at_registration(bad, problem):
    for register in (lambda: register_analyzer("never_registered", kind="output", outputs={}, needs=(bad,)),
                     lambda: register_view("never_registered", scope="epoch", sources=("x",), needs=(bad,))):
        with pytest.raises(ValueError, match=f"unknown capability .*{problem}"):
            register()
    assert "never_registered" not in _ANALYZERS and "never_registered" not in list_views()
    assert check_need("modular.operation=multiply") == "modular.operation=multiply"  # values are not in the schema


def test_capabilities_are_a_typed_record_read_as_a_dict():
    with pytest.raises(ValidationError, match="atention_hooks"):
        Capabilities(atention_hooks=["blocks.0.attn.hook_pattern"])
    with pytest.raises(ValidationError, match="operands"):
        Capabilities(modular={"p": 7, "operation": "add", "answer": 2})
    caps = Capabilities(modular=Modular(p=7, operation="multiply", operands=(0, 2), answer=3), transformer=True,
                        mlp=False, n_layers=2, neuron_hooks=["blocks.1.mlp.hook_post"], attention_hooks=[])
    assert caps.as_dict() == CAPS  # unset fields are left out, as a family's dict left them out
    assert [met(n, caps) for n in ("modular.operation=multiply", "mlp", "sequence")] == [True, False, False]
    assert unmet(["attention_hooks", "modular.p"], caps) == unmet(["attention_hooks", "modular.p"], CAPS)


def test_hooks_may_be_a_function_of_the_capabilities():
    register_analyzer("probe_hooks", kind="activations", outputs={}, hooks=lambda caps: tuple(caps["neuron_hooks"]),
             needs=("neuron_hooks",))(lambda ctx: {})
    try:
        spec = get_analyzer("probe_hooks")
        assert spec.hook_names(CAPS) == ("blocks.1.mlp.hook_post",)
        assert get_analyzer("logit_lens").hook_names({"resid_hooks": ["x", "y"]}) == ("x", "y")
        assert get_analyzer("loss_accuracy").hook_names(CAPS) == ()
    finally:
        _ANALYZERS._entries.pop("probe_hooks")


def test_analyzer_needs_include_what_they_require_or_reference():
    for name in list_analyzers():
        spec = get_analyzer(name)
        for dep in spec.requires + spec.reference:
            assert set(analyzer_needs(dep)) <= set(analyzer_needs(name)), (name, dep)
    assert "attention_hooks" in analyzer_needs("specialization_trajectory")  # through head_freq_specialization
    assert set(analyzer_needs("loss_decomposition")) >= {"modular.operation=add", "neuron_hooks"}
    assert unmet_needs("loss_decomposition", CAPS) == ["modular.operation=add"]  # multiply: no a+b key directions


def test_list_analyzers_by_capabilities_is_what_meets_them():
    applies = list_analyzers(caps=CAPS)
    assert applies == [n for n in list_analyzers() if not unmet_needs(n, CAPS)]
    assert "neuron_freq_clusters" in applies and "attention_patterns" not in applies
    assert list_analyzers(caps={}) == [n for n in list_analyzers() if not analyzer_needs(n)]


def test_optional_sources_are_the_summaries_that_emit_epoch_markers():
    assert optional_sources() == {n for n in list_analyzers(scope="summary") if get_analyzer(n).markers}
    assert "turn" in optional_sources()


def test_a_view_needs_what_its_sources_need_except_optional_ones():
    for name in list_views():
        view = get_view(name)
        for source in view.sources:
            if source in list_analyzers() and source not in optional_sources():
                assert set(analyzer_needs(source)) <= set(view_needs(name)), (name, source)
    assert view_needs("loss_curves") == ()  # metrics + the optional turn mark
    assert unmet_view_needs("attention_patterns", CAPS) == ["attention_hooks"]


@pytest.mark.parametrize("family", list_families())
def test_every_family_has_views_and_applicable_views_are_those_whose_analyzers_apply(family):
    fam = get_family(family)
    caps = fam.capabilities(fam.Params(**fam.tiny["params"]) if fam.tiny else fam.Params())
    views = applicable_views(caps)
    assert "loss_curves" in views
    for name in list_views():
        view = get_view(name)  # a marker summary is optional beside other sources, never as the only one
        sources = [s for s in view.sources if s in list_analyzers()
                   and not (s in optional_sources() and len(view.sources) > 1)]
        applies = all(s in list_analyzers(caps=caps) for s in sources) and not unmet(view.needs, caps)
        assert (name in views) == applies, name


def _run(store: Store, spec: str) -> RunKey:
    variant = parse_variant(spec)
    key = RunKey(*variant.key)
    store.write_record(key, RunRecord(variant=variant.spec, family=variant.family.name, epochs=0, schedule="0",
                                      eval_every=1))
    return key


def test_run_views_follow_the_runs_family(tmp_path):
    store = Store(tmp_path)
    mlp = _run(store, "least_action:p=7,model=mlp")
    transformer = _run(store, "modular_addition:p=7")
    assert "attention_patterns" not in run_views(store, mlp) and "neuron_freq_clusters" in run_views(store, mlp)
    assert run_views(store, transformer) == applicable_views(get_family("modular_addition").capabilities(
        parse_variant("modular_addition:p=7").params))
    assert {"attention_patterns", "neuron_freq_clusters", "loss_curves"} <= set(run_views(store, transformer))
    assert run_views(store, mlp, scope="trajectory") == [v for v in run_views(store, mlp)
                                                         if get_view(v).scope == "trajectory"]
    unknown = RunKey("modular_addition", "p=9,seed=1")  # no variant.json: nothing is filtered out
    assert run_views(store, unknown) == list_views()
    store.variant_path(mlp).write_text("{not json")  # corrupt: nothing is filtered out, nothing raised
    assert run_views(store, mlp) == list_views()


def test_a_view_that_does_not_apply_says_what_the_family_lacks(tmp_path):
    store = Store(tmp_path)
    key = _run(store, "least_action:p=7,model=mlp")
    store.metrics_path(key).write_bytes(b"")  # exists: the run counts as trained
    (store.checkpoint_path(key, 0)).parent.mkdir(parents=True, exist_ok=True)
    store.checkpoint_path(key, 0).write_bytes(b"")
    fig = view_figure(store, key, "attention_patterns", epoch=0)
    assert is_placeholder(fig)
    assert fig.layout.meta["message"] == "attention_patterns does not apply to least_action (needs attention_hooks)"


def test_the_dashboard_hides_panels_whose_view_does_not_apply(tmp_path):
    from workbench.ui.dashboard import data, panels

    store = Store(tmp_path)
    key = _run(store, "least_action:p=7,model=mlp")
    req = panels.Request(key=key, vid=data.variant_id(key), at=0, options={"neuron": 0, "head": 0}, pinned={})
    _, message, cls, entry = panels.render_panel(store, "attention_patterns", req)
    assert "not-applicable" in cls.split() and message == []
    assert entry["key"] == panels.panel_key("attention_patterns", req)  # drawn: not re-rendered until the run changes
    for view in ("neuron_freq_clusters", "training_curves"):  # these apply: rendered (here: a missing-data message)
        assert "not-applicable" not in panels.render_panel(store, view, req)[2].split()
    # loss_curves applies but is hidden here: least_action's training_curves draws its curves in full (issue 30 item 10)
    assert "not-applicable" in panels.render_panel(store, "loss_curves", req)[2].split()
