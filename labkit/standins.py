"""Small stand-in datasets that need no download.

They exist so that tests and the smoke profile run anywhere, offline, in
seconds. They are never passed off as the real datasets: every record and
printed line that uses them says "stand-in".

- ``embedded_digits``: scikit-learn's bundled 8x8 handwritten digits (UCI
  "Optical Recognition of Handwritten Digits", 1,797 images), upscaled to a
  20x20 glyph inside a 28x28 frame as in MNIST, with small random shifts so
  more than 1,797 examples can be drawn. Train and test come from disjoint
  source images.
- ``embedded_shapes``: procedurally generated 32x32 colour images of ten
  shape classes on noisy backgrounds, a learnable stand-in for CIFAR-10.
"""

from __future__ import annotations

import numpy as np

DIGIT_NAMES = tuple(str(d) for d in range(10))
SHAPE_NAMES = (
    "disc", "square", "triangle", "ring", "cross",
    "h-stripes", "v-stripes", "diagonal", "checker", "dots",
)

_TEST_SHARE = 0.2  # share of the 1,797 source digits kept for the test split


def _upscale_digits(images8: np.ndarray) -> np.ndarray:
    """8x8 images in [0, 16] -> 28x28 float32 in [0, 1], glyph 20x20 centred."""
    n = len(images8)
    src = images8.reshape(n, 8, 8).astype(np.float32) / 16.0
    # bilinear resampling of the 8x8 grid onto 20x20 sample points
    pos = np.linspace(0, 7, 20)
    i0 = np.clip(np.floor(pos).astype(int), 0, 6)
    frac = (pos - i0).astype(np.float32)
    rows = src[:, i0, :] * (1 - frac)[None, :, None] + src[:, i0 + 1, :] * frac[None, :, None]
    glyph = rows[:, :, i0] * (1 - frac)[None, None, :] + rows[:, :, i0 + 1] * frac[None, None, :]
    out = np.zeros((n, 28, 28), np.float32)
    out[:, 4:24, 4:24] = glyph
    return out


def _shift(images: np.ndarray, rng: np.random.Generator, max_shift: int) -> np.ndarray:
    """Shift each image by a random whole number of pixels, filling with zeros."""
    out = np.zeros_like(images)
    h, w = images.shape[1:3]
    for k, (dy, dx) in enumerate(rng.integers(-max_shift, max_shift + 1, size=(len(images), 2))):
        ys, yd = (slice(0, h - dy), slice(dy, h)) if dy >= 0 else (slice(-dy, h), slice(0, h + dy))
        xs, xd = (slice(0, w - dx), slice(dx, w)) if dx >= 0 else (slice(-dx, w), slice(0, w + dx))
        out[k, yd, xd] = images[k, ys, xs]
    return out


def _draw_digits(pool_x, pool_y, n, rng):
    """Draw n images from a pool, the first pass unshifted, then shifted copies."""
    idx = np.concatenate([rng.permutation(len(pool_x)) for _ in range(n // len(pool_x) + 1)])[:n]
    images = pool_x[idx]
    repeat = np.arange(n) >= len(pool_x)
    if repeat.any():
        images[repeat] = _shift(images[repeat], rng, max_shift=2)
    return images, pool_y[idx]


def embedded_digits(n_train: int, n_test: int, seed: int = 0):
    """MNIST-shaped stand-in: (x_train, y_train, x_test, y_test), x of shape (N, 28, 28, 1)."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = _upscale_digits(bunch.images)
    labels = bunch.target.astype(np.int64)
    order = np.random.default_rng(1797).permutation(len(images))  # fixed split, whatever the seed
    n_hold = int(len(images) * _TEST_SHARE)
    test_pool, train_pool = order[:n_hold], order[n_hold:]
    rng = np.random.default_rng(seed)
    x_train, y_train = _draw_digits(images[train_pool], labels[train_pool], n_train, rng)
    x_test, y_test = _draw_digits(images[test_pool], labels[test_pool], n_test, rng)
    return x_train[..., None], y_train, x_test[..., None], y_test


def _shape_mask(cls: int, rng: np.random.Generator, size: int = 32) -> np.ndarray:
    """A soft mask in [0, 1] of one randomly placed, randomly sized shape of class ``cls``."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    cy, cx = rng.uniform(11, 21, size=2)
    r = rng.uniform(6, 10)
    dy, dx = yy - cy, xx - cx
    period = rng.uniform(4, 7)
    phase = rng.uniform(0, 2 * np.pi)
    inside = (np.abs(dy) < r) & (np.abs(dx) < r)
    if cls == 0:  # disc
        m = dy**2 + dx**2 < r**2
    elif cls == 1:  # square
        m = inside
    elif cls == 2:  # triangle, apex up
        m = (dy < r) & (dy > -r) & (np.abs(dx) < (dy + r) / 2)
    elif cls == 3:  # ring
        d = np.sqrt(dy**2 + dx**2)
        m = (d < r) & (d > 0.55 * r)
    elif cls == 4:  # cross
        m = ((np.abs(dy) < r / 3.5) & (np.abs(dx) < r)) | ((np.abs(dx) < r / 3.5) & (np.abs(dy) < r))
    elif cls == 5:  # horizontal stripes over the whole image
        m = np.sin(2 * np.pi * yy / period + phase) > 0
    elif cls == 6:  # vertical stripes
        m = np.sin(2 * np.pi * xx / period + phase) > 0
    elif cls == 7:  # diagonal stripes
        m = np.sin(2 * np.pi * (xx + yy) / (1.4 * period) + phase) > 0
    elif cls == 8:  # checkerboard
        m = (np.sin(2 * np.pi * xx / period + phase) * np.sin(2 * np.pi * yy / period)) > 0
    else:  # scattered dots
        m = np.zeros((size, size), bool)
        for y0, x0 in rng.uniform(2, size - 2, size=(9, 2)):
            m |= (yy - y0) ** 2 + (xx - x0) ** 2 < 2.5**2
    return m.astype(np.float32)


def _shape_images(n: int, rng: np.random.Generator):
    labels = np.arange(n, dtype=np.int64) % 10
    rng.shuffle(labels)
    images = np.empty((n, 32, 32, 3), np.float32)
    for k, cls in enumerate(labels):
        mask = _shape_mask(int(cls), rng)[..., None]
        fg = rng.uniform(0.35, 1.0, size=3)
        bg = rng.uniform(0.0, 0.6, size=3)
        if np.abs(fg - bg).sum() < 0.6:  # keep the shape visible
            fg = 1.0 - bg
        img = mask * fg + (1 - mask) * bg
        images[k] = img + rng.normal(0, 0.06, size=img.shape)
    return np.clip(images, 0, 1), labels


def embedded_shapes(n_train: int, n_test: int, seed: int = 0):
    """CIFAR-10-shaped stand-in: (x_train, y_train, x_test, y_test), x of shape (N, 32, 32, 3)."""
    rng_train = np.random.default_rng([seed, 0])
    rng_test = np.random.default_rng([seed, 1])
    x_train, y_train = _shape_images(n_train, rng_train)
    x_test, y_test = _shape_images(n_test, rng_test)
    return x_train, y_train, x_test, y_test
