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
