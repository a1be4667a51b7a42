"""A thin layer over ``model.fit``: tidy one-line-per-epoch logs, timings, safe validation."""

from __future__ import annotations

import time

import numpy as np

from labkit.data import is_test_data
from labkit.setup import import_tensorflow

import_tensorflow()
import keras  # noqa: E402


def split_validation(x, y=None, fraction: float = 0.1, seed: int = 0):
    """Shuffle and split training data into (train, validation); never touches the test set.

    Returns ``(x_train, y_train), (x_val, y_val)``; ``y`` may be None (autoencoders).
    """
    if not 0 < fraction < 1:
        raise ValueError(f"fraction={fraction!r} must be between 0 and 1, for example 0.1.")
    if is_test_data(x):
        raise ValueError("split_validation() was given the test split; split the training data instead.")
    n = len(x)
    n_val = max(1, int(round(n * fraction)))
    if n_val >= n:
        raise ValueError(f"Cannot hold out {n_val} of {n} examples for validation; use more data.")
    order = np.random.default_rng(seed).permutation(n)
    val, train = order[:n_val], order[n_val:]
    if y is None:
        return (x[train], None), (x[val], None)
    return (x[train], y[train]), (x[val], y[val])


class EpochLog(keras.callbacks.Callback):
    """Print one short line per epoch and keep the seconds each epoch took."""

    def __init__(self, epochs: int, every: int = 1):
        super().__init__()
        self.epochs = epochs
        self.every = max(1, every)
        self.seconds: list[float] = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)
        if (epoch + 1) % self.every and epoch + 1 != self.epochs:
            return
        parts = [f"epoch {epoch + 1:>{len(str(self.epochs))}}/{self.epochs}"]
        for key, value in (logs or {}).items():
            if key == "learning_rate":
                parts.append(f"lr {float(value):.2e}")
            else:
                parts.append(f"{key} {float(value):.5g}")
        parts.append(f"{self.seconds[-1]:.1f} s")
        print("  ".join(parts), flush=True)


def _check_validation(validation_data):
    if validation_data is None:
        return
    arrays = validation_data if isinstance(validation_data, (tuple, list)) else (validation_data,)
    if any(is_test_data(a) for a in arrays):
        raise ValueError(
            "validation_data is the test split. Choosing epochs or models on the test set makes the "
            "test score optimistic. Hold out part of the training data instead: "
            "(x_tr, y_tr), (x_val, y_val) = labkit.split_validation(x_train, y_train, 0.1)."
        )


def fit(model, x, y=None, *, epochs: int, batch_size: int = 128, validation_data=None,
        validation_split: float | None = None, patience: int | None = None, seed: int = 0,
        log_every: int = 1, callbacks=(), **fit_kwargs):
    """Train ``model`` with tidy logs; returns the keras History with ``epoch_seconds`` added.

    ``validation_split`` holds out a shuffled share of the training data (never the test set);
    ``patience`` turns on early stopping on ``val_loss`` and restores the best weights.
    """
    if not isinstance(epochs, (int, np.integer)) or epochs < 1:
        raise ValueError(f"epochs={epochs!r} must be a positive whole number.")
    if validation_split is not None and validation_data is not None:
        raise ValueError("Give validation_data or validation_split, not both.")
    if is_test_data(x):
        raise ValueError("fit() was given the test split as training data; train on x_train.")
    if validation_split is not None:
        (x, y), validation_data = split_validation(x, y, validation_split, seed)
        if validation_data[1] is None:
            validation_data = (validation_data[0],)
    _check_validation(validation_data)
    if patience is not None and validation_data is None:
        raise ValueError("Early stopping (patience=...) needs validation data: pass validation_split=0.1.")

    log = EpochLog(int(epochs), log_every)
    extra = [log, *callbacks]
    if patience is not None:
        extra.append(keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience,
                                                   restore_best_weights=True))
    history = model.fit(x, y, epochs=int(epochs), batch_size=batch_size, validation_data=validation_data,
                        verbose=0, callbacks=extra, **fit_kwargs)
    history.epoch_seconds = log.seconds
    history.train_seconds = float(sum(log.seconds))
    # the first epoch includes tracing and compilation; later ones show the steady cost
    steady = log.seconds[1:] or log.seconds
    history.seconds_per_epoch = float(np.mean(steady))
    return history
