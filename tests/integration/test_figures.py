"""Figures end to end on the tiny analyzed run: notebook API, CLI render, offline HTML report."""

from __future__ import annotations

from html.parser import HTMLParser

import numpy as np
import plotly.offline
import pytest

from workbench.core.errors import UserError


def _spec(key) -> str:
    return f"{key.family}:{key.variant}"


@pytest.fixture(scope="module")
def handle(tiny_analyzed, tiny_key):
    from workbench import load_variant

    return load_variant(_spec(tiny_key), store=tiny_analyzed)


def test_api_round_trip(handle, tiny_analyzed, tiny_key):

    assert handle.epochs == [0, 50, 100, 150, 200]
    assert set(handle.metrics) >= {"epoch", "train_loss", "test_loss", "train_acc", "test_acc"}
    assert "rows" in repr(handle.metrics)
    assert handle.turn is None or handle.turn >= 0
    arrays = handle.at(100).arrays("embedding_fourier")
    stored = tiny_analyzed.read_artifact(tiny_key, "embedding_fourier", 100)
    assert arrays.keys() == stored.keys()
    np.testing.assert_array_equal(arrays["freq_norms"], stored["freq_norms"])
    fig = handle.at(100).figure("neuron_freq_clusters", neuron=3)
    clusters = handle.at(100).arrays("neuron_freq_clusters")
    shown = np.concatenate([np.asarray(t.customdata) for t in fig.data if t.name != "neuron 3 (selected)"])
    order = np.argsort(shown[:, 0])
    np.testing.assert_array_equal(shown[order, 0], np.arange(len(clusters["dominant_freq"])))  # every neuron once
    np.testing.assert_array_equal(shown[order, 1], clusters["dominant_freq"])
    assert fig.data[-1].name == "neuron 3 (selected)"
    assert hasattr(handle.at(0).model(), "run_with_cache")


def test_relu_heatmaps_use_a_sequential_scale(handle):
    from renderers._style import SEQUENTIAL

    acts = handle.at(200).arrays("neuron_activations")["acts"]
    assert acts.min() >= 0  # the MLP's ReLU output
    (heat,) = handle.at(200).figure("neuron_heatmap", neuron=3).data
    assert heat.colorscale == type(heat)(colorscale=SEQUENTIAL).colorscale and heat.zmid is None
    grid = handle.at(200).figure("neuron_grid", neurons="1,2")
    assert grid.layout.coloraxis.cmin == 0


def test_every_view_renders_real_artifacts(handle, tiny_analyzed, tiny_key):
    from workbench.query.views import is_placeholder, run_views

    applies = run_views(tiny_analyzed, tiny_key)  # other studies' views do not apply to this family
    assert {"neuron_heatmap", "loss_curves", "restricted_loss"} <= set(applies)
    for name in run_views(tiny_analyzed, tiny_key, scope="epoch"):
        assert not is_placeholder(handle.at(200).figure(name)), name
    for name in run_views(tiny_analyzed, tiny_key, scope="trajectory"):
        assert not is_placeholder(handle.figure(name)), name
    assert "neuron 3" in handle.at(50).figure("neuron_heatmap", neuron=3).layout.title.text


def test_api_errors_name_the_choices(handle):
    with pytest.raises(UserError, match="epochs: 0, 50, 100, 150, 200"):
        handle.at(7)
    with pytest.raises(UserError, match="choose from: .*loss_curves"):
        handle.figure("no_such_view")
    with pytest.raises(UserError, match="options: neuron"):
        handle.at(0).figure("neuron_heatmap", head=1)
    with pytest.raises(UserError, match="no trained run"):
        from workbench import load_variant

        load_variant("modular_addition:p=19", store=handle.store)


def test_export_html_offline_and_image_error(handle, tmp_path):
    out = handle.figure("loss_curves").export(tmp_path / "sub" / "loss.html")
    text = open(out, encoding="utf-8").read()
    assert "<html>" in text and "Plotly.newPlot" in text and not _network_urls(text)
    with pytest.raises(UserError, match="cannot export"):
        handle.figure("loss_curves").export(tmp_path / "loss.pdf")
    try:
        import kaleido  # noqa: F401
    except ImportError:
        with pytest.raises(UserError, match="kaleido"):
            handle.figure("loss_curves").export(tmp_path / "loss.png")


@pytest.mark.parametrize("suffix, magic", [(".png", b"\x89PNG"), (".svg", b"<svg")])
def test_export_image_through_kaleido_and_chromium(handle, tmp_path, chromium_path, suffix, magic):
    pytest.importorskip("kaleido", reason="kaleido is not installed (pip install '.[export]')")
    out = handle.at(200).figure("neuron_freq_clusters").export(tmp_path / f"clusters{suffix}")
    data = open(out, "rb").read()
    assert magic in data[:300] and len(data) > 5000


def test_cli_render(tiny_analyzed, tiny_key, tmp_path, capsys):
    from workbench.cli import main

    out = tmp_path / "clusters.html"
    assert main(["render", _spec(tiny_key), "--view", "neuron_freq_clusters", "--epoch", "200", "--out", str(out),
                 "--store", str(tiny_analyzed.root)]) == 0
    assert out.exists() and str(out) in capsys.readouterr().out
    assert main(["render", _spec(tiny_key), "--view", "nope", "--out", str(out), "--store", str(tiny_analyzed.root)]) == 2


def test_cli_render_takes_the_options_a_view_declares(tiny_analyzed, tiny_key, tmp_path, capsys):
    """`render --NAME VALUE` follows the view's declarations: a choice, `--NAME=VALUE`, and refusals that say why."""
    from workbench.cli import main

    store = ["--store", str(tiny_analyzed.root)]
    out = tmp_path / "grid.html"
    assert main(["render", _spec(tiny_key), "--view", "neuron_grid", "--epoch", "200", "--scale", "neuron",
                 "--neurons=1,2", "--out", str(out), *store]) == 0
    page = out.read_text(encoding="utf-8").replace("\\u003cbr\\u003e", " ").replace("<br>", " ")  # a wrapped title
    assert "each neuron on its own scale" in page
    capsys.readouterr()
    for extra, message in [(["--scale", "log"], "--scale: expected one of shared, neuron, got 'log'"),
                           (["--head", "1"], "view 'neuron_grid' has no option 'head'; options: neurons, scale"),
                           (["--scale"], "--scale: expected a value"), (["x"], "unexpected argument 'x'")]:
        assert main(["render", _spec(tiny_key), "--view", "neuron_grid", *extra, "--out", str(out), *store]) == 2
        assert message in capsys.readouterr().err
    assert main(["views"]) == 0  # `workbench views` lists each view's options
    listed = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()}
    assert listed["neuron_grid"].endswith("[--neurons VALUE, --scale shared|neuron]")
    assert listed["attention_patterns"].endswith("[--head N]")
    assert listed["loss_curves"].endswith("[--log_x VALUE, --x_step VALUE, --x_time VALUE, --log_y VALUE, --smooth VALUE]")  # every curve over training
    with pytest.raises(SystemExit) as refused:  # other commands still refuse what they do not know (argparse)
        main(["list", "--neuron", "3", *store])
    assert refused.value.code == 2 and "unrecognized arguments: --neuron 3" in capsys.readouterr().err


class _Resources(HTMLParser):
    """Collects every src/href attribute of the page's tags."""

    def __init__(self):
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.urls += [v for k, v in attrs if k in ("src", "href") and v]


def _network_urls(text: str) -> list[str]:
    """src/href attributes of real tags (not strings inside the inlined plotly.js) that leave the page."""
    parser = _Resources()
    parser.feed(text)
    return [u for u in parser.urls if u.startswith(("http://", "https://", "//"))]


def test_report_is_offline_and_complete(tiny_analyzed, tiny_key, tmp_path):
    from workbench.core.view import list_views
    from workbench.query.views import run_views
    from workbench.ui.report import write_report

    path = write_report(tiny_analyzed, tiny_key)
    assert path == tiny_analyzed.report_path(tiny_key)
    text = path.read_text(encoding="utf-8")
    applies = run_views(tiny_analyzed, tiny_key)
    for name in list_views():  # every view that applies is there, and no other
        assert (f"<h3>{name}</h3>" in text) == (name in applies), name
    assert "Summary" in text and "final train / test accuracy" in text and "participation ratios" in text
    assert "Epoch 0 (init" in text and "end)" in text
    assert not _network_urls(text)
    assert text.count(plotly.offline.get_plotlyjs()[:300]) == 1  # plotly.js embedded exactly once


def test_report_epochs_spec(tiny_analyzed, tiny_key, tmp_path):
    from workbench.ui.report import write_report

    text = write_report(tiny_analyzed, tiny_key, out=tmp_path / "r.html", epochs="100").read_text(encoding="utf-8")
    assert 'id="epoch-100"' in text and 'id="epoch-0"' not in text
    with pytest.raises(UserError, match="no checkpoints match"):
        write_report(tiny_analyzed, tiny_key, out=tmp_path / "r.html", epochs="7")


def test_a_step_budget_puts_curves_over_training_on_optimizer_steps(tiny_analyzed, tiny_key):
    """modular_arithmetic's recipe is in steps (minibatches of 12 of p=7's 24 training pairs: 2 a
    step); the canonical family's is in epochs (full batch), and its curves stay on epochs."""
    from workbench.query.views import run_options, view_figure
    from workbench.testing import tiny_run

    run = tiny_run("modular_arithmetic")
    key = run.key
    assert run_options(run.store, key, "loss_curves") == {"x_step": 2}
    assert run_options(run.store, key, "neuron_freq_clusters") == {}  # per-epoch views have no such option
    fig = view_figure(run.store, key, "training_dynamics")
    assert fig.layout.xaxis.title.text == "optimizer step" and fig.layout.meta["x_per_epoch"] == 2
    assert view_figure(run.store, key, "training_dynamics", x_step=0).layout.xaxis.title.text == "epoch"
    assert run_options(tiny_analyzed, tiny_key, "loss_curves") == {}
    assert view_figure(tiny_analyzed, tiny_key, "loss_curves", log_x=True).layout.xaxis.type == "log"


def test_render_draws_a_curve_against_wall_time_or_says_in_one_line_why_not(tiny_analyzed, tiny_key, tmp_path, capsys):
    """The trained run recorded its clock: `--x_time true` puts loss_curves on it; a copy without
    the clock (a run trained before clocks were recorded) is refused in one line, nothing written."""
    import shutil

    from workbench.cli import main
    from workbench.store import Store
    from workbench.store.clock import read_clock

    out = tmp_path / "timed.html"
    assert main(["render", _spec(tiny_key), "--view", "loss_curves", "--x_time", "true", "--out", str(out),
                 "--store", str(tiny_analyzed.root)]) == 0
    assert "wall time (s)" in out.read_text(encoding="utf-8")
    assert read_clock(tiny_analyzed, tiny_key)[0].tolist() == tiny_analyzed.read_metrics(tiny_key)["epoch"].tolist()
    old = Store(tmp_path / "old")
    shutil.copytree(tiny_analyzed.run_dir(tiny_key), old.run_dir(tiny_key))
    old.clock_path(tiny_key).unlink()
    capsys.readouterr()
    again = tmp_path / "old.html"
    assert main(["render", _spec(tiny_key), "--view", "loss_curves", "--x_time", "true", "--out", str(again),
                 "--store", str(old.root)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "records no wall time" in err and not again.exists()
