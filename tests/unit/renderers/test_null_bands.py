"""Views draw an analyzer's stored null as a band and state percentiles; without one, as before."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.core.nulls import null_key
from workbench.core.view import get_view
from workbench.testing.synthetic import view_arrays

DRAWS = 16


def _with_null(view: str, analyzer: str, kind: str, **outputs: tuple[int, ...]) -> dict:
    """The view's synthetic arrays plus a null of `analyzer` whose draws of each output have the given shape."""
    arrays = dict(view_arrays(view))
    rng = np.random.default_rng(0)
    for output, shape in outputs.items():
        arrays[null_key(analyzer, output)] = rng.uniform(0.1, 0.3, size=(DRAWS, *shape))
    arrays[null_key(analyzer, "null_kind")] = np.array(kind)
    return arrays


def _bands(fig) -> list:
    traces = [t for t in fig.data if getattr(t, "fill", None) == "tonexty" or getattr(t, "error_y", None) and
              t.error_y.arrayminus is not None]
    return traces + [s for s in fig.layout.shapes if s.type == "rect"]


def _render(view: str, arrays: dict):
    return get_view(view).render(arrays)


@pytest.mark.parametrize("view, analyzer, kind, outputs", [
    ("neuron_freq_clusters", "neuron_freq_clusters", "permutation", {"mean_dominant_frac": (), "dominant_frac": None}),
    ("restricted_loss", "restricted_loss", "permutation", {"restricted_loss": (), "excluded_loss": ()}),
    ("fourier_gini", "fourier_gini", "random", {"gini_embed": (), "gini_neuron_logit": ()}),
    ("loss_decomposition", "restricted_loss", "permutation", {"restricted_loss": (), "excluded_loss": ()}),
    ("dimensionality", "effective_dim", "random", {"participation_ratio": None}),
])
def test_a_stored_null_is_drawn_as_a_band(view, analyzer, kind, outputs):
    plain = _render(view, dict(view_arrays(view)))
    assert not _bands(plain)
    base = view_arrays(view)
    shapes = {}
    for out, shape in outputs.items():  # None: the shape of the view's own array of that name
        mine = next((v for k, v in base.items() if k.split(".")[-1] == out), None)
        shapes[out] = shape if shape is not None else np.shape(mine)[-1:]
    fig = _render(view, _with_null(view, analyzer, kind, **shapes))
    assert _bands(fig), f"{view}: no band"
    assert kind in " ".join(str(t.name) for t in fig.data) + str(fig.layout.title.text)


def test_the_neuron_view_states_the_mean_fraction_percentile():
    arrays = _with_null("neuron_freq_clusters", "neuron_freq_clusters", "permutation", mean_dominant_frac=(),
                        dominant_frac=np.shape(view_arrays("neuron_freq_clusters")["dominant_frac"]))
    title = _render("neuron_freq_clusters", arrays).layout.title.text
    assert "percentile" in title and "permutation null" in title


def test_singular_values_name_the_null_range_per_matrix():
    arrays = dict(view_arrays("singular_values"))
    n = len(arrays["matrix_names"])
    arrays[null_key("effective_dim", "participation_ratio")] = np.tile(np.arange(n, dtype=float), (DRAWS, 1)) + 1
    names = [t.name for t in _render("singular_values", arrays).data]
    assert names[0].endswith("[1.0-1.0])") and names[-1].endswith(f"[{n:.1f}-{n:.1f}])")


def test_over_training_a_null_drawn_at_one_epoch_is_a_range_at_that_epoch_not_a_band():
    arrays = _with_null("loss_decomposition", "restricted_loss", "permutation", restricted_loss=(), excluded_loss=())
    arrays[null_key("restricted_loss", "null_epoch")] = np.array(300)
    fig = _render("loss_decomposition", arrays)
    assert not [t for t in fig.data if getattr(t, "fill", None) == "tonexty"]
    ranges = [t for t in fig.data if t.error_y is not None and t.error_y.arrayminus is not None]
    assert len(ranges) == 2 and all(list(t.x) == [300] for t in ranges)
    assert "at epoch 300" in ranges[0].name


def test_the_neuron_view_draws_each_declared_null_in_its_colour_and_states_each_percentile():
    arrays = _with_null("neuron_freq_clusters", "neuron_freq_clusters", "permutation", mean_dominant_frac=(),
                        dominant_frac=np.shape(view_arrays("neuron_freq_clusters")["dominant_frac"]))
    n = np.shape(arrays["dominant_frac"])
    arrays |= {null_key("neuron_freq_clusters", "dominant_frac", "random"): np.full((DRAWS, *n), 0.4),
               null_key("neuron_freq_clusters", "mean_dominant_frac", "random"): np.linspace(0.0, 1.0, DRAWS),
               null_key("neuron_freq_clusters", "null_kind", "random"): np.array("random")}
    fig = _render("neuron_freq_clusters", arrays)
    rects = [s for s in fig.layout.shapes if s.type == "rect"]
    assert len(rects) == 2 and rects[0].fillcolor != rects[1].fillcolor
    title = fig.layout.title.text
    assert "of the permutation null (grey)" in title and "of the random null (orange)" in title
