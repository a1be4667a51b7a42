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


_OUTPUT_RANGES = {"sigmoid": (0.0, 1.0), "relu": (0.0, float("inf")), "softplus": (0.0, float("inf")),
                  "tanh": (-1.0, 1.0), "hard_sigmoid": (0.0, 1.0), "softmax": (0.0, 1.0)}


def _activation_name(model) -> str:
    layer = model.layers[-1]
    activation = getattr(layer, "activation", None)
    return getattr(activation, "__name__", "linear") if activation is not None else "linear"


def check_output_activation(model, targets) -> str:
    """Fail when the model's last activation cannot produce the range of its targets.

    A sigmoid or relu output on data with negative values (a sine wave, standardised signals)
    can never reach them, so the loss stalls. Returns the activation's name.
    """
    name = _activation_name(model)
    low, high = _OUTPUT_RANGES.get(name, (-float("inf"), float("inf")))
    targets = np.asarray(targets, np.float64)
    t_min, t_max = float(targets.min()), float(targets.max())
    if t_min < low - 1e-6 or t_max > high + 1e-6:
        fix = "linear (activation=None)" if t_min < -1 or t_max > 1 else "tanh or linear (activation=None)"
        raise LabCheckError(
            f"The output layer uses {name}, which only produces values in [{low:g}, {high:g}], but the "
            f"targets range from {t_min:.3g} to {t_max:.3g}. Use a {fix} output, or rescale the data "
            f"into [{low:g}, {high:g}] first."
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
