"""A shared PCA basis of several runs' parameter trajectories, and loop geometry, against hand-built paths."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.core.trajectory_geometry import loop_geometry, shared_pca
from analyzers.param_pca import count_self_intersections, pca_scores


def _trajectory(seed: int, epochs: int = 30, params: int = 200) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.cumsum(rng.normal(size=(epochs, params)), axis=0) * rng.uniform(0.5, 2, size=params)


def test_one_run_alone_projects_as_its_own_pca_up_to_sign():
    x = _trajectory(0)
    basis = shared_pca([x], n=3)
    own, ratio = pca_scores(x, 3)
    for c in range(3):
        sign = np.sign(own[:, c] @ basis.scores[0][:, c])
        np.testing.assert_allclose(sign * basis.scores[0][:, c], own[:, c], rtol=1e-8, atol=1e-8 * np.abs(own).max())
    np.testing.assert_allclose(basis.explained, ratio, rtol=1e-8)
    np.testing.assert_allclose(basis.components @ basis.components.T, np.eye(3), atol=1e-10)  # orthonormal


def test_runs_on_one_basis_keep_their_distances_to_each_other():
    # two runs in one 3-D subspace of a 50-D parameter space, one twice the other's size:
    # on the shared basis every distance (within and across runs) is the parameter-space one
    rng = np.random.default_rng(1)
    frame = np.linalg.qr(rng.normal(size=(50, 3)))[0].T  # [3, param]
    t = np.linspace(0, 2 * np.pi, 25)[:, None]
    a = np.hstack([np.cos(t), np.sin(t), 0.1 * t]) @ frame
    b = 2 * np.hstack([np.cos(t), 0.5 * np.sin(t), -0.1 * t]) @ frame + 0.3 * frame[0]
    basis = shared_pca([a, b], n=3)
    both, scores = np.vstack([a, b]), np.vstack(basis.scores)
    dist = lambda z: np.linalg.norm(z[:, None] - z[None], axis=-1)  # noqa: E731
    np.testing.assert_allclose(dist(scores), dist(both), atol=1e-9)
    np.testing.assert_allclose(basis.project(b), basis.scores[1], atol=1e-9)
    assert [len(s) for s in basis.scores] == [25, 25]


def test_runs_of_different_sizes_are_refused():
    with pytest.raises(ValueError, match="parameter count"):
        shared_pca([np.zeros((3, 4)), np.zeros((3, 5))])


def _closed(points: np.ndarray) -> np.ndarray:
    return np.vstack([points, points[:1]])


def test_a_figure_eight_crosses_itself_once_where_its_lobes_meet_and_encloses_both():
    t = 0.3 + np.linspace(0, 2 * np.pi, 200, endpoint=False)  # the start is not the crossing
    eight = _closed(np.stack([np.sin(t), np.sin(t) * np.cos(t)], axis=1))
    geo = loop_geometry(eight)
    assert geo.self_intersects and len(geo.crossings) == 1
    np.testing.assert_allclose(geo.points[0], [0, 0], atol=1e-3)
    i, j = geo.crossings[0]
    assert j - i > 50  # the two passes through the middle, half a turn apart
    assert geo.loop_area == pytest.approx(4 / 3, rel=1e-3)  # two lobes of 2/3 each
    assert count_self_intersections(eight) == 1  # as param_pca counts it


def test_a_circle_does_not_cross_itself_and_encloses_its_disc():
    t = np.linspace(0, 2 * np.pi, 400, endpoint=False)
    geo = loop_geometry(_closed(3 * np.stack([np.cos(t), np.sin(t)], axis=1)))
    assert not geo.self_intersects and geo.crossings.shape == (0, 2)
    assert geo.loop_area == pytest.approx(9 * np.pi, rel=1e-3)
    assert geo.area_per_length == pytest.approx(1.5, rel=1e-3)  # πr² / 2πr = r / 2


def test_an_open_arc_encloses_nothing_and_a_curl_encloses_its_loop():
    t = np.linspace(0, np.pi, 50)
    arc = loop_geometry(np.stack([np.cos(t), np.sin(t)], axis=1))
    assert not arc.self_intersects and arc.loop_area == 0.0
    # a line that makes one small unit-square-like curl and goes on: the curl's area is counted
    curl = np.array([[0, 0], [2, 0], [2, 1], [1, 1], [1, -1], [3, -1]], dtype=float)
    geo = loop_geometry(curl)
    assert len(geo.crossings) == 1 and tuple(geo.crossings[0]) == (0, 3)
    np.testing.assert_allclose(geo.points[0], [1, 0])
    assert geo.loop_area == pytest.approx(1.0)
    assert geo.length == pytest.approx(2 + 1 + 1 + 2 + 2)
