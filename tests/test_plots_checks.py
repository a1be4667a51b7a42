import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

from labkit import checks, plots
from labkit.summary import layer_table


def test_reconstruction_grid_rows_and_columns():
    x = np.random.default_rng(0).random((12, 28, 28, 1))
    fig = plots.reconstruction_grid(x, x, noisy=x, n=5, title="t")
    assert len(fig.axes) == 15
    assert [fig.axes[i * 5].get_ylabel() for i in range(3)] == ["original", "noisy", "reconstruction"]


def test_image_rows_accepts_colour_and_flat_images():
    rows = {"colour": np.random.default_rng(0).random((4, 32, 32, 3)), "flat": np.zeros((4, 784))}
    assert len(plots.image_rows(rows, n=4).axes) == 8


def test_learning_curves_draws_train_and_validation():
    fig = plots.learning_curves({"a": {"loss": [3, 2, 1], "val_loss": [3, 2.5, 2]}, "b": {"loss": [1, 0.5]}})
    assert len(fig.axes[0].lines) == 3
    with pytest.raises(KeyError, match="No 'mse'"):
        plots.learning_curves({"loss": [1]}, metric="mse")


def test_latent_scatter_needs_two_dimensions():
    fig = plots.latent_scatter(np.zeros((10, 2)), np.arange(10) % 3, class_names=["a", "b", "c"])
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["a", "b", "c"]
    with pytest.raises(ValueError, match="shape \\(N, 2\\)"):
        plots.latent_scatter(np.zeros((10, 3)), np.zeros(10))


def test_confusion_matrix_rows_sum_to_one():
    fig = plots.confusion_matrix([0, 0, 1, 1], [0, 1, 1, 1], ["x", "y"])
    image = fig.axes[0].images[0].get_array()
    assert np.allclose(image.sum(axis=1), 1) and image[0, 0] == 0.5


def test_collapse_check_catches_constant_output_and_passes_real_variation():
    rng = np.random.default_rng(0)
    inputs = rng.random((50, 28, 28))
    with pytest.raises(checks.LabCheckError, match="collapsed"):
        checks.check_not_collapsed(np.tile(inputs.mean(axis=0), (50, 1, 1)) + 1e-4 * rng.random((50, 28, 28)), inputs)
    assert checks.check_not_collapsed(inputs * 0.9, inputs) > 0.2


def test_check_between_and_disjoint():
    assert checks.check_between("rmse", 0.2, 0, 1) == 0.2
    with pytest.raises(checks.LabCheckError, match="rmse = 2 is outside"):
        checks.check_between("rmse", 2.0, 0, 1)
    with pytest.raises(checks.LabCheckError, match="share \\[2\\]"):
        checks.check_disjoint("train", [1, 2], "test", [2, 4])
    checks.check_disjoint("train", [1, 2], "test", [4])


def test_layer_table_is_deterministic():
    import labkit

    labkit.setup_lab("99_test", profile="smoke")
    import keras

    def table():
        return layer_table(keras.Sequential([keras.Input((4,)), keras.layers.Dense(3), keras.layers.Dense(2)]))

    text = table()
    assert text == table()
    assert "Dense  (N, 3)  " in text and "total parameters: 23" in text


def test_output_activation_must_reach_the_targets():
    import keras

    sigmoid = keras.Sequential([keras.Input((3,)), keras.layers.Dense(3, activation="sigmoid")])
    linear = keras.Sequential([keras.Input((3,)), keras.layers.Dense(3)])
    sine = np.sin(np.linspace(-3, 3, 30)).reshape(10, 3)
    with pytest.raises(checks.LabCheckError, match=r"sigmoid.*\[0, 1\].*from -1 to 1. Use a tanh"):
        checks.check_output_activation(sigmoid, sine)
    assert checks.check_output_activation(sigmoid, np.abs(sine)) == "sigmoid"
    assert checks.check_output_activation(linear, sine * 5) == "linear"


def test_bottleneck_must_be_smaller_than_the_input():
    assert checks.check_bottleneck((None, 28, 28, 1), (None, 7, 7, 2)) == 8.0
    with pytest.raises(checks.LabCheckError, match="1568 numbers but the input only 784"):
        checks.check_bottleneck((28, 28, 1), (14, 14, 8))


def test_validation_data_must_not_come_from_the_test_set():
    rng = np.random.default_rng(0)
    x_test, x_train = rng.random((20, 4, 4)), rng.random((50, 4, 4))
    checks.check_not_test_data(x_train[:10], x_test)
    with pytest.raises(checks.LabCheckError, match="shares 3 example"):
        checks.check_not_test_data(np.concatenate([x_train[:5], x_test[:3]]), x_test)


def _output_stacks():
    from keras import Sequential
    from keras.layers import (LSTM, Activation, BatchNormalization, Bidirectional, Dense, Dropout, Flatten,
                              ReLU, Reshape, TimeDistributed)

    return [
        ([TimeDistributed(Dense(1, activation="sigmoid"))], "sigmoid"),
        ([Bidirectional(LSTM(2, return_sequences=True, activation="relu"))], "relu"),
        ([Dense(6, activation="tanh"), Reshape((30,))], "tanh"),
        ([Dense(6), Activation("softplus"), Dropout(0.1)], "softplus"),
        ([Dense(6), ReLU()], "relu"),
        ([Dense(6, activation="sigmoid"), BatchNormalization()], "linear"),
        ([Sequential([Dense(6, activation="sigmoid")]), Flatten()], "sigmoid"),
    ]


@pytest.mark.parametrize("case", range(7))
def test_output_activation_is_found_inside_wrappers_nested_models_and_after_reshapes(case):
    import keras

    stack, expected = _output_stacks()[case]
    model = keras.Sequential([keras.Input((5, 3)), *stack])
    assert checks.output_activation(model) == expected
    functional = keras.Model(model.inputs, model.outputs)
    assert checks.output_activation(functional) == expected


def test_a_time_distributed_output_is_checked_against_signed_targets():
    import keras

    model = keras.Sequential([keras.Input((5, 1)), keras.layers.LSTM(4, return_sequences=True),
                              keras.layers.TimeDistributed(keras.layers.Dense(1, activation="tanh"))])
    waves = 1.2 * np.sin(np.linspace(0, 6, 50)).reshape(10, 5, 1)
    with pytest.raises(checks.LabCheckError, match=r"uses tanh.*from -1.2 to 1.2. Use a linear"):
        checks.check_output_activation(model, waves)
    assert checks.check_output_activation(model, waves / 2) == "tanh"


@pytest.mark.parametrize("activation", ["relu", "tanh", None, "softplus", "elu"])
def test_pixel_bounds_reject_outputs_that_can_leave_them(activation):
    import keras

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(4, activation=activation)])
    pixels = np.random.default_rng(0).random((8, 4))
    with pytest.raises(checks.LabCheckError, match=r"only take values in \[0, 1\].*Use a sigmoid output"):
        checks.check_output_activation(model, pixels, bounds=(0.0, 1.0))


def test_pixel_bounds_accept_a_sigmoid_and_softmax_needs_distributions():
    import keras

    pixels = np.random.default_rng(0).random((8, 4))
    sigmoid = keras.Sequential([keras.Input((4,)), keras.layers.Dense(4, activation="sigmoid")])
    assert checks.check_output_activation(sigmoid, pixels, bounds=(0.0, 1.0)) == "sigmoid"
    softmax = keras.Sequential([keras.Input((4,)), keras.layers.Dense(4, activation="softmax")])
    with pytest.raises(checks.LabCheckError, match="softmax.*sum to 1"):
        checks.check_output_activation(softmax, pixels, bounds=(0.0, 1.0))
    one_channel = keras.Sequential([keras.Input((4, 1)), keras.layers.Dense(1, activation="softmax")])
    with pytest.raises(checks.LabCheckError, match="of size 1"):
        checks.check_output_activation(one_channel, pixels[..., None])
    assert checks.check_output_activation(softmax, pixels / pixels.sum(1, keepdims=True)) == "softmax"
