import numpy as np
import pytest

import labkit
from labkit.training import split_validation


@pytest.fixture
def tiny_regression():
    labkit.setup_lab("99_test", profile="smoke", seed=0)
    import keras

    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 3)).astype("float32")
    y = (x @ np.array([1.0, -2.0, 0.5], dtype="float32"))[:, None]
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="mse")
    return model, x, y


def test_fit_prints_one_line_per_epoch_and_times_them(tiny_regression, capsys):
    model, x, y = tiny_regression
    history = labkit.fit(model, x, y, epochs=3, batch_size=32, validation_split=0.25)
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("epoch")]
    assert len(lines) == 3 and lines[0].startswith("epoch 1/3") and "val_loss" in lines[0]
    assert all("\r" not in line and "=====" not in line for line in lines)
    assert len(history.epoch_seconds) == 3 and history.train_seconds > 0
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_fit_refuses_the_test_split_for_validation(tiny_regression):
    model, x, y = tiny_regression
    data = labkit.load_mnist(source="embedded", n_train=50, n_test=20, verbose=False)
    with pytest.raises(ValueError, match="validation_data is the test split"):
        labkit.fit(model, x, y, epochs=1, validation_data=(data.x_test, data.y_test))
    with pytest.raises(ValueError, match="test split as training data"):
        labkit.fit(model, data.x_test, data.y_test, epochs=1)


def test_fit_parameter_errors(tiny_regression):
    model, x, y = tiny_regression
    with pytest.raises(ValueError, match="epochs=0"):
        labkit.fit(model, x, y, epochs=0)
    with pytest.raises(ValueError, match="needs validation data"):
        labkit.fit(model, x, y, epochs=1, patience=2)
    with pytest.raises(ValueError, match="not both"):
        labkit.fit(model, x, y, epochs=1, validation_split=0.1, validation_data=(x, y))


def test_early_stopping_stops_and_keeps_best(tiny_regression):
    model, x, _ = tiny_regression
    noise = np.random.default_rng(1).normal(size=(256, 1)).astype("float32")  # nothing to learn
    history = labkit.fit(model, x, noise, epochs=40, batch_size=32, validation_split=0.25, patience=2)
    assert len(history.epoch_seconds) < 40


def test_split_validation_is_disjoint_and_seeded():
    x = np.arange(100)
    (xt, yt), (xv, yv) = split_validation(x, x * 2, 0.2, seed=1)
    assert len(xv) == 20 and not set(xt) & set(xv) and np.array_equal(yv, xv * 2)
    assert np.array_equal(split_validation(x, None, 0.2, seed=1)[1][0], xv)
    with pytest.raises(ValueError, match="between 0 and 1"):
        split_validation(x, None, 1.5)


def test_same_seed_gives_the_same_training_run():
    import keras

    def run():
        labkit.setup_lab("99_test", profile="smoke", seed=5)
        x = np.random.default_rng(0).normal(size=(128, 8)).astype("float32")
        model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu"),
                                  keras.layers.Dropout(0.3), keras.layers.Dense(8)])
        model.compile(optimizer="adam", loss="mse")
        return labkit.fit(model, x, x, epochs=2, batch_size=16, validation_split=0.25).history["loss"]

    assert run() == run()
