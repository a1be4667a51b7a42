import math

import numpy as np
import pytest

from labkit import metrics


def test_mse_mae_rmse_on_known_values():
    a, b = np.array([0.0, 0.0, 1.0, 1.0]), np.array([0.0, 1.0, 1.0, 0.5])
    assert metrics.mse(a, b) == pytest.approx(1.25 / 4)
    assert metrics.mae(a, b) == pytest.approx(1.5 / 4)
    assert metrics.rmse(a, b) == pytest.approx(math.sqrt(1.25 / 4))


def test_psnr_matches_definition_and_handles_identity():
    a = np.zeros((4, 4))
    b = np.full((4, 4), 0.1)
    assert metrics.psnr(a, b) == pytest.approx(20.0)  # 10 log10(1 / 0.01)
    assert metrics.psnr(a * 255, b * 255, data_range=255) == pytest.approx(20.0)
    assert metrics.psnr(a, a) == math.inf


def test_per_example_mse():
    a = np.zeros((2, 3, 3))
    b = np.stack([np.zeros((3, 3)), np.ones((3, 3))])
    assert metrics.per_example_mse(a, b).tolist() == [0.0, 1.0]


def test_compression_ratio():
    assert metrics.compression_ratio((28, 28, 1), 98) == 8.0
    assert metrics.compression_ratio((None, 28, 28, 1), (None, 7, 7, 128)) == pytest.approx(0.125)


def test_metric_errors_are_clear():
    with pytest.raises(ValueError, match="Shapes differ"):
        metrics.mse(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="empty"):
        metrics.mae(np.zeros(0), np.zeros(0))
    with pytest.raises(ValueError, match="data_range"):
        metrics.psnr(np.zeros(2), np.ones(2), data_range=0)
