"""Gait analysis of foot-mounted IMU windows: events from the gyroscope, hand features, zero-velocity integration.

These are the tools a gait analyst applies before any learning, and lab 07's baselines use them:

- **Gait events from the pitch rate** (Sabatini et al. 2005, IEEE Trans Biomed Eng; Mariani et al.
  2010, J Biomech). Each stride has one large swing peak of ``gyr_y`` (negative in this course's
  axes). After it, the foot meets the belt and the pitch rate turns positive as the foot slaps down:
  heel strike is the largest pitch rate in the 40 % of the stride that follows a swing peak. Before
  the next swing peak the foot pushes off and plantarflexes fastest as it leaves the belt: toe-off is
  the largest pitch rate in the 40 % of the stride before a swing peak.
- **Hand features** of a window: cadence, the swing pitch-rate peak, the RMS of the acceleration
  magnitude about 1 g, and the stance fraction from the events above.
- **Zero-velocity integration** (Foxlin 2005, IEEE Comput Graph Appl; Skog et al. 2010, IEEE Trans
  Biomed Eng): once per stride the foot lies flat on the belt, so its velocity relative to the belt
  is zero. Integrating the gyroscope gives the sensor's orientation, turning the accelerometer into
  world axes gives the foot's acceleration (after removing gravity), and integrating that between two
  still instants, with the velocity forced back to zero at each, gives the stride vector. On a
  treadmill the still foot rides the belt, so the stride length is the belt's travel in one stride
  and stride length / stride time is the belt speed, with no training at all.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import find_peaks

from labkit import imu

FEATURES = ("cadence", "swing_peak_dps", "acc_rms_mps2", "stance_fraction")


def _rates(x) -> tuple[np.ndarray, bool]:
    """A batch (N, T, 6) from a window (T, 6) or batch; and whether the input was a single window."""
    x = np.asarray(x)
    if x.ndim == 2:
        return x[None], True
    if x.ndim != 3 or x.shape[-1] != len(imu.CHANNELS):
        raise ValueError(f"expected a window (T, 6) or a batch (N, T, 6), got shape {x.shape}")
    return x, False


def gait_events(pitch_rate, sample_rate_hz: float = imu.SAMPLE_RATE_HZ, stride_s: float | None = None):
    """Swing peaks, heel strikes and toe-offs (sample indices) from the pitch rate of one recording.

    Returns ``(peaks, heel_strike, toe_off)``: for each pair of consecutive swing peaks ``peaks[k]``
    and ``peaks[k + 1]``, the heel strike after the first (``heel_strike[k]``) and the toe-off before
    the second (``toe_off[k]``), so ``toe_off[k] - heel_strike[k]`` is one stance.
    """
    g = np.asarray(pitch_rate, np.float64)
    if stride_s is None:
        stride_s = 120.0 / imu.cadence_from_gyro(g, sample_rate_hz)
    neg = -g
    height = 0.4 * np.percentile(neg, 99)
    peaks, _ = find_peaks(neg, distance=max(1, int(0.6 * stride_s * sample_rate_hz)), height=height)
    hs, to = [], []
    for p0, p1 in zip(peaks[:-1], peaks[1:]):
        span = int(0.4 * (p1 - p0))
        hs.append(p0 + int(np.argmax(g[p0:p0 + span + 1])))
        to.append(p1 - span + int(np.argmax(g[p1 - span:p1 + 1])))
    return peaks, np.array(hs, int), np.array(to, int)


def stance_fraction_from_gyro(pitch_rate, sample_rate_hz: float = imu.SAMPLE_RATE_HZ) -> float:
    """Median stance fraction (toe-off minus heel strike, over the stride) by the gyroscope rule."""
    peaks, hs, to = gait_events(pitch_rate, sample_rate_hz)
    if len(hs) == 0:
        return float("nan")
    return float(np.median((to - hs) / np.diff(peaks)))


def hand_features(X, sample_rate_hz: float = imu.SAMPLE_RATE_HZ) -> np.ndarray:
    """The four hand features of each window, (N, 4) in the order of :data:`FEATURES`."""
    X, _ = _rates(X)
    cadence = np.atleast_1d(imu.cadence_from_gyro(X, sample_rate_hz))
    out = np.empty((len(X), len(FEATURES)))
    for i, w in enumerate(X.astype(np.float64)):
        g = w[:, imu.PITCH_RATE_CHANNEL]
        peaks, hs, to = gait_events(g, sample_rate_hz, 120.0 / cadence[i])
        swing = np.median(-g[peaks]) if len(peaks) else np.nan
        stance = np.median((to - hs) / np.diff(peaks)) if len(hs) else np.nan
        acc_rms = np.sqrt(np.mean((np.linalg.norm(w[:, :3], axis=1) - imu.GRAVITY) ** 2))
        out[i] = cadence[i], swing, acc_rms, stance
    return out


def _rotation_increments(gyr_rad, dt):
    """Rotation matrices (N, T, 3, 3) that turn the sensor frame of sample k into that of k + 1."""
    phi = gyr_rad * dt
    angle = np.linalg.norm(phi, axis=-1, keepdims=True)
    axis = phi / np.where(angle > 0, angle, 1.0)
    x, y, z = axis[..., 0], axis[..., 1], axis[..., 2]
    zero = np.zeros_like(x)
    k = np.stack([np.stack([zero, -z, y], -1), np.stack([z, zero, -x], -1), np.stack([-y, x, zero], -1)], -2)
    a = angle[..., None]
    return np.eye(3) + np.sin(a) * k + (1 - np.cos(a)) * (k @ k)  # Rodrigues


def _zupt(X, sample_rate_hz):
    """Zero-velocity integration of each window: (belt speed, median peak horizontal swing speed), m/s."""
    X, _ = _rates(X)
    X = X.astype(np.float64)
    dt = 1.0 / sample_rate_hz
    n, T, _ = X.shape
    inc = _rotation_increments(np.deg2rad(X[:, :, 3:]), dt)
    R = np.empty((n, T, 3, 3))
    R[:, 0] = np.eye(3)
    for k in range(1, T):
        R[:, k] = R[:, k - 1] @ inc[:, k - 1]
    f_world = np.einsum("ntij,ntj->nti", R, X[:, :, :3])  # specific force in the axes of sample 0
    speeds, peaks = np.full(n, np.nan), np.full(n, np.nan)
    gyr_norm = np.linalg.norm(X[:, :, 3:], axis=-1)
    for i in range(n):
        _, hs, to = gait_events(X[i, :, imu.PITCH_RATE_CHANNEL], sample_rate_hz)
        still = np.array([h + int(np.argmin(gyr_norm[i, h:e + 1])) for h, e in zip(hs, to) if e > h], int)
        if len(still) < 2:
            continue
        up = f_world[i, still].mean(0)
        up /= np.linalg.norm(up)
        v = np.cumsum(f_world[i] - imu.GRAVITY * up, axis=0) * dt
        travel, top = 0.0, []
        for s0, s1 in zip(still[:-1], still[1:]):
            frac = (np.arange(s0, s1 + 1) - s0)[:, None] / (s1 - s0)
            seg = v[s0:s1 + 1] - v[s0] - frac * (v[s1] - v[s0])  # zero at both still instants
            horizontal = seg - (seg @ up)[:, None] * up
            d = horizontal[1:].sum(0) * dt
            travel += np.linalg.norm(d)
            top.append(np.linalg.norm(horizontal, axis=1).max())
        speeds[i] = travel / ((still[-1] - still[0]) * dt)
        peaks[i] = np.median(top)
    return speeds, peaks


def zupt_speed(X, sample_rate_hz: float = imu.SAMPLE_RATE_HZ) -> np.ndarray:
    """Belt speed (m/s) of each window by zero-velocity integration of the foot; no training.

    The still instant of each stride is the sample of smallest rotation rate between a heel strike
    and the next toe-off. Orientation is integrated from the gyroscope, up is the mean specific force
    at the still instants, and the velocity is reset to zero at each of them (the drift between two
    resets is removed linearly). Speed = horizontal travel between the first and last still instant /
    the time between them.
    """
    return _zupt(X, sample_rate_hz)[0]


def zupt_peak_swing_speed(X, sample_rate_hz: float = imu.SAMPLE_RATE_HZ) -> np.ndarray:
    """Median peak horizontal foot speed in swing (m/s, relative to the belt) of each window."""
    return _zupt(X, sample_rate_hz)[1]
