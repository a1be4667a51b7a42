"""Tests of labkit.noise: clipped, seeded Gaussian noise for the denoising lab."""

from __future__ import annotations

import numpy as np
import pytest

from labkit.noise import add_gaussian_noise, random_levels


def images(n=64, seed=1):
    return np.random.default_rng(seed).uniform(0, 1, size=(n, 28, 28, 1)).astype(np.float32)


def test_output_is_clipped_float32_and_same_shape():
    x = images()
    noisy = add_gaussian_noise(x, 0.5, seed=0)
    assert noisy.shape == x.shape and noisy.dtype == np.float32
    assert noisy.min() >= 0.0 and noisy.max() <= 1.0
    assert (noisy == 0.0).any() and (noisy == 1.0).any()  # sd 0.5 pushes pixels past both ends


def test_unclipped_noise_has_the_requested_standard_deviation():
    x = np.full((200, 28, 28, 1), 0.5, np.float32)
    for sd in (0.1, 0.3):
        noise = add_gaussian_noise(x, sd, seed=3, clip=None) - x
        assert abs(noise.mean()) < 0.003
        assert noise.std() == pytest.approx(sd, rel=0.01)


def test_clipping_shrinks_the_noise_on_black_pixels():
    x = np.zeros((100, 28, 28, 1), np.float32)
    noisy = add_gaussian_noise(x, 0.2, seed=0)
    # half the draws are negative and clip to 0; the rest keep their value
    assert np.mean(noisy == 0) == pytest.approx(0.5, abs=0.01)
    assert noisy.mean() == pytest.approx(0.2 / np.sqrt(2 * np.pi), rel=0.02)


def test_same_seed_same_noise_other_seed_other_noise():
    x = images()
    a, b = add_gaussian_noise(x, 0.2, seed=7), add_gaussian_noise(x, 0.2, seed=7)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, add_gaussian_noise(x, 0.2, seed=8))


def test_levels_share_one_pattern_with_the_same_seed():
    x = np.full((10, 8, 8, 1), 0.5, np.float32)
    low = add_gaussian_noise(x, 0.01, seed=0, clip=None) - x
    high = add_gaussian_noise(x, 0.03, seed=0, clip=None) - x
    np.testing.assert_allclose(high, 3 * low, rtol=1e-4, atol=1e-6)


def test_does_not_touch_the_input_or_the_global_random_state():
    x = images()
    before = x.copy()
    np.random.seed(123)
    expected = np.random.rand()
    np.random.seed(123)
    add_gaussian_noise(x, 0.3, seed=0)
    assert np.random.rand() == expected
    np.testing.assert_array_equal(x, before)


def test_zero_sd_returns_the_input():
    x = images()
    np.testing.assert_array_equal(add_gaussian_noise(x, 0.0), x)


def test_one_sd_per_example():
    x = np.full((3, 28, 28, 1), 0.5, np.float32)
    noise = add_gaussian_noise(x, [0.0, 0.1, 0.2], seed=0, clip=None) - x
    stds = noise.reshape(3, -1).std(axis=1)
    assert stds[0] == 0.0
    assert stds[1] == pytest.approx(0.1, rel=0.1) and stds[2] == pytest.approx(0.2, rel=0.1)


@pytest.mark.parametrize("sd", [-0.1, float("nan"), [0.1, 0.2]])
def test_bad_sd_is_refused(sd):
    with pytest.raises(ValueError):
        add_gaussian_noise(images(4), sd)


def test_bad_clip_and_empty_input_are_refused():
    with pytest.raises(ValueError):
        add_gaussian_noise(images(4), 0.1, clip=(1.0, 0.0))
    with pytest.raises(ValueError):
        add_gaussian_noise(np.zeros((0, 28, 28, 1)), 0.1)


def test_random_levels_range_and_seed():
    levels = random_levels(1000, 0.05, 0.5, seed=2)
    assert levels.shape == (1000,) and levels.min() >= 0.05 and levels.max() <= 0.5
    assert levels.mean() == pytest.approx(0.275, abs=0.02)
    np.testing.assert_array_equal(levels, random_levels(1000, 0.05, 0.5, seed=2))
    with pytest.raises(ValueError):
        random_levels(10, 0.5, 0.1)
