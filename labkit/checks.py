"""Self-checks a lab runs on its own results, with messages that say what to do."""

from __future__ import annotations

import numpy as np


class LabCheckError(AssertionError):
    """A lab's result failed a sanity check."""


def check_not_collapsed(outputs, inputs=None, min_std: float = 0.02) -> float:
    """Fail when a model's outputs are (nearly) the same for every input.

    A collapsed autoencoder predicts one blank or mean image whatever it is shown;
    its loss still looks small on sparse images such as MNIST. Returns the spread
    (standard deviation across examples, averaged over pixels).
    """
    outputs = np.asarray(outputs, np.float64)
    if len(outputs) < 2:
        raise ValueError("check_not_collapsed needs at least two outputs to compare.")
    spread = float(outputs.std(axis=0).mean())
    reference = float(np.asarray(inputs, np.float64).std(axis=0).mean()) if inputs is not None else None
    if spread < min_std or (reference is not None and spread < 0.1 * reference):
        ref = f" (the inputs vary by {reference:.4f})" if reference is not None else ""
        raise LabCheckError(
            f"The model's outputs barely differ between inputs (spread {spread:.4f}){ref}: it has "
            f"collapsed to a constant image. Try a lower learning rate, batch normalisation, a "
            f"sigmoid output with binary cross-entropy, or another seed, then train again."
        )
    return spread


def check_between(name: str, value: float, low: float, high: float, hint: str = "") -> float:
    """Fail with a readable message when ``value`` lies outside [low, high]."""
    if not np.isfinite(value) or not low <= value <= high:
        raise LabCheckError(f"{name} = {value:.6g} is outside the expected range [{low}, {high}]. {hint}".strip())
    return value


def check_disjoint(name_a: str, ids_a, name_b: str, ids_b) -> None:
    """Fail when two splits share any id (subjects, examples): that would leak test data."""
    shared = sorted(set(np.ravel(ids_a).tolist()) & set(np.ravel(ids_b).tolist()))
    if shared:
        raise LabCheckError(
            f"{name_a} and {name_b} share {shared[:10]}{' ...' if len(shared) > 10 else ''}: "
            f"test data would leak into training. Keep every id in one split only."
        )


INF = float("inf")
_OUTPUT_RANGES = {"sigmoid": (0.0, 1.0), "hard_sigmoid": (0.0, 1.0), "softmax": (0.0, 1.0),
                  "tanh": (-1.0, 1.0), "hard_tanh": (-1.0, 1.0), "softsign": (-1.0, 1.0),
                  "relu": (0.0, INF), "softplus": (0.0, INF), "exponential": (0.0, INF), "relu6": (0.0, 6.0),
                  "elu": (-1.0, INF), "selu": (-1.7581, INF), "gelu": (-0.17, INF), "silu": (-0.2785, INF)}
_ACTIVATION_LAYERS = {"ReLU": "relu", "Softmax": "softmax", "ELU": "elu", "LeakyReLU": "leaky_relu",
                      "PReLU": "prelu"}
# layers that move, copy or drop values without changing their range
_PASS_THROUGH = {"Reshape", "Flatten", "Permute", "RepeatVector", "Dropout", "SpatialDropout1D",
                 "SpatialDropout2D", "SpatialDropout3D", "GaussianNoise", "GaussianDropout", "InputLayer",
                 "Cropping1D", "Cropping2D", "Cropping3D", "UpSampling1D", "UpSampling2D", "UpSampling3D",
                 "MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "AveragePooling1D", "AveragePooling2D",
                 "AveragePooling3D", "Identity"}


def output_activation(model) -> str:
    """The name of the activation that makes a model's output.

    Looks inside nested models and wrappers (``TimeDistributed``, ``Bidirectional``) and past
    layers that only move values (``Reshape``, ``Dropout``, ...); any other layer without an
    activation counts as linear.
    """
    if getattr(model, "layers", None):  # a Sequential or functional model: its last layer that acts
        for layer in reversed(model.layers):
            name = output_activation(layer)
            if name is not None:
                return name
        return "linear"
    kind = type(model).__name__
    wrapped = getattr(model, "forward_layer", None) or getattr(model, "layer", None)
    if wrapped is not None:  # Bidirectional, TimeDistributed
        return output_activation(wrapped)
    if kind in _ACTIVATION_LAYERS:
        return _ACTIVATION_LAYERS[kind]
    activation = getattr(model, "activation", None)
    if activation is not None:
        return getattr(activation, "__name__", "linear")
    return None if kind in _PASS_THROUGH else "linear"


def _suggest(low: float, high: float) -> str:
    if low >= 0 and high <= 1:
        return "sigmoid"
    return "tanh or linear (activation=None)" if low >= -1 and high <= 1 else "linear (activation=None)"


def check_output_activation(model, targets, bounds: tuple[float, float] | None = None) -> str:
    """Fail when the model's output activation does not fit its targets; returns its name.

    The activation must reach every target value: a sigmoid or relu output on data with negative
    values (a sine wave, standardised signals) never can, and the loss stalls. With ``bounds``
    (the values the data can ever take, e.g. ``(0, 1)`` for pixels) it must also stay inside them:
    a relu or linear output then predicts pixels that cannot exist. A softmax output must have
    targets that are distributions along the last axis.
    """
    name = output_activation(model)
    low, high = _OUTPUT_RANGES.get(name, (-INF, INF))
    targets = np.asarray(targets, np.float64)
    t_min, t_max = float(targets.min()), float(targets.max())
    if t_min < low - 1e-6 or t_max > high + 1e-6:
        raise LabCheckError(
            f"The output layer uses {name}, which only produces values in [{low:g}, {high:g}], but the "
            f"targets range from {t_min:.3g} to {t_max:.3g}. Use a {_suggest(t_min, t_max)} output, or "
            f"rescale the data into [{low:g}, {high:g}] first."
        )
    if bounds is not None and (low < bounds[0] - 1e-6 or high > bounds[1] + 1e-6):
        raise LabCheckError(
            f"The output layer uses {name}, which produces values in [{low:g}, {high:g}], but the data can "
            f"only take values in [{bounds[0]:g}, {bounds[1]:g}]: some outputs would be impossible values. "
            f"Use a {_suggest(*bounds)} output, whose range is exactly that."
        )
    if name == "softmax":
        sums = targets.sum(axis=-1)
        if targets.shape[-1] < 2 or not np.allclose(sums, 1.0, atol=1e-3):
            raise LabCheckError(
                f"The output layer uses softmax, which makes the values along the last axis (of size "
                f"{targets.shape[-1]}) sum to 1, but the targets' sums range from {sums.min():.3g} to "
                f"{sums.max():.3g}. Softmax is for class probabilities; use a {_suggest(t_min, t_max)} output."
            )
    return name


def check_bottleneck(input_shape, code_shape) -> float:
    """Fail when an autoencoder's code is not smaller than its input; returns the compression ratio.

    A "bottleneck" as large as the input lets the model copy it and learn nothing useful.
    """
    n_in = int(np.prod([d for d in input_shape if d is not None]))
    n_code = int(np.prod([d for d in code_shape if d is not None]))
    if n_code >= n_in:
        raise LabCheckError(
            f"The code has {n_code} numbers but the input only {n_in}: that is no bottleneck, and the "
            f"autoencoder can learn to copy its input. Shrink the code (fewer filters or units, or "
            f"more pooling) below {n_in} numbers."
        )
    return n_in / n_code


def check_not_test_data(x_val, x_test, name: str = "validation data") -> None:
    """Fail when ``x_val`` shares examples with the test set.

    Early stopping or model choice on test data makes the test score optimistic; split the
    validation set from the training data instead (labkit.split_validation).
    """
    def rows(x):
        x = np.ascontiguousarray(np.asarray(x))
        return {r.tobytes() for r in x.reshape(len(x), -1)}

    shared = len(rows(x_val) & rows(x_test))
    if shared:
        raise LabCheckError(
            f"The {name} shares {shared} example(s) with the test set. Choose epochs and models on a "
            f"validation split of the training data (labkit.split_validation) and touch the test set "
            f"once, at the end."
        )
