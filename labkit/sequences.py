"""Sequence data for the LSTM autoencoder lab (lab 02): noisy sine waves and anomalies.

- ``sine_waves`` draws sine waves with a random amplitude, frequency and phase
  and adds Gaussian noise; it returns the noisy sequences *and* the clean ones,
  so a lab can ask how close a reconstruction comes to the signal under the noise.
- ``inject_anomalies`` corrupts copies of sequences with one anomaly each (a
  spike, a level shift, a stuck sensor or a burst of noise), the kind of fault a
  reconstruction-error detector should flag.
- ``threshold_from_normal``, ``detection_rates`` and ``detection_by_kind`` turn
  reconstruction errors into an alarm threshold (chosen on normal *training*
  data only) and report how often it fires on anomalous and on normal data.

Everything is seeded through its own generator: the same arguments give the same
arrays, and NumPy's global random state is left alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ANOMALY_KINDS = ("spike", "level_shift", "flatline", "noise_burst")


@dataclass(frozen=True)
class SineWaves:
    """Noisy and clean sine waves of shape (n, length, 1), with each wave's parameters."""

    noisy: np.ndarray
    clean: np.ndarray
    amplitude: np.ndarray
    cycles: np.ndarray
    phase: np.ndarray
    noise_sd: float

    def __len__(self) -> int:
        return len(self.noisy)


def sine_waves(n: int, length: int = 50, noise_sd: float = 0.1, amplitude=(0.5, 1.0),
               cycles=(1.0, 3.0), seed: int = 0) -> SineWaves:
    """``n`` sequences ``a * sin(2 pi c t / length + phase) + noise`` for t = 0 .. length-1.

    The amplitude ``a`` and the number of cycles per sequence ``c`` are drawn
    uniformly from the given (low, high) ranges and the phase uniformly from
    [0, 2 pi); the noise is Gaussian with standard deviation ``noise_sd``. With the
    defaults the values lie in about [-1.1, 1.1]: signed data, which a sigmoid or
    relu output layer cannot produce.
    """
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n={n!r} must be a positive whole number.")
    if not isinstance(length, (int, np.integer)) or length < 2:
        raise ValueError(f"length={length!r} must be a whole number >= 2.")
    if not np.isfinite(noise_sd) or noise_sd < 0:
        raise ValueError(f"noise_sd={noise_sd!r} must be >= 0.")
    for name, (low, high) in (("amplitude", amplitude), ("cycles", cycles)):
        if not 0 <= low <= high:
            raise ValueError(f"{name}=({low!r}, {high!r}) must be a range 0 <= low <= high.")
    rng = np.random.default_rng(seed)
    a = rng.uniform(*amplitude, size=n)
    c = rng.uniform(*cycles, size=n)
    phase = rng.uniform(0, 2 * np.pi, size=n)
    t = np.arange(length)
    clean = a[:, None] * np.sin(2 * np.pi * c[:, None] * t[None, :] / length + phase[:, None])
    noisy = clean + noise_sd * rng.standard_normal(clean.shape)
    return SineWaves(noisy=noisy[..., None].astype(np.float32), clean=clean[..., None].astype(np.float32),
                     amplitude=a.astype(np.float32), cycles=c.astype(np.float32),
                     phase=phase.astype(np.float32), noise_sd=float(noise_sd))


def _segment(rng, length: int) -> slice:
    """A random stretch covering 20-33 % of the sequence."""
    width = int(rng.integers(max(1, length // 5), max(2, length // 3) + 1))
    start = int(rng.integers(0, length - width + 1))
    return slice(start, start + width)


def inject_anomalies(x, kinds=ANOMALY_KINDS, seed: int = 0, strength: float = 1.0):
    """Copy ``x`` (n, length[, 1]) and give every sequence one anomaly.

    Kinds (spread evenly over the sequences, in random order):

    - ``spike``: one to three single-step jumps of 0.6-1.0 (either sign);
    - ``level_shift``: a stretch of 20-33 % of the steps offset by 0.4-0.7;
    - ``flatline``: a stretch held at its first value, as from a stuck sensor;
    - ``noise_burst``: a stretch with extra Gaussian noise of standard deviation 0.3.

    ``strength`` scales every magnitude (1.0: the values above). Returns
    ``(anomalous, kind)`` where ``kind`` is an array of kind names, one per sequence.
    """
    x = np.asarray(x, dtype=np.float32)
    if x.ndim not in (2, 3) or len(x) == 0:
        raise ValueError(f"x must have shape (n, length) or (n, length, 1) with n >= 1, got {x.shape}.")
    unknown = sorted(set(kinds) - set(ANOMALY_KINDS))
    if unknown or not kinds:
        raise ValueError(f"Unknown anomaly kinds {unknown}; choose from {ANOMALY_KINDS}.")
    if not strength > 0:
        raise ValueError(f"strength={strength!r} must be positive.")
    rng = np.random.default_rng(seed)
    n, length = x.shape[:2]
    kind = rng.permutation(np.array(list(kinds))[np.arange(n) % len(kinds)])
    out = x.copy()
    seqs = out.reshape(n, length, -1)  # a view: edits land in ``out``
    for i, k in enumerate(kind):
        if k == "spike":
            steps = rng.choice(length, size=int(rng.integers(1, 4)), replace=False)
            seqs[i, steps] += strength * rng.uniform(0.6, 1.0, size=(len(steps), 1)) * rng.choice([-1, 1], size=(len(steps), 1))
        elif k == "level_shift":
            seg = _segment(rng, length)
            seqs[i, seg] += strength * rng.uniform(0.4, 0.7) * rng.choice([-1, 1])
        elif k == "flatline":
            seg = _segment(rng, length)
            seqs[i, seg] = seqs[i, seg.start]
        else:  # noise_burst
            seg = _segment(rng, length)
            seqs[i, seg] += strength * 0.3 * rng.standard_normal(seqs[i, seg].shape)
    return out, kind


def threshold_from_normal(errors, quantile: float = 0.99) -> float:
    """The alarm threshold: the ``quantile`` of reconstruction errors on *normal training* data.

    About ``1 - quantile`` of normal sequences will then raise a false alarm. Pass
    errors on training data, never on the test data the detector is judged on.
    """
    errors = np.asarray(errors, dtype=np.float64).ravel()
    if errors.size == 0 or not np.all(np.isfinite(errors)):
        raise ValueError("threshold_from_normal needs a non-empty array of finite errors.")
    if not 0 < quantile < 1:
        raise ValueError(f"quantile={quantile!r} must lie strictly between 0 and 1, e.g. 0.99.")
    return float(np.quantile(errors, quantile))


def detection_rates(errors_anomalous, errors_normal, threshold: float) -> dict:
    """Share of anomalous sequences flagged (detection rate) and of normal ones (false alarms).

    A sequence is flagged when its error is above ``threshold``.
    """
    anomalous = np.asarray(errors_anomalous, dtype=np.float64).ravel()
    normal = np.asarray(errors_normal, dtype=np.float64).ravel()
    if anomalous.size == 0 or normal.size == 0:
        raise ValueError("detection_rates needs errors of at least one anomalous and one normal sequence.")
    return {
        "detection_rate": float(np.mean(anomalous > threshold)),
        "false_alarm_rate": float(np.mean(normal > threshold)),
        "n_anomalous": int(anomalous.size),
        "n_normal": int(normal.size),
        "threshold": float(threshold),
    }


def detection_by_kind(errors_anomalous, kinds, threshold: float) -> dict:
    """Detection rate per anomaly kind, e.g. {"spike": 0.98, "flatline": 0.41, ...}."""
    errors = np.asarray(errors_anomalous, dtype=np.float64).ravel()
    kinds = np.asarray(kinds).ravel()
    if errors.shape != kinds.shape:
        raise ValueError(f"{errors.size} errors but {kinds.size} kinds; give one kind per sequence.")
    present = set(kinds.tolist())
    order = [k for k in ANOMALY_KINDS if k in present] + sorted(present - set(ANOMALY_KINDS))
    return {str(k): float(np.mean(errors[kinds == k] > threshold)) for k in order}
