"""Unit tests of labkit.latent (paths, grids and manifold figures for latent spaces)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from labkit import latent  # noqa: E402


def test_interpolate_ends_and_even_spacing():
    a, b = np.array([0.0, 2.0]), np.array([4.0, -2.0])
    path = latent.interpolate(a, b, steps=5)
    assert path.shape == (5, 2)
    np.testing.assert_allclose(path[0], a)
    np.testing.assert_allclose(path[-1], b)
    np.testing.assert_allclose(np.diff(path, axis=0), np.tile([[1.0, -1.0]], (4, 1)))


def test_interpolate_keeps_code_shape():
    a, b = np.zeros((7, 7, 2)), np.ones((7, 7, 2))
    path = latent.interpolate(a, b, steps=3)
    assert path.shape == (3, 7, 7, 2)
    np.testing.assert_allclose(path[1], 0.5)


@pytest.mark.parametrize("steps", [1, 0, 2.5])
def test_interpolate_rejects_bad_steps(steps):
    with pytest.raises(ValueError, match="steps"):
        latent.interpolate([0.0], [1.0], steps=steps)


def test_interpolate_rejects_mismatched_codes():
    with pytest.raises(ValueError, match="same shape"):
        latent.interpolate([0.0, 1.0], [1.0], steps=3)


def test_latent_grid_order_top_row_first():
    xs, ys, points = latent.latent_grid(3, -1.0, 1.0)
    np.testing.assert_allclose(xs, [-1, 0, 1])
    np.testing.assert_allclose(ys, [1, 0, -1])
    assert points.shape == (9, 2)
    # first row: highest z[1], left to right in z[0]
    np.testing.assert_allclose(points[:3], [[-1, 1], [0, 1], [1, 1]])
    np.testing.assert_allclose(points[-1], [1, -1])


def test_latent_grid_rejects_bad_span():
    with pytest.raises(ValueError, match="low < high"):
        latent.latent_grid(5, 2.0, -2.0)
    with pytest.raises(ValueError, match="at least 2"):
        latent.latent_grid(1)


def test_gaussian_grid_follows_normal_quantiles():
    xs, ys, points = latent.gaussian_grid(5, tail=0.05)
    np.testing.assert_allclose(xs, -ys, atol=1e-12)  # symmetric, ys descending
    np.testing.assert_allclose(xs[[0, 2, 4]], [-1.6448536, 0.0, 1.6448536], atol=1e-6)
    assert np.all(np.diff(xs) > 0)
    # quantile spacing is denser near the centre than in the tails
    assert np.diff(xs)[1] < np.diff(xs)[0]
    assert points.shape == (25, 2)
    with pytest.raises(ValueError, match="tail"):
        latent.gaussian_grid(5, tail=0.5)


def test_tile_images_places_rows_and_columns():
    images = np.arange(6, dtype=float).reshape(6, 1, 1) * np.ones((6, 2, 3))
    picture = latent.tile_images(images[..., None], 2, 3)
    assert picture.shape == (4, 9)
    assert picture[0, 0] == 0 and picture[0, 3] == 1 and picture[0, 8] == 2
    assert picture[2, 0] == 3 and picture[3, 8] == 5
    with pytest.raises(ValueError, match="do not fill"):
        latent.tile_images(images, 4, 2)


def test_tile_images_accepts_flat_square_images():
    picture = latent.tile_images(np.ones((4, 16)), 2, 2)
    assert picture.shape == (8, 8)


def test_manifold_figure_decodes_each_grid_code_once():
    seen = []

    def decode(z):
        seen.append(np.asarray(z))
        # a "digit" whose brightness is the first coordinate, scaled into [0, 1]
        return np.repeat((z[:, :1, None] + 3) / 6, 28 * 28, axis=1).reshape(len(z), 28, 28, 1)

    xs, ys, points = latent.latent_grid(4, -3, 3)
    fig = latent.manifold_figure(decode, xs, ys, title="test")
    assert len(seen) == 1 and seen[0].shape == (16, 2)
    np.testing.assert_allclose(seen[0], points)
    image = fig.axes[0].images[0].get_array()
    assert image.shape == (4 * 28, 4 * 28)
    assert image[0, 0] == pytest.approx(0.0) and image[0, -1] == pytest.approx(1.0)
    left, right, bottom, top = fig.axes[0].images[0].get_extent()
    assert left < -3 < 3 < right and bottom < -3 < 3 < top
    plt.close(fig)


def test_path_jumpiness_even_and_jumping_paths():
    even = np.linspace(0, 1, 6)[:, None] * np.ones((6, 10))
    assert latent.path_jumpiness(even) == pytest.approx(1 / 5)
    jump = np.concatenate([np.zeros((3, 10)), np.ones((3, 10))])
    assert latent.path_jumpiness(jump) == pytest.approx(1.0)
    assert latent.path_jumpiness(np.zeros((4, 10))) == 0.0
    with pytest.raises(ValueError):
        latent.path_jumpiness(np.zeros((1, 10)))
