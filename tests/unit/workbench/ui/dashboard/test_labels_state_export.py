"""Short labels and colours, the URL state, export names and routes, and serving."""

from __future__ import annotations

import socket

import pytest

from workbench.core.errors import UserError
from workbench.store import RunKey
from workbench.ui.dashboard import compare, create_app, data, serve
from workbench.ui.dashboard.labels import PALETTE, colours, export_name, short_labels
from workbench.ui.dashboard.layout import variant_options
from workbench.ui.dashboard.state import parse_state

A = RunKey("modular_addition", "p=53,seed=1,data_seed=598,frac_train=0.4")
B = RunKey("modular_addition", "p=53,seed=2,data_seed=598,frac_train=0.4")
C = RunKey("modular_addition", "p=53,seed=3,data_seed=598,frac_train=0.5")


def test_short_labels_show_only_what_differs():
    assert short_labels([A, B]) == {A: "seed=1", B: "seed=2"}
    assert short_labels([A, B, C]) == {A: "seed=1,frac_train=0.4", B: "seed=2,frac_train=0.4",
                                       C: "seed=3,frac_train=0.5"}
    assert short_labels([A]) == {A: A.variant}
    other = RunKey("modular_subtraction", A.variant)
    assert short_labels([A, other]) == {A: "modular_addition", other: "modular_subtraction"}
    third = RunKey("least_action", "p=17,model=mlp")  # another family's params are not missing ("no model")
    assert short_labels([A, B, third]) == {A: "modular_addition: seed=1", B: "modular_addition: seed=2",
                                           third: "least_action"}


def test_each_variant_keeps_one_distinct_colour():
    got = colours([A, B, C])
    assert list(got.values()) == list(PALETTE[:3])


def _text(component) -> str:
    kids = getattr(component, "children", component)
    return "".join(_text(c) for c in kids) if isinstance(kids, list) else str(kids)


def test_variant_picker_uses_short_labels_with_full_tooltip(store):
    options = variant_options(store)
    assert [_text(o["label"]) for o in options] == ["modular_additionseed=0", "modular_additionseed=1"]
    assert all(o["title"].startswith("modular_addition: p=7,seed=") for o in options)
    assert all(o["label"].title == o["title"] for o in options)  # the full spec on hover


def test_picker_groups_runs_by_family_with_a_badge_and_searches_the_spec(tmp_path):
    """Issue 30 item 2: runs of one family together, the family as a coloured badge, search by any part."""
    from workbench.store import Store
    from workbench.testing.synthetic import listed_run, synthetic_run
    from workbench.ui.dashboard.labels import family_colour

    store = Store(tmp_path)
    synthetic_run(store, p=7, epochs=[0, 100], seed=0, n_neurons=8, n_heads=2, analyzers=["turn"])
    listed_run(store, "universal_modular:max_p=13,train_min=2,train_max=11,n_unseen=1,d_model=16,n_heads=2,"
                      "d_mlp=32,d_sin=8", epochs=200, every=100)
    synthetic_run(store, p=7, epochs=[0, 100], seed=1, n_neurons=8, n_heads=2, analyzers=["turn"])
    options = variant_options(store)
    families = [o["value"].split("/")[0] for o in options]
    assert families == ["modular_addition", "modular_addition", "universal_modular"]  # grouped
    badge, label = options[0]["label"].children
    families = ["modular_addition", "universal_modular"]
    assert badge.children == "modular_addition" and badge.style["background"] == family_colour("modular_addition", families)
    assert label.children == "seed=0"  # the family is the badge: not repeated in the label
    assert _text(options[2]["label"]) == "universal_modular(its only run)"
    assert "max_p=13" in options[2]["search"] and "universal_modular" in options[2]["search"]
    assert options[2]["label"].children[0].style["background"] == family_colour("universal_modular", families)
    assert family_colour("modular_addition", families) != family_colour("universal_modular", families)


def test_the_dashboard_opens_on_the_latest_finished_run(tmp_path):
    """Issue 30 item 2: not the alphabetically first run (perhaps one still at epoch 0)."""
    import os

    from workbench.store import Store
    from workbench.testing.synthetic import synthetic_run

    store = Store(tmp_path)
    keys = [synthetic_run(store, p=7, epochs=[0, 100], seed=s, n_neurons=8, n_heads=2, analyzers=["turn"])
            for s in (0, 1, 2)]
    store.write_status(keys[2], 10, 100, "running")  # the newest, still training
    for i, key in enumerate(keys):
        for path in (store.metrics_path(key), store.variant_path(key)):
            os.utime(path, (1e9 + 100 * i, 1e9 + 100 * i))
    os.utime(store.variant_path(keys[0]), (1e9 + 150, 1e9 + 150))  # seed 0 updated after seed 1
    assert data.default_run(store) == keys[0]
    store.write_status(keys[2], 100, 100, "done")  # now finished, and the newest
    assert data.default_run(store) == keys[2]
    assert data.default_run(Store(tmp_path / "empty")) is None


def test_compare_lines_share_colours_and_name_missing_variants(store):
    ids = [data.variant_id(k) for k in store.runs()]
    out = compare.compare_figures(store, list(reversed(ids)) + ["../../etc"], "epoch")
    for fig, _, _ in out:
        for trace in fig.data:  # seed 1 was picked first: the first colour, on every panel
            assert trace.line.color == (PALETTE[0] if trace.name == "seed=1" else PALETTE[1])
    fig, message, cls = out[list(compare.METRICS).index("total_norm")]  # seed 1 has no weight_trajectory
    text = str(message)
    assert len(fig.data) == 1 and cls == "panel"
    assert f"workbench analyze modular_addition:{store.runs()[1].variant} --analyzers weight_trajectory" in text
    empty = compare.compare_figures(store, [], "epoch")
    assert all(cls == "panel empty" and "Pick variants" in str(msg) for _, msg, cls in empty)


def test_parse_state_keeps_only_well_formed_entries():
    state = parse_state("?variant=fam/p=1,seed=2&epoch=300&neuron=x&head=-1&groups=a,,b&compare=fam/a&compare=fam/b"
                        "&align=sideways")
    assert state == {"variant": "fam/p=1,seed=2", "epoch": 300, "groups": ["a", "b"], "compare": ["fam/a", "fam/b"]}
    assert parse_state("groups=") == {"groups": []}
    assert parse_state(None) == {} and parse_state(["x"]) == {} and parse_state("&".join(["a=1"] * 500)) == {}
    assert parse_state("epoch=" + "9" * 40) == {}


def test_export_names_are_canonical_and_safe():
    assert export_name(A, "neuron_heatmap", 3500) == f"modular_addition_{A.variant}_neuron_heatmap_epoch3500"
    assert export_name(A, "loss_curves") == f"modular_addition_{A.variant}_loss_curves"
    assert "/" not in export_name(RunKey("a/b", "c d"), "v")
    long, longer = (RunKey("interleaved_streams", ",".join(f"param_{i:02d}=value_{i:02d}" for i in range(20)) + end)
                    for end in ("", "0"))
    name = export_name(long, "attention_patterns_by_head", 123456)
    assert len(name.encode() + b".html") <= 255 and name.startswith("interleaved_streams_param_00=value_00,")
    assert name.endswith("_attention_patterns_by_head_epoch123456")  # the view and epoch survive the cut
    assert name != export_name(longer, "attention_patterns_by_head", 123456)  # a hash of the whole name


def test_html_export_routes(store, vid):
    client = create_app(store).server.test_client()
    res = client.get("/export/figure", query_string={"variant": vid, "view": "neuron_heatmap", "epoch": "200",
                                                      "neuron": "3"})
    key = data.resolve_variant(store, vid)
    assert res.status_code == 200 and "plotly" in res.get_data(as_text=True).lower()
    assert f'filename="{export_name(key, "neuron_heatmap", 200)}.html"' in res.headers["Content-Disposition"]
    assert "neuron 3" in res.get_data(as_text=True) and "epoch 200" in res.get_data(as_text=True)
    res = client.get("/export/panels", query_string={"variant": vid, "views": "loss_curves,neuron_grid", "epoch": "100"})
    page = res.get_data(as_text=True)
    assert res.status_code == 200 and page.count("Plotly.newPlot") == 2 and page.count("<script type=\"text/javascript\">/**") <= 1
    for bad in ({"variant": "../../etc", "view": "loss_curves"}, {"variant": vid, "view": "nope"},
                {"variant": vid, "views": ""}, {}):
        assert client.get("/export/figure", query_string=bad).status_code == 404
        assert client.get("/export/panels", query_string=bad).status_code == 404


def test_serve_names_a_host_that_does_not_resolve(store):
    with pytest.raises(UserError, match="no-such-host.invalid"):
        serve(store, host="no-such-host.invalid", port=8050)


def test_serve_names_a_port_in_use(store):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        with pytest.raises(UserError, match=f"port {s.getsockname()[1]}"):
            serve(store, host="127.0.0.1", port=s.getsockname()[1])


def test_compare_table_has_a_column_per_declared_headline_some_run_has(store):
    rows = compare.summary_rows(store, store.runs())
    columns = [c["id"] for c in compare.table_columns(rows)]
    assert columns[:5] == ["variant", "epochs", "turn", "train_acc", "test_acc"]
    # seed 0 has every artifact: each analyzer's declared headline is a column, in registry order
    assert {"key_freqs", "embedding_freqs", "participation_ratios"} <= set(columns[5:])
    assert rows[0]["participation_ratios"].startswith("W_E ") and "participation_ratios" not in rows[1]
    assert [c["id"] for c in compare.table_columns(rows[1:])] == columns[:5]  # nobody has one: no column
