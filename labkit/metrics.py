"""Reconstruction and regression metrics, computed in float64 on NumPy arrays."""

from __future__ import annotations

import math

import numpy as np


def _pair(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape:
        raise ValueError(f"Shapes differ: {a.shape} vs {b.shape}. Compare arrays of the same shape.")
    if a.size == 0:
        raise ValueError("Cannot compute a metric on empty arrays.")
    return a, b


def mse(a, b) -> float:
    """Mean squared error."""
    a, b = _pair(a, b)
    return float(np.mean((a - b) ** 2))


def mae(a, b) -> float:
    """Mean absolute error."""
    a, b = _pair(a, b)
    return float(np.mean(np.abs(a - b)))


def rmse(a, b) -> float:
    """Root mean squared error."""
    return math.sqrt(mse(a, b))


def per_example_mse(a, b) -> np.ndarray:
    """Mean squared error of each example (first axis), e.g. for anomaly scores."""
    a, b = _pair(a, b)
    return np.mean((a - b) ** 2, axis=tuple(range(1, a.ndim)))


def psnr(a, b, data_range: float = 1.0) -> float:
    """Peak signal-to-noise ratio in dB, from the mean squared error over all pixels."""
    if data_range <= 0:
        raise ValueError(f"data_range={data_range!r} must be positive (1.0 for images in [0, 1]).")
    err = mse(a, b)
    return math.inf if err == 0 else 10 * math.log10(data_range**2 / err)


def _size(shape) -> int:
    if isinstance(shape, (int, np.integer)):
        return int(shape)
    shape = [s for s in shape if s is not None]
    return int(np.prod(shape))


def compression_ratio(input_shape, code_shape) -> float:
    """How many input numbers each code number stands for (784 / 98 = 8.0).

    Below 1 the "bottleneck" is larger than the input and compresses nothing.
    """
    n_in, n_code = _size(input_shape), _size(code_shape)
    if n_in <= 0 or n_code <= 0:
        raise ValueError(f"Sizes must be positive, got input {n_in} and code {n_code}.")
    return n_in / n_code
