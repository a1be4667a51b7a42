"""Corrupting images with noise for denoising autoencoders (lab 03).

``add_gaussian_noise`` adds zero-mean Gaussian noise of a chosen standard
deviation and clips the result back to the valid pixel range [0, 1], so a
noisy image is still an image. The noise comes from its own seeded generator:
the same images, standard deviation and seed always give the same noisy copy,
and the global random state is left alone.
"""

from __future__ import annotations

import numpy as np


def _as_sd(sd, n: int) -> np.ndarray:
    """A standard deviation per example (shape (n,)) from a number or a sequence of n numbers."""
    sd = np.asarray(sd, dtype=np.float64)
    if sd.ndim == 0:
        sd = np.full(n, float(sd))
    elif sd.shape != (n,):
        raise ValueError(f"sd has shape {sd.shape}; give one number, or one per example (shape ({n},)).")
    if not np.all(np.isfinite(sd)) or (sd < 0).any():
        raise ValueError(f"Noise standard deviations must be finite and >= 0, got min {sd.min():.3g}.")
    return sd


def add_gaussian_noise(x, sd, seed: int = 0, clip: tuple[float, float] | None = (0.0, 1.0)) -> np.ndarray:
    """Return ``x + sd * N(0, 1)`` clipped to ``clip`` (default [0, 1]) as float32.

    ``sd`` is one number for all examples, or an array with one standard deviation
    per example (the first axis of ``x``), e.g. to train one model on mixed levels.
    With the same ``seed``, two calls draw the same standard-normal pattern, so
    the noisy copies at sd 0.1 and 0.3 differ only in strength (a fair comparison).
    ``clip=None`` leaves the values unclipped.
    """
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 0 or len(x) == 0:
        raise ValueError("add_gaussian_noise needs a non-empty array of examples (first axis).")
    sd = _as_sd(sd, len(x)).astype(np.float32)
    pattern = np.random.default_rng(seed).standard_normal(x.shape, dtype=np.float32)
    noisy = x + sd.reshape((-1,) + (1,) * (x.ndim - 1)) * pattern
    if clip is not None:
        low, high = clip
        if not low < high:
            raise ValueError(f"clip={clip!r} must be (low, high) with low < high, e.g. (0.0, 1.0).")
        noisy = np.clip(noisy, low, high)
    return noisy.astype(np.float32, copy=False)


def random_levels(n: int, low: float, high: float, seed: int = 0) -> np.ndarray:
    """``n`` noise standard deviations drawn uniformly from [low, high] (one per example)."""
    if not 0 <= low <= high:
        raise ValueError(f"Need 0 <= low <= high, got low={low!r}, high={high!r}.")
    if n < 1:
        raise ValueError(f"n={n!r} must be a positive whole number.")
    return np.random.default_rng(seed).uniform(low, high, size=int(n)).astype(np.float32)
