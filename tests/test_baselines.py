"""The source documents' models used by ``labkit bench``: the time cap, and tiny runs on stand-in data."""

from types import SimpleNamespace

import numpy as np
import pytest

from labkit import baselines

TINY = dict(source="embedded", n_train=300, n_test=60)


def test_no_cap_when_the_estimate_fits_the_limit():
    estimate, share = baselines.plan_budget([[12.0, 10.0], [25.0, 20.0]], [5, 5], lab_seconds=100, limit_seconds=900)
    assert estimate == (12 + 4 * 10) + (25 + 4 * 20) and share is None


def test_the_estimate_takes_the_steady_cost_from_the_second_epoch():
    # a slow first epoch (graph building) alone would predict 50 x 3 = 150 s and cap at 100 s
    estimate, share = baselines.plan_budget([[3.0, 1.0]], [50], lab_seconds=20, limit_seconds=100)
    assert estimate == 3 + 49 * 1 and share is None
    assert baselines.plan_budget([[3.0]], [1], lab_seconds=20, limit_seconds=100) == (3.0, None)


def test_a_cap_shares_the_labs_time_left_after_the_first_epochs():
    estimate, share = baselines.plan_budget([[12.0, 10.0], [24.0, 20.0]], [65, 65], lab_seconds=200,
                                            limit_seconds=900)
    assert estimate == (12 + 64 * 10) + (24 + 64 * 20) and share == (200 - 66) / 2
    assert baselines.plan_budget([[100.0, 90.0]], [50], lab_seconds=60, limit_seconds=900)[1] == 0.0
    # the lab's time unknown: the limit itself is the budget
    assert baselines.plan_budget([[100.0, 90.0]], [50], lab_seconds=None, limit_seconds=900)[1] == 710.0


def test_plan_budget_needs_the_first_epochs_of_every_run():
    with pytest.raises(ValueError, match="every run"):
        baselines.plan_budget([[1.0, 1.0]], [5, 5], lab_seconds=10)


def test_time_budget_stops_before_an_epoch_would_overrun():
    t = [0.0]
    budget = baselines.TimeBudget(25.0, clock=lambda: t[0])
    budget.set_model(SimpleNamespace(stop_training=False))
    budget.on_train_begin()
    stopped_after = None
    for epoch in range(10):
        budget.on_epoch_begin(epoch)
        t[0] += 10.0  # every epoch takes 10 s
        budget.on_epoch_end(epoch)
        if budget.model.stop_training:
            stopped_after = epoch + 1
            break
    assert stopped_after == 2  # 20 s done, a third epoch would end at 30 s > 25 s


def test_tiny_dense_baseline_runs_and_a_zero_budget_caps_it():
    full = baselines.run_baseline("04_stacked_autoencoder", baselines.Options(**TINY, epochs=2))
    assert not full["capped"] and full["estimated_full_seconds"] is None
    assert set(full["epochs"].values()) == {2}
    assert set(full["figures"]) == {"test_mse_1layer_32", "test_mse_1layer_64", "test_mse_3layers_32",
                                    "test_mse_3layers_64"}
    assert all(0 < f["value"] < 0.3 and f["better"] == "lower" for f in full["figures"].values())
    assert full["standin"] is True
    capped = baselines.run_baseline("04_stacked_autoencoder",
                                    baselines.Options(**TINY, epochs=3, lab_seconds=0.0, limit_seconds=0.0))
    assert capped["capped"] and set(capped["epochs"].values()) == {2}  # the two timed epochs only
    assert capped["estimated_full_seconds"] > capped["seconds"] * 0.5


def test_tiny_cnn_autoencoder_baseline_has_the_sources_parameter_count():
    result = baselines.run_baseline("01_cnn_autoencoder", baselines.Options(**TINY, epochs=1))
    assert result["details"]["parameters"] == 12585  # seed 001's count
    assert 0 < result["figures"]["test_mse"]["value"] < 0.3


def test_unknown_lab_is_refused():
    with pytest.raises(ValueError, match="No baseline"):
        baselines.run_baseline("99_nothing", baselines.Options(**TINY))


@pytest.mark.notebooks
@pytest.mark.parametrize("lab", ["02_lstm_autoencoder", "03_denoising_autoencoder", "05_variational_autoencoder",
                                 "06_cifar10_pooling"])
def test_tiny_image_baselines_run(lab):
    result = baselines.run_baseline(lab, baselines.Options(**TINY, epochs=1))
    assert result["figures"] and all(np.isfinite(f["value"]) for f in result["figures"].values())


@pytest.mark.notebooks
def test_tiny_imu_baseline_runs():
    result = baselines.run_baseline("07_imu_lstm_regression", baselines.Options(windows_per_speed=3, epochs=1))
    assert result["details"]["parameters"] == 807401  # seed 004's count
    assert 0 < result["figures"]["rmse_mps"]["value"] < 5
