"""Looking at latent spaces: paths between codes, grids of codes and decoded manifold figures.

The labs build their encoders and decoders in plain sight; these helpers only
prepare the points to decode and lay the decoded images out. A ``decode``
argument is any callable that maps an array of codes of shape (N, d) to images
of shape (N, H, W) or (N, H, W, 1), for example
``lambda z: decoder.predict(z, verbose=0)``.
"""

from __future__ import annotations

from statistics import NormalDist

import matplotlib.pyplot as plt
import numpy as np


def interpolate(a, b, steps: int = 10) -> np.ndarray:
    """``steps`` evenly spaced points on the straight line from code ``a`` to code ``b``, both ends included.

    Returns an array of shape (steps, *a.shape).
    """
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape:
        raise ValueError(f"Both codes need the same shape, got {a.shape} and {b.shape}.")
    if not isinstance(steps, (int, np.integer)) or steps < 2:
        raise ValueError(f"steps={steps!r} must be a whole number of at least 2 (the two ends).")
    t = np.linspace(0.0, 1.0, int(steps)).reshape((-1,) + (1,) * a.ndim)
    return (1.0 - t) * a + t * b


def latent_grid(n: int = 15, low: float = -3.0, high: float = 3.0):
    """A square grid of 2-D codes, evenly spaced from ``low`` to ``high`` on both axes.

    Returns ``(xs, ys, points)``: the axis values (``ys`` from high to low, so the
    first grid row is the top of a picture) and ``points`` of shape (n * n, 2) in
    row-major order (row by row from the top, left to right).
    """
    if not isinstance(n, (int, np.integer)) or n < 2:
        raise ValueError(f"n={n!r} must be a whole number of at least 2.")
    if not np.isfinite(low) or not np.isfinite(high) or not low < high:
        raise ValueError(f"Need finite low < high, got low={low!r}, high={high!r}.")
    xs = np.linspace(low, high, int(n))
    return _grid(xs, xs.copy())


def gaussian_grid(n: int = 15, tail: float = 0.05):
    """A grid of 2-D codes at evenly spaced quantiles of a standard normal prior.

    Each axis runs over the quantiles ``tail`` .. ``1 - tail`` of N(0, 1), so the
    grid covers where the prior puts its mass, denser near the middle (as in the
    manifold figures of Kingma and Welling, 2014). Returns ``(xs, ys, points)`` as
    :func:`latent_grid` does.
    """
    if not isinstance(n, (int, np.integer)) or n < 2:
        raise ValueError(f"n={n!r} must be a whole number of at least 2.")
    if not 0 < tail < 0.5:
        raise ValueError(f"tail={tail!r} must lie between 0 and 0.5, for example 0.05.")
    normal = NormalDist()
    xs = np.array([normal.inv_cdf(p) for p in np.linspace(tail, 1 - tail, int(n))])
    return _grid(xs, xs.copy())


def _grid(xs, ys_up):
    ys = ys_up[::-1]
    gx, gy = np.meshgrid(xs, ys)
    points = np.stack([gx.ravel(), gy.ravel()], axis=1)
    return xs, ys, points


def _as_2d_images(images) -> np.ndarray:
    images = np.asarray(images)
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if images.ndim == 2:  # flattened square images
        side = int(round(np.sqrt(images.shape[1])))
        if side * side != images.shape[1]:
            raise ValueError(f"Cannot make square images of {images.shape[1]} pixels.")
        images = images.reshape(len(images), side, side)
    if images.ndim != 3:
        raise ValueError(f"Expected grey images (N, H, W) or (N, H, W, 1), got shape {images.shape}.")
    return images


def tile_images(images, n_rows: int, n_cols: int) -> np.ndarray:
    """Lay ``n_rows * n_cols`` grey images out row by row as one big 2-D array."""
    images = _as_2d_images(images)
    if len(images) != n_rows * n_cols:
        raise ValueError(f"{len(images)} images do not fill a {n_rows} x {n_cols} grid.")
    h, w = images.shape[1:]
    return images.reshape(n_rows, n_cols, h, w).transpose(0, 2, 1, 3).reshape(n_rows * h, n_cols * w)


def manifold_figure(decode, xs, ys, title: str = "", ax=None, axis_labels=("z[0]", "z[1]")):
    """Decode every code of the grid ``xs`` x ``ys`` and show the images as one picture.

    The axes carry the latent coordinates, so the picture can be read beside a
    scatter plot of the codes. ``ys`` should run from high to low (top to bottom),
    as :func:`latent_grid` and :func:`gaussian_grid` return it. Returns the Figure.
    """
    xs, ys = np.asarray(xs, np.float64), np.asarray(ys, np.float64)
    gx, gy = np.meshgrid(xs, ys)
    points = np.stack([gx.ravel(), gy.ravel()], axis=1).astype(np.float32)
    picture = tile_images(decode(points), len(ys), len(xs))
    if ax is None:
        fig, ax = plt.subplots(figsize=(6, 6))
    else:
        fig = ax.figure
    # each tile is centred on its code: extend the extent by half a step on each side
    dx = (xs[-1] - xs[0]) / max(len(xs) - 1, 1) / 2
    dy = (ys[0] - ys[-1]) / max(len(ys) - 1, 1) / 2
    ax.imshow(np.clip(picture, 0, 1), cmap="gray", vmin=0, vmax=1, aspect="auto",
              extent=(xs[0] - dx, xs[-1] + dx, ys[-1] - dy, ys[0] + dy))
    ax.grid(False)
    ax.set_xlabel(axis_labels[0])
    ax.set_ylabel(axis_labels[1])
    ax.set_title(title)
    fig.tight_layout()
    return fig


def path_jumpiness(frames) -> float:
    """How unevenly a sequence of images changes: the largest step over the whole path length.

    ``frames`` are the decoded images along an interpolation, in order. The path
    length is the sum of the Euclidean distances between neighbouring frames. A
    path that morphs evenly scores ``1 / (len(frames) - 1)``; a path that stays
    put and then jumps in one step scores 1. A path that does not move at all
    scores 0.
    """
    frames = np.asarray(frames, np.float64)
    if len(frames) < 2:
        raise ValueError("path_jumpiness needs at least two frames.")
    steps = np.sqrt(((np.diff(frames, axis=0)) ** 2).reshape(len(frames) - 1, -1).sum(axis=1))
    total = steps.sum()
    return 0.0 if total == 0 else float(steps.max() / total)
