"""Tests of labkit.sequences: sine waves, anomaly injection and alarm thresholds (lab 02)."""

from __future__ import annotations

import numpy as np
import pytest

from labkit import sequences as sq


def test_sine_wave_shapes_range_and_dtype():
    waves = sq.sine_waves(500, length=50, noise_sd=0.1, seed=0)
    assert len(waves) == 500
    assert waves.noisy.shape == waves.clean.shape == (500, 50, 1)
    assert waves.noisy.dtype == waves.clean.dtype == np.float32
    assert np.abs(waves.clean).max() <= 1.0 + 1e-6
    assert waves.noisy.min() < -0.9 and waves.noisy.max() > 0.9  # signed data, about [-1.1, 1.1]
    assert np.quantile(np.abs(waves.noisy), 0.999) < 1.4


def test_noise_is_what_was_asked_for():
    waves = sq.sine_waves(400, noise_sd=0.1, seed=1)
    residual = waves.noisy - waves.clean
    assert residual.std() == pytest.approx(0.1, rel=0.03)
    assert abs(residual.mean()) < 0.005
    assert waves.noise_sd == 0.1
    np.testing.assert_array_equal(sq.sine_waves(10, noise_sd=0.0).noisy, sq.sine_waves(10, noise_sd=0.0).clean)


def test_clean_waves_follow_their_parameters():
    waves = sq.sine_waves(20, length=40, seed=3, amplitude=(0.5, 1.0), cycles=(1.0, 3.0))
    t = np.arange(40)
    for i in range(20):
        expected = waves.amplitude[i] * np.sin(2 * np.pi * waves.cycles[i] * t / 40 + waves.phase[i])
        np.testing.assert_allclose(waves.clean[i, :, 0], expected, atol=1e-5)
    assert waves.amplitude.min() >= 0.5 and waves.amplitude.max() <= 1.0
    assert waves.cycles.min() >= 1.0 and waves.cycles.max() <= 3.0


def test_sine_waves_are_seeded():
    a, b, c = sq.sine_waves(50, seed=4), sq.sine_waves(50, seed=4), sq.sine_waves(50, seed=5)
    np.testing.assert_array_equal(a.noisy, b.noisy)
    assert not np.array_equal(a.noisy, c.noisy)


@pytest.mark.parametrize("kwargs", [{"n": 0}, {"n": 5, "length": 1}, {"n": 5, "noise_sd": -1},
                                    {"n": 5, "amplitude": (1.0, 0.5)}])
def test_sine_waves_refuse_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        sq.sine_waves(**kwargs)


def test_every_sequence_gets_exactly_one_anomaly_and_kinds_are_balanced():
    waves = sq.sine_waves(200, seed=0)
    bad, kind = sq.inject_anomalies(waves.noisy, seed=0)
    assert bad.shape == waves.noisy.shape and bad.dtype == np.float32
    assert len(kind) == 200
    counts = {k: int(np.sum(kind == k)) for k in sq.ANOMALY_KINDS}
    assert counts == {k: 50 for k in sq.ANOMALY_KINDS}
    changed = np.any(bad != waves.noisy, axis=(1, 2))
    assert changed.mean() > 0.97  # a flatline on a flat stretch may change (almost) nothing
    np.testing.assert_array_equal(sq.inject_anomalies(waves.noisy, seed=0)[0], bad)


def test_each_kind_does_what_its_name_says():
    waves = sq.sine_waves(400, seed=2)
    x = waves.noisy
    for k in sq.ANOMALY_KINDS:
        bad, kind = sq.inject_anomalies(x, kinds=(k,), seed=1)
        assert set(kind) == {k}
        diff = (bad - x)[..., 0]
        changed = np.abs(diff) > 1e-7
        if k == "spike":
            assert changed.sum(axis=1).max() <= 3 and np.abs(diff).max() >= 0.6
        elif k == "level_shift":
            steps = changed.sum(axis=1)
            assert steps.min() >= 10 and steps.max() <= 17
            # the offset is the same all along the stretch
            for row, mask in zip(diff[:20], changed[:20]):
                assert np.ptp(row[mask]) < 1e-5 and 0.4 - 1e-5 <= abs(row[mask][0]) <= 0.7 + 1e-5
        elif k == "flatline":
            for row in bad[:50, :, 0]:
                runs = np.diff(row) == 0
                assert runs.sum() >= 9  # a held stretch of at least 10 steps
        else:
            assert diff.std() > 0.05 and changed.sum(axis=1).max() <= 17


def test_inject_anomalies_leaves_input_alone_and_accepts_2d():
    x = sq.sine_waves(8, seed=0).noisy[..., 0]
    before = x.copy()
    bad, _ = sq.inject_anomalies(x, seed=0)
    assert bad.shape == x.shape
    np.testing.assert_array_equal(x, before)
    with pytest.raises(ValueError):
        sq.inject_anomalies(x, kinds=("meteor",))
    with pytest.raises(ValueError):
        sq.inject_anomalies(x, strength=0)


def test_strength_scales_the_anomaly():
    x = sq.sine_waves(100, seed=0).noisy
    weak, _ = sq.inject_anomalies(x, kinds=("level_shift",), seed=0, strength=0.5)
    strong, _ = sq.inject_anomalies(x, kinds=("level_shift",), seed=0, strength=1.0)
    np.testing.assert_allclose(np.abs(weak - x).max(axis=(1, 2)) * 2, np.abs(strong - x).max(axis=(1, 2)), rtol=1e-4)


def test_threshold_is_a_quantile_of_normal_errors():
    errors = np.arange(1, 101, dtype=float)
    assert sq.threshold_from_normal(errors, 0.99) == pytest.approx(np.quantile(errors, 0.99))
    assert sq.threshold_from_normal(errors, 0.5) == pytest.approx(50.5)
    for bad in ([], [1.0, np.nan]):
        with pytest.raises(ValueError):
            sq.threshold_from_normal(bad)
    with pytest.raises(ValueError):
        sq.threshold_from_normal(errors, 1.0)


def test_detection_rates_count_errors_above_the_threshold():
    report = sq.detection_rates([0.5, 2.0, 3.0, 4.0], [0.1, 0.2, 1.5, 0.3, 0.4], threshold=1.0)
    assert report["detection_rate"] == 0.75
    assert report["false_alarm_rate"] == 0.2
    assert report["n_anomalous"] == 4 and report["n_normal"] == 5 and report["threshold"] == 1.0
    with pytest.raises(ValueError):
        sq.detection_rates([], [0.1], 1.0)


def test_detection_by_kind():
    rates = sq.detection_by_kind([2.0, 0.1, 3.0, 0.2], ["flatline", "spike", "spike", "flatline"], 1.0)
    assert list(rates) == ["spike", "flatline"]
    assert rates == {"spike": 0.5, "flatline": 0.5}
    with pytest.raises(ValueError):
        sq.detection_by_kind([1.0], ["spike", "spike"], 1.0)
