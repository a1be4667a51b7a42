"""The source documents' models, trained with their own settings on the data each lab uses.

``labkit bench`` compares every lab with one of these baselines. Each baseline builds the
architecture and uses the epochs, batch size, optimiser and loss of a source document
(shared/seeds in the course's design), changing only what stops it from running or what the
course forbids (the test split used as validation data); the change is stated in its
description. Every baseline trains on the training split the lab trains on (90 %, the other
10 % held out for validation) and is scored on the lab's test split.

Time cap: the first two epochs of every model are timed and the source settings' full time
estimated from them (the first epoch also builds the graph; the second gives the steady cost). Over ``limit_seconds`` (15 minutes), the remaining epochs get only the lab's own wall
time, and the result carries both the capped figures and the estimated full time.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from labkit import data as datasets
from labkit import imu
from labkit.metrics import mse, rmse
from labkit.noise import add_gaussian_noise
from labkit.setup import import_tensorflow
from labkit.training import fit, split_validation

tf = import_tensorflow()
import keras  # noqa: E402
from keras import layers, ops  # noqa: E402

LIMIT_SECONDS = 900.0  # 15 minutes: above this the source's settings are capped
SEED = 0


@dataclass(frozen=True)
class Options:
    """How to run a baseline: the data source and the lab's wall time (for the cap)."""

    source: str = "real"
    lab_seconds: float | None = None   # the lab's own wall time; None: cap at limit_seconds
    limit_seconds: float = LIMIT_SECONDS
    n_train: int | None = None         # None: the lab's full-profile sizes (tests use a few hundred)
    n_test: int | None = None
    epochs: int | None = None          # None: the source's epochs
    windows_per_speed: int = 100       # lab 07's simulated windows per subject and speed


@dataclass
class Run:
    """One model of a baseline: compiled, with its data and the source's epochs and batch size."""

    name: str
    model: object
    x: np.ndarray
    y: np.ndarray | None
    validation: tuple
    epochs: int
    batch_size: int
    epochs_run: int = 0
    first_epochs: list = field(default_factory=list)   # seconds of the first two epochs
    history: dict = field(default_factory=dict)


# ---------------------------------------------------------------- the time cap
def plan_budget(first_epochs, epochs, lab_seconds, limit_seconds=LIMIT_SECONDS):
    """Estimate the full training time from the first epochs; return (estimate, seconds per run or None).

    ``first_epochs`` holds, per run, the seconds of its first epoch and of its second (the first
    also traces and compiles the graph, so the second is the steady cost of the rest).
    None means no cap: every run trains for all its epochs. Otherwise the lab's wall time
    (or ``limit_seconds`` when it is unknown), less the epochs already spent, is shared equally
    between the runs.
    """
    if len(first_epochs) != len(epochs) or not epochs:
        raise ValueError("plan_budget needs the first epochs' seconds of every run, and at least one run.")
    estimate = float(sum(times[0] + (n - 1) * times[-1] for times, n in zip(first_epochs, epochs)))
    if estimate <= limit_seconds:
        return estimate, None
    budget = lab_seconds if lab_seconds is not None else limit_seconds
    spent = float(sum(sum(times) for times in first_epochs))
    return estimate, max(0.0, budget - spent) / len(epochs)


class TimeBudget(keras.callbacks.Callback):
    """Stop training at the end of an epoch when another epoch would overrun ``seconds``."""

    def __init__(self, seconds: float, clock=time.perf_counter):
        super().__init__()
        self.seconds = float(seconds)
        self.clock = clock

    def on_train_begin(self, logs=None):
        self.start = self.clock()

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch_start = self.clock()

    def on_epoch_end(self, epoch, logs=None):
        now = self.clock()
        if (now - self.start) + (now - self.epoch_start) > self.seconds:
            self.model.stop_training = True


def train_runs(runs: list[Run], opts: Options) -> dict:
    """Train every run: two timed epochs, the estimate, then the rest (capped if need be)."""
    start_all = time.perf_counter()
    for run in runs:
        first = min(2, run.epochs)
        print(f"--- {run.name}: epochs 1-{first} of {run.epochs} (timed for the estimate)")
        hist = fit(run.model, run.x, run.y, epochs=first, batch_size=run.batch_size,
                   validation_data=run.validation, seed=SEED)
        run.first_epochs = [round(t, 2) for t in hist.epoch_seconds]
        run.epochs_run, run.history = first, dict(hist.history)
    estimate, share = plan_budget([r.first_epochs for r in runs], [r.epochs for r in runs],
                                  opts.lab_seconds, opts.limit_seconds)
    if share is not None:
        print(f"estimated full training {estimate:.0f} s > {opts.limit_seconds:.0f} s: "
              f"{share:.0f} s more per model")
    for run in runs:
        if run.epochs_run == run.epochs or (share is not None and share < run.first_epochs[-1]):
            continue
        print(f"--- {run.name}: epochs {run.epochs_run + 1} to {run.epochs}")
        callbacks = [TimeBudget(share)] if share is not None else []
        hist = fit(run.model, run.x, run.y, epochs=run.epochs, initial_epoch=run.epochs_run,
                   batch_size=run.batch_size, validation_data=run.validation, seed=SEED,
                   log_every=max(1, run.epochs // 5), callbacks=callbacks)
        run.epochs_run += len(hist.epoch)
        for key, values in hist.history.items():
            run.history[key] = run.history.get(key, []) + list(values)
    return {"train_seconds": round(time.perf_counter() - start_all, 1),
            "estimated_train_seconds": round(estimate, 1), "capped": share is not None,
            "budget_seconds_per_model": None if share is None else round(share, 1)}


# ---------------------------------------------------------------- data, the lab's way
def _split(x, y=None):
    """The lab's split: 90 % to train on, 10 % held out (seed 0); never the test set."""
    (x_tr, y_tr), (x_val, y_val) = split_validation(x, y, 0.1, seed=SEED)
    return x_tr, y_tr, ((x_val,) if y is None else (x_val, y_val))


def _split_autoencoder(x):
    """The same split for an autoencoder: the held-out images are both input and target."""
    x_tr, _, (x_val,) = _split(x)
    return x_tr, (x_val, x_val)


def _images(name: str, opts: Options):
    """Load like the labs do; 'fashion_or_mnist' is Fashion-MNIST when it can be had, else MNIST."""
    kwargs = {"n_train": opts.n_train, "n_test": opts.n_test, "seed": SEED}
    if name == "cifar10":
        return datasets.load_cifar10(source=opts.source, **kwargs)
    if name == "fashion_or_mnist" and opts.source != "embedded":
        try:
            return datasets.load_fashion_mnist(source="real", **kwargs)
        except datasets.DataSourceError:
            print("Fashion-MNIST cannot be had here; MNIST instead, as the lab does.")
    return datasets.load_mnist(source=opts.source, **kwargs)


def _epochs(source_epochs: int, opts: Options) -> int:
    return opts.epochs or source_epochs


def _result(description: str, figures: dict, runs: list[Run], timing: dict, data_label: str,
            standin: bool, **details) -> dict:
    return {"description": description, "figures": figures, "details": details,
            "epochs": {r.name: r.epochs_run for r in runs}, "source_epochs": {r.name: r.epochs for r in runs},
            "first_epochs_seconds": {r.name: r.first_epochs for r in runs},
            "data": data_label, "standin": standin, **timing}


def _lower(value) -> dict:
    return {"value": float(value), "better": "lower"}


def _higher(value) -> dict:
    return {"value": float(value), "better": "higher"}


def _predict(model, x, batch_size=1000):
    return model.predict(x, batch_size=batch_size, verbose=0)


# ---------------------------------------------------------------- 01: seed 001's CNN autoencoder
def cnn_autoencoder(opts: Options) -> dict:
    """Seed 001: conv + BatchNorm + max-pool encoder to a 7x7x8 code, upsampling decoder."""
    data = _images("mnist", opts)
    x, val = _split_autoencoder(data.x_train)
    keras.utils.set_random_seed(SEED)
    model = keras.Sequential([keras.Input(shape=(28, 28, 1))])
    for filters in (32, 16):
        model.add(layers.Conv2D(filters, 3, activation="relu", padding="same"))
        model.add(layers.BatchNormalization())
        model.add(layers.MaxPooling2D(2, padding="same"))
    model.add(layers.Conv2D(8, 3, activation="relu", padding="same"))  # the 7x7x8 code
    for filters in (16, 32):
        model.add(layers.Conv2D(filters, 3, activation="relu", padding="same"))
        model.add(layers.BatchNormalization())
        model.add(layers.UpSampling2D(2))
    model.add(layers.Conv2D(1, 3, activation="sigmoid", padding="same"))
    model.compile(optimizer="adam", loss="mse")
    runs = [Run("seed 001 CNN autoencoder", model, x, x, val, _epochs(5, opts), 256)]
    timing = train_runs(runs, opts)
    figures = {"test_mse": _lower(mse(data.x_test, _predict(model, data.x_test)))}
    return _result("seed 001: Conv(32)-BN-pool, Conv(16)-BN-pool, 7x7x8 code, mirrored with UpSampling; "
                   "Adam, MSE, 5 epochs, batch 256. Fix: validation on 10% of the training set "
                   "(the source validated on the test set).", figures, runs, timing, data.source.label,
                   data.source.standin, parameters=model.count_params())


# ---------------------------------------------------------------- 02: seed 001's stacked LSTM autoencoder
def lstm_autoencoder(opts: Options) -> dict:
    """Seed 001: MNIST rows as 28 steps, LSTM 128-64-32 encoder, 64-128 decoder, dense per step."""
    data = _images("mnist", opts)
    x, val = _split_autoencoder(data.x_train[..., 0])
    keras.utils.set_random_seed(SEED)
    model = keras.Sequential([
        keras.Input(shape=(28, 28)),
        layers.LSTM(128, return_sequences=True),
        layers.LSTM(64, return_sequences=True),
        layers.LSTM(32),                                   # the code
        layers.RepeatVector(28),
        layers.LSTM(64, return_sequences=True),
        layers.LSTM(128, return_sequences=True),
        layers.TimeDistributed(layers.Dense(28)),
    ])
    model.compile(optimizer="adam", loss="mse")
    runs = [Run("seed 001 LSTM autoencoder", model, x, x, val, _epochs(5, opts), 256)]
    timing = train_runs(runs, opts)
    x_test = data.x_test[..., 0]
    figures = {"rows_test_mse": _lower(mse(x_test, _predict(model, x_test)))}
    return _result("seed 001: LSTM 128-64-32 encoder, RepeatVector(28), LSTM 64-128 decoder, "
                   "TimeDistributed Dense(28); Adam, MSE, 5 epochs, batch 256. Fix: validation on 10% of "
                   "the training set (the source validated on the test set).", figures, runs, timing,
                   data.source.label, data.source.standin, parameters=model.count_params())


# ---------------------------------------------------------------- 03: seed 004's denoisers
def _seed004_denoiser(width: int):
    return keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(width, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(2),
        layers.Conv2D(width, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(2),
        layers.Conv2DTranspose(width, 3, strides=2, padding="same", activation="relu"),
        layers.Conv2DTranspose(1, 3, strides=2, padding="same", activation="sigmoid"),
    ], name=f"seed004_denoiser_{width}")


def denoising_autoencoder(opts: Options, sd: float = 0.3) -> dict:
    """Seed 004: two conv denoisers (32 and 64 filters), each trained at one noise level (sd 0.3)."""
    data = _images("fashion_or_mnist", opts)
    clean, (clean_val, _) = _split_autoencoder(data.x_train)
    noisy = add_gaussian_noise(clean, sd, seed=SEED + 2)
    noisy_val = add_gaussian_noise(clean_val, sd, seed=SEED + 3)
    noisy_test = add_gaussian_noise(data.x_test, sd, seed=SEED + 1)   # the lab's test noise
    runs = []
    for width in (32, 64):
        keras.utils.set_random_seed(SEED)
        model = _seed004_denoiser(width)
        model.compile(optimizer="adam", loss="mse")
        runs.append(Run(f"seed 004 denoiser, {width} filters", model, noisy, clean, (noisy_val, clean_val),
                        _epochs(65, opts), 32))
    timing = train_runs(runs, opts)
    level = round(sd * 10)
    figures = {f"test_mse_w{w}_sd{level}": _lower(mse(data.x_test, _predict(r.model, noisy_test)))
               for w, r in zip((32, 64), runs)}
    return _result(f"seed 004: Conv-pool-Conv-pool, two ConvTranspose (stride 2), relu, sigmoid output, "
                   f"32 and 64 filters; MSE, 65 epochs, one model per noise level (here sd {sd}). Not in the "
                   f"source, so assumed: Adam and Keras' default batch of 32.", figures, runs, timing,
                   data.source.label, data.source.standin,
                   parameters={w: r.model.count_params() for w, r in zip((32, 64), runs)})


# ---------------------------------------------------------------- 04: seed 004's dense autoencoders
def _seed004_dense(code: int, hidden: int | None):
    model = keras.Sequential([keras.Input(shape=(784,))])
    sizes = [hidden, code, hidden] if hidden else [code]
    for units in sizes:
        model.add(layers.Dense(units, activation="relu"))
    model.add(layers.Dense(784, activation="sigmoid"))
    return model


def stacked_autoencoder(opts: Options) -> dict:
    """Seed 004: dense autoencoders with 1 hidden layer (32, 64) and 3 (128-32-128, 128-64-128)."""
    data = _images("fashion_or_mnist", opts)
    flat = data.x_train.reshape(len(data.x_train), 784)
    x, val = _split_autoencoder(flat)
    x_test = data.x_test.reshape(len(data.x_test), 784)
    specs = {"1layer_32": (32, None), "1layer_64": (64, None), "3layers_32": (32, 128), "3layers_64": (64, 128)}
    runs = []
    for name, (code, hidden) in specs.items():
        keras.utils.set_random_seed(SEED)
        model = _seed004_dense(code, hidden)
        model.compile(optimizer="adam", loss="mse")
        runs.append(Run(f"seed 004 dense {name}", model, x, x, val, _epochs(50, opts), 32))
    timing = train_runs(runs, opts)
    figures = {f"test_mse_{name}": _lower(mse(x_test, _predict(r.model, x_test))) for name, r in zip(specs, runs)}
    return _result("seed 004: dense 784-32-784 and 784-64-784, and 784-128-{32,64}-128-784, relu, sigmoid "
                   "output; squared-error loss, 50 epochs. Not in the source, so assumed: Adam and Keras' "
                   "default batch of 32.", figures, runs, timing, data.source.label, data.source.standin)


# ---------------------------------------------------------------- 05: keras.io's VAE example
class _Vae(keras.Model):
    """keras.io's VAE: one sampled code per image, loss = summed BCE + KL (nats per image)."""

    def __init__(self, encoder, decoder, **kwargs):
        super().__init__(**kwargs)
        self.encoder, self.decoder = encoder, decoder
        self.noise = keras.random.SeedGenerator(SEED)
        self.loss_tracker = keras.metrics.Mean(name="loss")

    @property
    def metrics(self):
        return [self.loss_tracker]

    def negative_elbo(self, x):
        mean, log_var = self.encoder(x)
        z = mean + ops.exp(0.5 * log_var) * keras.random.normal(ops.shape(mean), seed=self.noise)
        reconstruction = ops.mean(ops.sum(keras.losses.binary_crossentropy(x, self.decoder(z)), axis=(1, 2)))
        kl = ops.mean(ops.sum(-0.5 * (1 + log_var - ops.square(mean) - ops.exp(log_var)), axis=1))
        return reconstruction + kl

    def train_step(self, data):
        x = data[0] if isinstance(data, tuple) else data
        with tf.GradientTape() as tape:
            loss = self.negative_elbo(x)
        grads = tape.gradient(loss, self.trainable_weights)
        self.optimizer.apply_gradients(zip(grads, self.trainable_weights))
        self.loss_tracker.update_state(loss)
        return {"loss": self.loss_tracker.result()}

    def test_step(self, data):
        x = data[0] if isinstance(data, tuple) else data
        self.loss_tracker.update_state(self.negative_elbo(x))
        return {"loss": self.loss_tracker.result()}


def test_negative_elbo(encoder, decoder, x, samples: int = 5, seed: int = SEED) -> float:
    """Mean over images of KL + summed BCE averaged over ``samples`` codes, in nats (float64)."""
    rng = np.random.default_rng(seed)
    mean, log_var = (np.asarray(a, np.float64) for a in encoder.predict(x, batch_size=2000, verbose=0))
    kl = -0.5 * np.sum(1 + log_var - mean**2 - np.exp(log_var), axis=1)
    flat = x.reshape(len(x), -1).astype(np.float64)
    reconstruction = np.zeros(len(x))
    for _ in range(samples):
        z = mean + np.exp(0.5 * log_var) * rng.standard_normal(mean.shape)
        p = np.clip(decoder.predict(z, batch_size=2000, verbose=0).reshape(len(x), -1), 1e-7, 1 - 1e-7)
        reconstruction -= np.sum(flat * np.log(p) + (1 - flat) * np.log(1 - p), axis=1)
    return float(np.mean(reconstruction / samples + kl))


def variational_autoencoder(opts: Options) -> dict:
    """keras.io's VAE example (the source document gives theory only): 2-D code, 30 epochs."""
    data = _images("mnist", opts)
    x, _, val = _split(data.x_train)
    keras.utils.set_random_seed(SEED)
    inputs = keras.Input(shape=(28, 28, 1))
    h = layers.Conv2D(32, 3, strides=2, padding="same", activation="relu")(inputs)
    h = layers.Conv2D(64, 3, strides=2, padding="same", activation="relu")(h)
    h = layers.Dense(16, activation="relu")(layers.Flatten()(h))
    encoder = keras.Model(inputs, [layers.Dense(2)(h), layers.Dense(2)(h)], name="encoder")
    decoder = keras.Sequential([
        keras.Input(shape=(2,)),
        layers.Dense(7 * 7 * 64, activation="relu"),
        layers.Reshape((7, 7, 64)),
        layers.Conv2DTranspose(64, 3, strides=2, padding="same", activation="relu"),
        layers.Conv2DTranspose(32, 3, strides=2, padding="same", activation="relu"),
        layers.Conv2DTranspose(1, 3, padding="same", activation="sigmoid"),
    ], name="decoder")
    vae = _Vae(encoder, decoder)
    vae.compile(optimizer=keras.optimizers.Adam())
    runs = [Run("keras.io VAE", vae, x, None, val, _epochs(30, opts), 128)]
    timing = train_runs(runs, opts)
    figures = {"test_neg_elbo": _lower(test_negative_elbo(encoder, decoder, data.x_test))}
    return _result("keras.io VAE example (cited by the course design; the source document gives theory only): "
                   "Conv 32-64 (stride 2), Dense(16), 2-D code, Dense + ConvTranspose 64-32 decoder; summed "
                   "BCE + KL, Adam, 30 epochs, batch 128. Fix: trained on the training split only (the example "
                   "trains on train + test); test negative ELBO with 5 sampled codes per image, as the lab.",
                   figures, runs, timing, data.source.label, data.source.standin,
                   parameters=encoder.count_params() + decoder.count_params())


# ---------------------------------------------------------------- 06: seed 003's CIFAR-10 CNNs
def _seed003_cnn(depth: int, pooling: str):
    """L blocks of 3x3 conv (32, then 64 filters) + 2x2 pooling, Flatten, Dense 64-64-10 (logits)."""
    padding = "valid" if depth <= 3 else "same"   # valid padding leaves no map to pool at L >= 4
    pool = layers.MaxPooling2D if pooling == "max" else layers.AveragePooling2D
    model = keras.Sequential([keras.Input(shape=(32, 32, 3))], name=f"seed003_L{depth}_{pooling}")
    for block in range(depth):
        model.add(layers.Conv2D(32 if block == 0 else 64, 3, padding=padding, activation="relu"))
        model.add(pool(2))
    model.add(layers.Flatten())
    model.add(layers.Dense(64, activation="relu"))
    model.add(layers.Dense(64, activation="relu"))
    model.add(layers.Dense(10))
    return model


def cifar10_pooling(opts: Options, depths=(2, 3, 4, 5)) -> dict:
    """Seed 003: CNNs with L = 2..5 blocks, max and average pooling; the best on validation is scored."""
    data = _images("cifar10", opts)
    x, y, val = _split(data.x_train, data.y_train)
    runs = []
    for depth in depths:
        for pooling in ("max", "avg"):
            keras.utils.set_random_seed(SEED)
            model = _seed003_cnn(depth, pooling)
            model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                          metrics=["accuracy"])
            runs.append(Run(f"seed 003 L={depth} {pooling}", model, x, y, val, _epochs(10, opts), 32))
    timing = train_runs(runs, opts)
    best = max(runs, key=lambda r: r.history["val_accuracy"][-1])
    accuracy = {r.name: float(r.model.evaluate(data.x_test, data.y_test, batch_size=500, verbose=0)[1])
                for r in runs}
    return _result("seed 003: L conv blocks (32 then 64 filters, 3x3, relu) with 2x2 max or average pooling, "
                   "Flatten, Dense 64-64-10; Adam, cross-entropy on logits, 10 epochs, Keras' default batch "
                   "of 32, for L = 2, 3, 4, 5. Fix: 'same' padding at L = 4 and 5, which cannot be built with "
                   "the source's 'valid' padding. Scored: the model with the best validation accuracy.",
                   {"test_accuracy": _higher(accuracy[best.name])}, runs, timing, data.source.label,
                   data.source.standin, chosen=best.name, test_accuracy_per_model=accuracy)


# ---------------------------------------------------------------- 07: seed 004's 3 x LSTM(200)
def imu_lstm_regression(opts: Options) -> dict:
    """Seed 004: 3 x LSTM(200) on 600 raw steps, trained on subjects 1 + 2, tested on subject 4."""
    sim = imu.simulate_subjects([1, 2, 4], windows_per_speed=opts.windows_per_speed, seed=SEED)
    train = np.isin(sim.subject, [1, 2])
    x_all, y_all = sim.X[train], sim.speed_mps[train]
    (fit_idx, _), (watch_idx, _) = split_validation(np.arange(len(x_all)), None, 0.15, seed=SEED)  # as the lab
    mean, std = x_all[fit_idx].mean(axis=(0, 1)), x_all[fit_idx].std(axis=(0, 1))

    def scale(x):
        return ((x - mean) / std).astype(np.float32)

    test = sim.subject == 4
    keras.utils.set_random_seed(SEED)
    model = keras.Sequential([
        keras.Input(shape=(imu.WINDOW, 6)),
        layers.LSTM(200, return_sequences=True),
        layers.LSTM(200, return_sequences=True),
        layers.LSTM(200),
        layers.Dense(1),
    ])
    model.compile(optimizer="adam", loss="mse")
    runs = [Run("seed 004 3 x LSTM(200)", model, scale(x_all[fit_idx]), y_all[fit_idx],
                (scale(x_all[watch_idx]), y_all[watch_idx]), _epochs(3, opts), 148)]
    timing = train_runs(runs, opts)
    pred = _predict(model, scale(sim.X[test]), batch_size=500).ravel()
    return _result("seed 004: LSTM(200) x 3 on the 600 raw steps, Dense(1); MSE, 3 epochs, batch 148, trained "
                   "on subjects 1 + 2 and tested on subject 4 (the second stage; the source's first stage, "
                   "subject 1 against 2, is not run). Not in the source, so assumed: Adam, and inputs "
                   "standardised per channel with the training windows' statistics (as the lab does).",
                   {"rmse_mps": _lower(rmse(sim.speed_mps[test], pred))}, runs, timing,
                   "IMU simulated by labkit.imu", False, parameters=model.count_params())


BASELINES = {
    "01_cnn_autoencoder": cnn_autoencoder,
    "02_lstm_autoencoder": lstm_autoencoder,
    "03_denoising_autoencoder": denoising_autoencoder,
    "04_stacked_autoencoder": stacked_autoencoder,
    "05_variational_autoencoder": variational_autoencoder,
    "06_cifar10_pooling": cifar10_pooling,
    "07_imu_lstm_regression": imu_lstm_regression,
}


def run_baseline(lab: str, opts: Options) -> dict:
    """Run one lab's baseline and time the whole call (data, training, scoring)."""
    if lab not in BASELINES:
        raise ValueError(f"No baseline for {lab!r}; baselines exist for {', '.join(BASELINES)}.")
    start = time.perf_counter()
    result = BASELINES[lab](opts)
    seconds = time.perf_counter() - start
    result["seconds"] = round(seconds, 1)
    # capped: the source's full time is what was not training plus the estimated full training
    full = seconds - result["train_seconds"] + result["estimated_train_seconds"]
    result["estimated_full_seconds"] = round(full, 1) if result["capped"] else None
    return result
