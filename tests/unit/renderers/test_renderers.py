"""Renderers: pure numpy -> go.Figure, checked against hand-built arrays and the registry."""

from __future__ import annotations

import sys

import numpy as np
import plotly.graph_objects as go
import pytest

from renderers import _style
from workbench.core.errors import UserError
from workbench.core.view import get_view, list_views
from workbench.testing import parametrize_with_checks, view_arrays
from workbench.testing.synthetic import METRICS

P, F = 17, 8
rng = np.random.default_rng(0)
synthetic_view_arrays = view_arrays  # arrays for a view, drawn from its sources' declared outputs


def _customdata_firsts(trace) -> np.ndarray:
    cd = np.asarray(trace.customdata)
    return cd.reshape(-1, cd.shape[-1])[:, 0] if cd.ndim >= 2 else cd


# ------------------------------------------------------------------ registry-driven conformance
@parametrize_with_checks(views=list_views())
def test_view_conforms(plugin, check):
    """A titled figure with traces, hover on every trace, powers of ten on log axes, the expected
    shape named for arrays of the wrong rank, whole epochs carried by whole-run views."""
    check(plugin)


@pytest.mark.parametrize("name", list_views(scope="trajectory"))
def test_trajectory_hover_shows_the_epoch_not_x(name):
    """Epochs reach hover through the integer customdata (pca_trajectory's x is PC1, not an epoch)."""
    fig = get_view(name).render(synthetic_view_arrays(name))
    for trace in fig.data:
        assert "%{x}" not in trace.hovertemplate or name == "pca_trajectory"


def _axes(fig: go.Figure):
    return [fig.layout[k] for k in fig.layout if k.startswith(("xaxis", "yaxis"))]


@pytest.mark.parametrize("keys", [{"turn.turn_onset_epoch": 1560.1173, "turn.turn_midpoint_epoch": 2049.6},
                                  {"turn.turn_epoch": 1560.117302052786}])
def test_turn_is_marked_at_a_whole_epoch(keys):
    arrays = {**_metrics(), **{k: np.array(v) for k, v in keys.items()}}
    fig = get_view("loss_curves").render(arrays)
    assert {s.x0 for s in fig.layout.shapes} <= {1560, 2050} and 1560 in {s.x0 for s in fig.layout.shapes}
    named = [t.name for t in fig.data if t.name.startswith("turn")]  # in the legend, never over the curves
    assert named == (["turn onset 1560", "turn midpoint 2050"] if len(keys) == 2 else ["turn 1560"])
    assert len({s.line.dash for s in fig.layout.shapes}) == len(keys)  # onset and midpoint drawn differently


def test_head_specialization_colourbar_sits_between_the_panels():
    arrays = {"frac_explained": rng.random((4, F)), "dominant_freq": np.array([1, 2, -1, 4]),
              "purity": np.array([0.1, 0.2, np.nan, 0.4])}
    fig = get_view("head_freq_specialization").render(arrays)
    bar_x = fig.data[0].colorbar.x
    assert fig.layout.xaxis.domain[1] < bar_x < fig.layout.xaxis2.domain[0] - 0.08  # room for its tick labels
    assert fig.data[1].text[2] == "no k"  # a constant head has no dominant frequency


def test_norm_swatch_has_one_colour_in_every_fourier_figure():
    for name in ("embedding_fourier", "unembedding_fourier"):
        arrays = synthetic_view_arrays(name)
        for dominant in (np.array([1, 2]), np.array([5, 7])):  # k=1 a top frequency or not
            norm = next(t for t in get_view(name).render({**arrays, "dominant_freqs": dominant}).data
                        if t.name == "‖cos, sin‖")
            assert norm.marker.color == _style.COLORS["norm"]


def test_each_matrix_has_one_colour_in_every_figure():
    names = np.array(["embed.W_E", "blocks.0.attn.W_Q", "blocks.0.mlp.W_in", "unembed.W_U"])
    n_ep = 3
    figs = {
        "dimensionality": {"epochs": np.arange(n_ep), "matrix_names": names,
                           "participation_ratio": np.ones((n_ep, 4)), "spectral_gap": np.ones((n_ep, 4))},
        "weight_trajectory": {"epochs": np.arange(n_ep), "total_norm": np.ones(n_ep), "velocity": np.ones(n_ep),
                              "matrix_names": names[::-1], "weight_norms": np.ones((n_ep, 4))},
        "singular_values": {"matrix_names": names[1:], "singular_values": np.ones((3, 2)),
                            "participation_ratio": np.ones(3), "spectral_gap": np.ones(3)},
    }
    seen: dict[str, set] = {}
    for view, arrays in figs.items():
        for trace in get_view(view).render(arrays).data:
            label = str(trace.name).split(" (")[0]
            if label in names:
                seen.setdefault(label, set()).add(trace.line.color)
    bars = get_view("weight_norms").render({"matrix_names": names, "weight_norms": np.ones(4)}).data[0]
    for name, colour in zip(names, bars.marker.color):
        seen[name].add(colour)
    assert set(seen) == set(names) and all(len(c) == 1 for c in seen.values()), seen
    assert len({c for cs in seen.values() for c in cs}) == 4  # and different matrices differ


def test_renderers_do_not_import_torch():
    for name in list_views():
        module = sys.modules[get_view(name).render.__module__]
        assert "torch" not in vars(module) and ".show(" not in open(module.__file__).read()


def test_missing_array_is_a_value_error_naming_it():
    with pytest.raises(ValueError, match=r"missing array 'acts', expected shape \[neuron, a, b\]"):
        get_view("neuron_heatmap").render({})


# ------------------------------------------------------------------------------ per-view checks
def test_fourier_spectrum_has_cos_and_sin_side_by_side():
    cos, sin = np.arange(1, F + 1, dtype=float), np.arange(F, 0, -1, dtype=float)
    arrays = {"cos_norms": cos, "sin_norms": sin, "freq_norms": np.hypot(cos, sin), "norms": np.ones(P),
              "cos_sin_ratio": cos / sin, "dominant_freqs": np.array([3, 1, 2, 4, 5])}
    fig = get_view("embedding_fourier").render(arrays)
    by_name = {t.name: t for t in fig.data}
    assert [t.type for t in fig.data] == ["bar"] * 3
    np.testing.assert_array_equal(by_name["cos"].y, cos)
    np.testing.assert_array_equal(by_name["sin"].y, sin)
    np.testing.assert_array_equal(by_name["cos"].x, np.arange(1, F + 1))
    assert fig.layout.barmode == "group" and fig.layout.xaxis.title.text == "frequency k"
    assert "3, 1, 2, 4, 5" in fig.layout.title.text.replace("<br>", " ")  # wrapped to fit a half-width panel


def test_neuron_heatmap_shows_the_named_neuron():
    acts = rng.random((6, P, P)).astype(np.float16)
    fig = get_view("neuron_heatmap").render({"acts": acts}, neuron=4)
    (trace,) = fig.data
    assert trace.type == "heatmap" and "neuron 4" in fig.layout.title.text
    np.testing.assert_allclose(trace.z, acts[4].astype(np.float32))
    assert fig.layout.xaxis.title.text == "b" and fig.layout.yaxis.title.text == "a"
    with pytest.raises(UserError, match="out of range; choose 0..5"):
        get_view("neuron_heatmap").render({"acts": acts}, neuron=6)


def test_neuron_grid_small_multiples():
    acts = rng.random((6, P, P)).astype(np.float32)
    fig = get_view("neuron_grid").render({"acts": acts}, neurons="1,3,5")
    assert [t.type for t in fig.data] == ["heatmap"] * 3
    np.testing.assert_allclose(fig.data[1].z, acts[3])
    assert [a.text for a in fig.layout.annotations] == ["neuron 1", "neuron 3", "neuron 5"]
    assert len(get_view("neuron_grid").render({"acts": acts}).data) == 6  # default: up to 16 most variable


def test_activation_colours_follow_the_sign_of_the_data():
    relu = rng.random((6, P, P)).astype(np.float16)  # never negative, like ReLU activations
    (heat,) = get_view("neuron_heatmap").render({"acts": relu}, neuron=2).data
    assert heat.colorscale == go.Heatmap(colorscale=_style.SEQUENTIAL).colorscale and heat.zmid is None
    grid = get_view("neuron_grid").render({"acts": relu}, neurons="0,1")
    assert grid.layout.coloraxis.cmin == 0 and grid.layout.coloraxis.cmax == pytest.approx(float(relu[:2].max()), 1e-3)
    signed = relu.astype(np.float32) - 0.5
    (heat,) = get_view("neuron_heatmap").render({"acts": signed}, neuron=2).data
    assert heat.colorscale == go.Heatmap(colorscale=_style.DIVERGING).colorscale and heat.zmid == 0
    grid = get_view("neuron_grid").render({"acts": signed}, neurons="0,1")
    assert grid.layout.coloraxis.cmid == 0 and grid.layout.coloraxis.cmin == -grid.layout.coloraxis.cmax


def test_neuron_grid_per_neuron_scaling():
    acts = rng.random((6, P, P)).astype(np.float32) * np.arange(1, 7)[:, None, None]  # neuron n peaks near n+1
    fig = get_view("neuron_grid").render({"acts": acts}, neurons=[0, 5], scale="neuron")
    assert [t.zmax for t in fig.data] == pytest.approx([acts[0].max(), acts[5].max()])
    assert all(t.zmin == 0 and t.coloraxis is None for t in fig.data)
    assert fig.layout.annotations[1].text == f"neuron 5 (max {acts[5].max():.3g})"
    shared = get_view("neuron_grid").render({"acts": acts}, neurons=[0, 5])
    assert all(t.coloraxis == "coloraxis" for t in shared.data)
    with pytest.raises(UserError, match="scale must be one of shared, neuron"):
        get_view("neuron_grid").render({"acts": acts}, scale="log")
    assert [o.name for o in get_view("neuron_grid").options] == ["neurons", "scale"]
    assert get_view("neuron_grid").option("scale").choices == ("shared", "neuron")


def test_neuron_heatmap_is_square_and_tight():
    acts = rng.random((2, P, P)).astype(np.float32)
    fig = get_view("neuron_heatmap").render({"acts": acts}, neuron=0)
    x, y = fig.layout.xaxis, fig.layout.yaxis
    assert y.scaleanchor == "x" and x.constrain == y.constrain == "domain"  # shrink the frame, not pad the axes
    assert list(x.range) == [-0.5, P - 0.5] and list(y.range) == [P - 0.5, -0.5]  # a grows downwards
    assert fig.layout.margin.l <= 50 and fig.layout.margin.r <= 10
    grid = get_view("neuron_grid").render({"acts": acts})
    assert grid.layout.yaxis2.scaleanchor == "x2" and grid.layout.xaxis2.constrain == "domain"


def _clusters(freq, frac, frac_explained=None, **options) -> go.Figure:
    arrays = {"dominant_freq": np.asarray(freq), "dominant_frac": np.asarray(frac, dtype=float)}
    if frac_explained is not None:
        arrays["frac_explained"] = frac_explained
    return get_view("neuron_freq_clusters").render(arrays, **options)


def test_neuron_freq_clusters_one_column_per_frequency_with_picking_room():
    freq, frac = np.array([3, 3, 5, 1, 3]), np.array([0.9, 0.8, 0.2, 0.95, 0.85])
    fig = _clusters(freq, frac, rng.random((5, F)) + 0.1)
    (trace,) = fig.data
    assert trace.type == "scatter" and trace.mode == "markers" and trace.name == "neurons"
    custom = np.asarray(trace.customdata)
    np.testing.assert_array_equal(custom[:, 0], np.arange(5))  # click contract: customdata[0] = neuron
    np.testing.assert_array_equal(custom[:, 1], freq)
    np.testing.assert_array_equal(trace.y, frac)
    # columns only for frequencies that have neurons, labelled with k
    assert list(fig.layout.xaxis.ticktext) == ["1", "3", "5"] and list(fig.layout.xaxis.tickvals) == [0, 1, 2]
    slots = np.round(np.asarray(trace.x)).astype(int)
    np.testing.assert_array_equal(slots, [1, 1, 2, 0, 1])
    assert np.all(np.abs(np.asarray(trace.x) - slots) <= 0.35)
    assert len(set(np.asarray(trace.x)[freq == 3])) == 3  # the k=3 column's points sit apart
    assert fig.layout.xaxis.title.text.startswith("dominant frequency k")
    assert "4/5 live neurons" in fig.layout.title.text and "0 dead" in fig.layout.title.text


def test_neuron_freq_clusters_label_only_the_fullest_columns():
    """Tick text on the 12 most populated columns (the key frequencies of a trained net), blank elsewhere."""
    freq = np.concatenate([np.repeat([7, 20], 30), np.arange(30, 50)])  # two full columns, 20 singletons
    fig = _clusters(freq, np.full(len(freq), 0.9))
    text = list(fig.layout.xaxis.ticktext)
    assert len(text) == 22 and text[:2] == ["7", "20"] and sum(t != "" for t in text) == 12
    assert list(fig.layout.xaxis.tickvals) == list(range(22))  # every column keeps its tick


def test_neuron_freq_clusters_marks_the_selected_neuron():
    freq, frac = np.array([3, 3, 5, 1]), np.array([0.9, 0.8, 0.2, 0.95])
    fig = _clusters(freq, frac, neuron=1)
    points, ring = fig.data
    assert ring.name == "neuron 1 (selected)" and ring.marker.symbol == "circle-open"
    assert (ring.x[0], ring.y[0]) == (points.x[1], points.y[1])
    assert ring.customdata[0][0] == 1 and "neuron 1, k=3" in fig.layout.title.text
    assert len(_clusters(freq, frac).data) == 1  # no selection, no ring
    with pytest.raises(UserError, match="out of range; choose 0..3"):
        _clusters(freq, frac, neuron=4)


@pytest.mark.parametrize("schema", ["new", "old"])
def test_dead_neurons_are_not_counted_under_any_frequency(schema):
    """New artifacts mark a dead neuron -1 with NaN fractions; old ones had all-zero fractions and k=1."""
    live = rng.random((3, F)) + 0.1
    if schema == "new":
        freq, frac = np.array([2, -1, 4, -1, 2]), np.array([0.7, np.nan, 0.9, np.nan, 0.6])
        full = np.vstack([live[0], np.full(F, np.nan), live[1], np.full(F, np.nan), live[2]])
    else:
        freq, frac = np.array([2, 1, 4, 1, 2]), np.array([0.7, 0.0, 0.9, 0.0, 0.6])
        full = np.vstack([live[0], np.zeros(F), live[1], np.zeros(F), live[2]])
    fig = _clusters(freq, frac, full, neuron=3)
    points, dead, ring = fig.data
    assert list(fig.layout.xaxis.ticktext) == ["2", "4", "dead"]  # no k=1 column from dead neurons
    np.testing.assert_array_equal(np.asarray(points.customdata)[:, 0], [0, 2, 4])
    np.testing.assert_array_equal(np.asarray(dead.customdata)[:, 0], [1, 3])
    np.testing.assert_array_equal(np.asarray(dead.customdata)[:, 1], [-1, -1])
    assert dead.name == "dead neurons" and "2 dead" in fig.layout.title.text
    assert "3/3 live neurons" in fig.layout.title.text and "neuron 3, dead" in fig.layout.title.text


def test_coarseness_table_is_sorted_coarsest_first():
    arrays = {"fft_low_ratio": np.array([0.1, 0.9, 0.5]), "grad_magnitude": np.ones(3),
              "downsample_preserved": np.zeros(3)}
    (table,) = get_view("coarseness_table").render(arrays).data
    assert table.type == "table"
    assert list(table.cells.values[0]) == [1, 2, 0]
    assert list(table.cells.values[1]) == [0.9, 0.5, 0.1]


def test_attention_patterns_one_head_customdata_is_head():
    pattern = rng.random((4, 3, P, P)).astype(np.float32)
    fig = get_view("attention_patterns").render({"pattern": pattern}, head=2)
    assert [t.type for t in fig.data] == ["heatmap"] * 3
    np.testing.assert_allclose(fig.data[1].z, pattern[2, 1])
    assert set(_customdata_firsts(fig.data[0])) == {2}
    assert len(get_view("attention_patterns").render({"pattern": pattern}).data) == 12


def test_head_freq_specialization_customdata_is_head():
    arrays = {"frac_explained": rng.random((4, F)), "dominant_freq": np.array([1, 2, 3, 4]),
              "purity": np.array([0.1, 0.2, 0.3, 0.4])}
    fig = get_view("head_freq_specialization").render(arrays)
    heat, bars = fig.data
    np.testing.assert_allclose(heat.z, arrays["frac_explained"])
    np.testing.assert_array_equal(_customdata_firsts(bars), np.arange(4))
    assert set(_customdata_firsts(heat)) == {0, 1, 2, 3}


def test_restricted_loss_bars_on_log_axis():
    arrays = {"key_freqs": np.array([4, 7]), "restricted_loss": np.array(0.01), "excluded_loss": np.array(3.0),
              "train_loss": np.array(0.02), "test_loss": np.array(0.5)}
    fig = get_view("restricted_loss").render(arrays)
    assert fig.data[0].type == "bar" and fig.layout.yaxis.type == "log"
    assert list(fig.data[0].y) == [0.01, 3.0, 0.02, 0.5]
    assert "4, 7" in fig.layout.title.text


def test_logit_lens_and_input_trace():
    stages = np.array(["embed", "+attn", "+mlp"])
    fig = get_view("logit_lens").render({"stages": stages, "loss": np.array([3.0, 2.0, 0.1]),
                                         "accuracy": np.array([0.0, 0.2, 1.0]), "correct_logit": np.zeros(3)})
    assert list(fig.data[0].x) == list(stages) and list(fig.data[1].y) == [0.0, 0.2, 1.0]
    arrays = {"inputs": np.array([[1, 2], [3, 4]]), "is_train": np.array([True, False]), "stages": stages,
              "correct_logit": np.arange(6.0).reshape(2, 3), "rank": np.zeros((2, 3), int)}
    fig = get_view("input_trace").render(arrays)  # one trace per split and subplot, inputs split by gaps
    assert len(fig.data) == 4 and fig.data[0].name == "train inputs (1)" and fig.data[2].name == "test inputs (1)"
    np.testing.assert_array_equal(fig.data[2].y, [3.0, 4.0, 5.0])
    assert [c[1] for c in fig.data[2].customdata] == ["3+4 (test)"] * 3  # the hover names the input
    three = {**arrays, "inputs": np.array([[1, 2], [3, 4], [5, 6]]), "is_train": np.array([True, False, True]),
             "correct_logit": np.arange(9.0).reshape(3, 3), "rank": np.zeros((3, 3), int)}
    train = get_view("input_trace").render(three).data[0]
    assert list(train.y) == [0.0, 1.0, 2.0, None, 6.0, 7.0, 8.0] and train.x[3] is None  # a break between inputs
    assert train.customdata[4][1] == "5+6 (train)"


def test_singular_values_drop_nan_padding():
    sv = np.array([[3.0, 2.0, 1.0], [5.0, np.nan, np.nan]])
    fig = get_view("singular_values").render({"matrix_names": np.array(["W_E", "W_U"]), "singular_values": sv,
                                              "participation_ratio": np.array([2.5, 1.0]),
                                              "spectral_gap": np.ones(2)})
    assert list(fig.data[1].y) == [5.0] and fig.layout.yaxis.type == "log"
    assert fig.data[0].name.startswith("W_E (PR 2.5")


def test_weight_norms():
    fig = get_view("weight_norms").render({"matrix_names": np.array(["a", "b"]), "weight_norms": np.array([3.0, 4.0]),
                                           "flat": np.zeros(5)})
    assert list(fig.data[0].x) == ["a", "b"] and "total 5.00" in fig.layout.title.text


def _metrics(n=5) -> dict:
    return {"metrics.epoch": np.arange(n) * 10, "metrics.train_loss": np.linspace(3, 0.01, n),
            "metrics.test_loss": np.linspace(3, 1, n), "metrics.train_acc": np.linspace(0, 1, n),
            "metrics.test_acc": np.linspace(0, 0.5, n)}


def test_loss_curves_log_axis_and_turn_mark():
    fig = get_view("loss_curves").render(_metrics())
    assert fig.layout.yaxis.type == "log" and fig.layout.xaxis.title.text == "epoch"
    assert not fig.layout.shapes
    np.testing.assert_array_equal(fig.data[1].y, np.linspace(3, 1, 5))
    fig = get_view("loss_curves").render({**_metrics(), "turn.turn_epoch": np.array(20.0)})
    assert fig.layout.shapes and {s.x0 for s in fig.layout.shapes} == {20.0}
    nan_turn = get_view("loss_curves").render({**_metrics(), "turn.turn_epoch": np.array(np.nan)})
    assert not nan_turn.layout.shapes


def test_pca_trajectory_two_panels_colored_by_epoch():
    pcs = rng.normal(size=(5, 3))
    arrays = {"epochs": np.arange(5) * 10, "pcs": pcs, "explained_variance": np.array([0.5, 0.3, 0.1]),
              "self_intersects": np.array(True), "n_intersections": np.array(2)}
    fig = get_view("pca_trajectory").render(arrays)
    a, b = fig.data
    np.testing.assert_array_equal(a.x, pcs[:, 0]); np.testing.assert_array_equal(b.y, pcs[:, 2])
    np.testing.assert_array_equal(a.marker.color, arrays["epochs"])
    assert fig.layout.xaxis.title.text == "PC1 (50%)" and "2 PC2/PC3" in fig.layout.title.text


def test_loss_decomposition_log_y():
    n = 4
    arrays = {f"loss_decomposition.{k}": np.linspace(1, 0.1, n) for k in
              ("restricted_loss", "excluded_loss", "train_loss", "test_loss")}
    arrays["loss_decomposition.epochs"] = np.arange(n) * 100
    fig = get_view("loss_decomposition").render(arrays)
    assert fig.layout.yaxis.type == "log" and [t.name for t in fig.data][0] == "restricted loss"
    np.testing.assert_array_equal(fig.data[0].customdata[:, 0], arrays["loss_decomposition.epochs"])
    marked = get_view("loss_decomposition").render({**arrays, "turn.turn_epoch": np.array(150.0)})
    assert [s.x0 for s in marked.layout.shapes] == [150.0]


# ------------------------------------------------------------------------ placeholder for missing data
def test_placeholder_for_missing_artifacts(tmp_path):
    from workbench.query.views import is_placeholder, placeholder_figure, view_figure
    from workbench.store import RunKey, Store

    assert is_placeholder(placeholder_figure("run: x")) and not is_placeholder(go.Figure())
    store, key = Store(tmp_path), RunKey("modular_addition", "p=17")
    fig = view_figure(store, key, "loss_curves")
    assert is_placeholder(fig) and "workbench train modular_addition:p=17" in fig.layout.annotations[0].text
    store.run_dir(key).mkdir(parents=True)
    store.variant_path(key).write_text("{}")
    from workbench.store._io import save_npz
    save_npz({k: np.zeros(2) for k in METRICS}, store.metrics_path(key))
    fig = view_figure(store, key, "freq_specialization")
    text = fig.layout.annotations[0].text
    assert is_placeholder(fig) and "run: workbench analyze modular_addition:p=17 --analyzers specialization_trajectory" in text
    assert not is_placeholder(view_figure(store, key, "loss_curves"))  # the turn is optional
    with pytest.raises(UserError, match="options: neuron"):
        view_figure(store, key, "neuron_heatmap", neurons=3)


def test_views_cover_the_contract():  # the canonical study's views; other studies add theirs
    expected = {"embedding_fourier", "unembedding_fourier", "singular_values", "weight_norms", "neuron_heatmap",
                "neuron_grid", "neuron_freq_clusters", "coarseness_table", "attention_patterns",
                "head_freq_specialization", "restricted_loss", "logit_lens", "input_trace", "loss_curves",
                "pca_trajectory", "freq_specialization", "dimensionality", "weight_trajectory", "loss_decomposition"}
    assert expected <= set(list_views())
    assert [o.name for o in get_view("neuron_heatmap").options] == ["neuron"]


def test_view_options_are_declared_with_their_meaning():
    """Views that take the same option share one declaration; another meaning of a keyword has another key."""
    from workbench.core.view import list_options

    heat, clusters = get_view("neuron_heatmap").option("neuron"), get_view("neuron_freq_clusters").option("neuron")
    assert heat is clusters and (heat.kind, heat.axis, heat.key, heat.default) == ("index", "neuron", "neuron", 0)
    assert get_view("attention_patterns").option("head").axis == "head"
    for view in ("neuron_across_primes", "sum_signal_fit"):  # a rank among the top neurons, not a neuron's index
        rank = get_view(view).option("neuron")
        assert (rank.key, rank.axis) == ("top_neuron", "top") and "rank" in rank.label.lower()
        assert "rank" in rank.help and "index" in rank.help
    keys = list_options()
    for name in list_views():  # a click selects the epoch or sets a declared control
        click = get_view(name).click
        assert click in (None, "epoch") or (click in keys and keys[click].control), (name, click)


def test_attention_labels_come_from_the_artifact_for_multi_layer_models():
    arrays = {"pattern": np.random.default_rng(0).random((4, 3, 5, 5)).astype(np.float32),
              "layer": np.array([0, 0, 1, 1]), "key_names": np.array(["x", "op", "y"])}
    titles = [a.text for a in get_view("attention_patterns").render(arrays).layout.annotations]
    assert titles[:3] == ["L0H0 → x", "L0H0 → op", "L0H0 → y"] and "L1H1 → y" in titles
    legacy = [a.text for a in get_view("attention_patterns").render({"pattern": arrays["pattern"]}).layout.annotations]
    assert legacy[:3] == ["head 0 → a", "head 0 → b", "head 0 → ="]


def _repainted(fig: go.Figure, change) -> dict:
    """The figure (as a plotly dict) with a view's Repaint applied, as the dashboard's patch does."""
    out = fig.to_plotly_json()
    for trace, props in zip(out["data"], change.traces):
        trace.update({k: v for k, v in props.items() if v is not None})
        trace.update({k: None for k, v in props.items() if v is None})
    for part, props in change.layout.items():
        out["layout"].setdefault(part, {}).update(props)
    out["layout"]["title"]["text"] = change.title
    return out


def _values(v) -> np.ndarray:
    """An array, or plotly's typed-array form of one ({"dtype", "bdata", "shape"}), as float32."""
    if isinstance(v, dict):
        import base64

        flat = np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v["dtype"]))
        return flat.reshape([int(n) for n in str(v.get("shape", len(flat))).split(",")]).astype(np.float32)
    return np.asarray(v, dtype=np.float32)


def _assert_same_figure(a: dict, b: dict) -> None:
    assert a["layout"]["title"]["text"] == b["layout"]["title"]["text"]
    axes = [go.layout.Coloraxis({k: v for k, v in f["layout"].get("coloraxis", {}).items() if v is not None})
            for f in (a, b)]
    assert axes[0] == axes[1]
    for ta, tb in zip(a["data"], b["data"], strict=True):
        assert set(k for k, v in ta.items() if v is not None) == set(k for k, v in tb.items() if v is not None)
        for k, v in ta.items():
            if k in ("x", "y", "z"):
                np.testing.assert_array_equal(_values(v), _values(tb[k]))
            elif k == "colorscale":  # a name ("RdBu") and the list plotly expands it to are one scale
                assert go.Heatmap(colorscale=v).colorscale == go.Heatmap(colorscale=tb[k]).colorscale
            elif v is not None:
                assert v == tb[k], k


@pytest.mark.parametrize("view, old, new", [
    ("neuron_heatmap", {"neuron": 1}, {"neuron": 4}),  # another neuron, and the sign flips
    ("neuron_grid", {"neurons": [0, 2, 5]}, {"neurons": [0, 2, 5]}),
])
def test_a_repaint_gives_what_a_full_render_gives(view, old, new):
    """The dashboard patches a drawn figure with the view's Repaint instead of re-rendering it."""
    before = {"acts": rng.random((6, P, P)).astype(np.float16)}  # ReLU-like: a sequential scale
    after = {"acts": (rng.random((6, P, P)) - 0.5).astype(np.float16)}  # signed: diverging
    spec = get_view(view)
    change = spec.repaint(after, old, new)
    _assert_same_figure(_repainted(spec.render(before, **old), change), spec.render(after, **new).to_plotly_json())


def test_a_repaint_declines_what_it_cannot_reach():
    acts = {"acts": rng.random((6, P, P)).astype(np.float32)}
    grid = get_view("neuron_grid")
    assert grid.repaint(acts, {"neurons": [0, 1]}, {"neurons": [0, 2]}) is None  # other subplot titles
    assert grid.repaint(acts, {"neurons": [0, 1], "scale": "neuron"}, {"neurons": [0, 1], "scale": "neuron"}) is None
    assert grid.repaint(acts, {"neurons": [0, 9]}, {"neurons": [0, 9]}) is None  # out of range
    assert get_view("neuron_heatmap").repaint(acts, {}, {"neuron": 6}) is None
    assert grid.pin(acts) == {"neurons": list(range(6))}  # the 16 most variable, or every one of fewer
