"""Shoe-mounted IMU on a treadmill: a physiological simulator and a loader for real recordings.

Lab 07 regresses treadmill speed from 6-second windows of a foot-mounted IMU
(3-axis accelerometer in m/s^2, 3-axis gyroscope in deg/s, 100 Hz). The original
recordings (subjects 1, 2 and 4 at 12 treadmill speeds) are not public, so this
module simulates them from a model of the moving foot, and loads real
recordings saved in the same format (:func:`save_recordings`, :func:`load_recordings`).

Axes and frames
---------------
Foot and sensor frame: x forward (towards the toes), y to the left, z up (out of
the sole). The lab frame has the same axes with the foot flat on the belt. The
pitch angle ``theta`` is the rotation about y; by the right-hand rule a positive
pitch lowers the toes (plantarflexion) and ``gyr_y`` is the pitch rate, the
channel with the large swing peak. Roll is about x, yaw about z.

How a recording is made
-----------------------
1. Gait timing from physiology (below): cadence and stance fraction for the
   subject and speed; stride times vary from stride to stride (AR(1) series with
   a coefficient of variation of 1-3 %).
2. Foot pose per stride from the person's key frames joined by quintic pieces
   that match angle and rate at each key frame (smooth, after Flash & Hogan 1985,
   J Neurosci): contact with the toes up (or down for forefoot strikers) while
   the foot is still turning towards the belt, foot flat, heel-off, toe-off at
   the fastest plantarflexion, peak plantarflexion, the fastest dorsiflexing
   swing, and on into the next contact without stopping. The foot is still only
   while it lies flat on the belt. Small roll (pronation) and yaw movements ride
   along. Timing within stance and swing, the angles and their change with speed
   are the person's own, and angles, stance fraction, clearance and the swing
   path change a little from stride to stride.
3. Foot position from that pose. The trajectory is built in the belt frame,
   where the stance foot is still: the foot rolls about its heel (toes up) or
   its toe tip (toes down). In swing the sensor moves forward by about one stride
   length (speed x stride time) on a quintic path that matches position, velocity
   and acceleration at toe-off and at the next contact; a plateau term keeps its
   forward speed up through mid-swing (peak about 3 x the belt speed, as
   measured on feet), and a bump gives the person's foot clearance; the heel
   follows from the pose (rigid foot). Moving to the lab frame subtracts
   ``speed * t``: the stance foot then travels backwards at belt speed, the swing
   foot forwards, and the foot's mean velocity over a stride is zero.
   Accelerations are the same in both frames (the belt speed is constant).
4. The sensor sits at the person's lever arm from the heel (on the laces) with
   the person's mounting angles. Its acceleration is the heel's plus that of the
   rotating lever arm (the pose is differentiated twice, analytically); the
   gyroscope reads the body-frame angular velocity, from the derivative of the pose.
5. The accelerometer measures specific force, acceleration minus gravity, so a
   resting sensor reads about +9.81 m/s^2 on its z (up) axis. A heel-strike
   transient is added: the second derivative of a damped displacement of sole
   and tissue that starts and ends at rest, so it carries no net impulse and
   leaves the trajectory unchanged (larger when running and for rearfoot
   strikers). Then per-axis gain error, bias, white noise, 16-bit quantisation
   and clipping at the sensor range (+-16 g, +-2000 deg/s).

Population (each person is one draw; approximate values, sources for the ranges)
--------------------------------------------------------------------------------
- Walking cadence from the walk ratio, step length / cadence 0.0064 +- 0.00055 m
  per step/min between people and stable within a person (Sekiya & Nagasaki 1998,
  Gait & Posture); with speed = step length x cadence / 60 this gives
  cadence = sqrt(60 v / WR), a spread of about 5 % between people.
- Walk-run transition 2.0 +- 0.12 m/s (Thorstensson & Roberthson 1987, Acta
  Physiol Scand; Hreljac 1993, Med Sci Sports Exerc), where cadence jumps by
  13 +- 2.5 %.
- Running cadence 165 +- 8 steps/min at 3 m/s (van Oeveren et al. 2017, PLoS ONE
  12:e0184273), rising by about 9 steps/min per m/s (Cavanagh & Kram 1989, Med Sci
  Sports Exerc; Heiderscheit et al. 2011, Med Sci Sports Exerc).
- Stride-time variability of healthy adults, CV about 1-3 %, with persistent
  stride-to-stride correlations (Hausdorff et al. 1995, J Appl Physiol).
- Stance (duty factor) about 0.62 in slow walking falling to ~0.58 in fast
  walking, ~0.40 to ~0.33 in running, +- 0.01 between people (e.g. Nilsson &
  Thorstensson 1989, Acta Physiol Scand). Detected from the gyroscope (heel strike
  at the pitch-rate peak after the swing, toe-off at the one before it), walking
  stance is about 60 % (Mariani et al. 2010, J Biomech).
- Foot-mounted gyroscope signals and the gait events seen in them (Sabatini et
  al. 2005, IEEE Trans Biomed Eng; Mariani et al. 2010, J Biomech): swing
  pitch-rate peaks of about 450-600 deg/s walking at 4-5 km/h, higher when
  running; heel strike about 20 deg toes up in walking, peak plantarflexion
  after toe-off about 60-70 deg, both growing with speed at a person's own rate.
- Foot-strike angle: positive (toes up) for rearfoot, near zero for midfoot,
  negative for forefoot strikers (Altman & Davis 2012, Gait & Posture); most
  shod recreational runners land on the rearfoot (Larson et al. 2011, J Sports Sci).
- Foot clearance in swing a few cm walking (Winter 1992, Phys Ther), more running.
- Height 1.72 +- 0.09 m and foot length about 15 % of height; the sensor on the
  laces 35-60 % of the foot length ahead of the heel, mounted within +-8 deg.

The simulator is a teaching model: the numbers are typical, not measured on the
original subjects.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

SAMPLE_RATE_HZ = 100
WINDOW = 600
CHANNELS = ("acc_x", "acc_y", "acc_z", "gyr_x", "gyr_y", "gyr_z")
UNITS = ("m/s^2",) * 3 + ("deg/s",) * 3
SPEEDS_KMH = tuple(round(4.0 + 0.5 * i, 1) for i in range(12))  # 4.0 ... 9.5 km/h
SUBJECTS = (1, 2, 4)
GRAVITY = 9.81
# Subject parameters come from default_rng([SEED_BASE, subject_id]). The base is a plain fixed number,
# not chosen by looking at the people it gives: subjects 1, 2 and 4 are ordinary draws from the
# population, as are all other ids.
SEED_BASE = 2024
PITCH_RATE_CHANNEL = CHANNELS.index("gyr_y")
SPEED_RANGE_MPS = (0.3, 7.0)  # what load_recordings accepts as plausible

_TAG_RECORDING = 1  # keeps recording seeds apart from parameter seeds


class ImuFormatError(ValueError):
    """A recordings file is not in the format lab 07 expects."""


# --------------------------------------------------------------------------- subjects


@dataclass(frozen=True)
class SubjectParams:
    """Everything that makes one simulated person (and the sensor on their shoe) unique."""

    subject_id: int
    height_m: float
    foot_length_m: float
    walk_ratio: float  # step length / cadence, m per (step/min)
    transition_speed_mps: float  # walk-run transition
    run_cadence_at_transition: float  # steps/min, first running speed
    run_cadence_slope: float  # steps/min per m/s above the transition
    stance_offset: float  # added to the population stance fraction
    stride_time_cv: float  # coefficient of variation of stride time
    heel_strike_walk_deg: float  # toes-up foot angle at heel strike, walking at 1.2 m/s
    toe_off_walk_deg: float  # peak plantarflexion after toe-off, walking at 1.2 m/s
    toe_off_run_deg: float  # the same when running at the transition speed
    strike_angle_run_deg: float  # >~8 rearfoot, ~0 midfoot, <~-2 forefoot (toes up positive)
    roll_scale: float  # pronation / supination amplitude
    yaw_scale: float  # toe-out amplitude at push-off
    lever_arm_m: tuple[float, float, float]  # heel -> sensor, foot frame
    mount_rpy_deg: tuple[float, float, float]  # sensor mounting roll, pitch, yaw
    impact_gain: float
    impact_freq_hz: float
    impact_decay_s: float
    acc_bias_mps2: tuple[float, float, float]
    gyr_bias_dps: tuple[float, float, float]
    acc_gain_error: tuple[float, float, float]
    gyr_gain_error: tuple[float, float, float]
    acc_noise_mps2: float
    gyr_noise_dps: float
    # The person's gait template: timing within stance and swing, angle slopes, swing path.
    strike_slope_walk: float = 6.0  # deg of extra toes-up at heel strike per m/s of walking speed
    toe_off_slope_walk: float = 12.0  # deg of extra plantarflexion per m/s, walking
    toe_off_slope_run: float = 10.0  # deg of extra plantarflexion per m/s above the transition
    foot_flat_walk: float = 0.17  # foot flat, as a fraction of stance (walking)
    heel_off_walk: float = 0.52  # heel-off, fraction of stance (walking)
    foot_flat_run: float = 0.18
    heel_off_run: float = 0.42
    max_pf_walk: float = 0.13  # peak plantarflexion, fraction of swing after toe-off
    max_pf_run: float = 0.20
    mid_swing_walk: float = 0.45  # peak dorsiflexing swing rate, fraction of swing
    mid_swing_run: float = 0.50
    swing_peakiness: float = 2.45  # peak swing pitch rate / mean swing pitch rate
    strike_rate: float = 1.6  # pitch rate at foot contact / mean rate from contact to foot flat
    swing_plateau: float = 16.0  # flattens the forward speed profile of the swing foot (0: minimum jerk)
    clearance_walk_m: float = 0.04
    clearance_run_m: float = 0.12
    stride_jitter: float = 1.0  # scale of stride-to-stride changes of angles, timing and path
    acc_range_mps2: float = 16 * GRAVITY
    gyr_range_dps: float = 2000.0

    @property
    def strike_style(self) -> str:
        """Running foot-strike style from the strike angle: rearfoot, midfoot or forefoot."""
        if self.strike_angle_run_deg > 8.0:
            return "rearfoot"
        return "midfoot" if self.strike_angle_run_deg > -2.0 else "forefoot"


def subject_params(subject_id: int) -> SubjectParams:
    """The parameters of one simulated subject, identical on every machine for the same id.

    Every person is one draw from the population distributions in the module docstring: the
    generator is seeded with (SEED_BASE, subject_id), and no id is preferred or skipped.
    """
    sid = int(subject_id)
    rng = np.random.default_rng([SEED_BASE, sid])

    def normal(mean, sd, low, high, size=None):
        return np.clip(rng.normal(mean, sd, size), low, high)

    def triple(values):
        return tuple(float(v) for v in values)

    height = float(normal(1.72, 0.09, 1.50, 1.98))
    walk_ratio = float(normal(0.0064, 0.00055, 0.0050, 0.0080))
    transition = float(normal(2.0, 0.12, 1.75, 2.3))
    jump = float(normal(0.13, 0.025, 0.08, 0.20))  # cadence rises by this fraction at the transition
    style = rng.choice(3, p=[0.7, 0.2, 0.1])  # rearfoot, midfoot, forefoot
    strike = [normal(14.0, 4.0, 9.0, 22.0), normal(3.0, 2.0, -1.0, 7.0), normal(-6.0, 2.5, -12.0, -3.0)][style]
    foot = float(0.152 * height * rng.uniform(0.96, 1.04))
    return SubjectParams(
        subject_id=sid,
        height_m=height,
        foot_length_m=foot,
        walk_ratio=walk_ratio,
        transition_speed_mps=transition,
        run_cadence_at_transition=float(np.sqrt(60.0 * transition / walk_ratio) * (1.0 + jump)),
        run_cadence_slope=float(normal(9.0, 2.5, 4.0, 16.0)),
        stance_offset=float(normal(0.0, 0.01, -0.019, 0.019)),
        stride_time_cv=float(rng.uniform(0.012, 0.028)),
        heel_strike_walk_deg=float(normal(20.0, 4.0, 10.0, 30.0)),
        toe_off_walk_deg=float(normal(62.0, 6.0, 48.0, 76.0)),
        toe_off_run_deg=float(normal(72.0, 7.0, 56.0, 88.0)),
        strike_angle_run_deg=float(strike),
        roll_scale=float(rng.uniform(0.5, 1.6)),
        yaw_scale=float(rng.uniform(0.5, 1.6)),
        lever_arm_m=(float(foot * rng.uniform(0.35, 0.60)), float(rng.normal(0.0, 0.012)),
                     float(rng.uniform(0.04, 0.09))),
        mount_rpy_deg=triple(normal(0.0, 3.5, -8.0, 8.0, 3)),
        impact_gain=float(np.exp(rng.normal(0.0, 0.3))),
        impact_freq_hz=float(rng.uniform(16.0, 30.0)),
        impact_decay_s=float(rng.uniform(0.010, 0.028)),
        acc_bias_mps2=triple(rng.normal(0.0, 0.1, 3)),
        gyr_bias_dps=triple(rng.normal(0.0, 1.0, 3)),
        acc_gain_error=triple(normal(0.0, 0.01, -0.03, 0.03, 3)),
        gyr_gain_error=triple(normal(0.0, 0.01, -0.03, 0.03, 3)),
        acc_noise_mps2=float(rng.uniform(0.02, 0.06)),
        gyr_noise_dps=float(rng.uniform(0.1, 0.4)),
        strike_slope_walk=float(normal(6.0, 2.5, 0.0, 12.0)),
        toe_off_slope_walk=float(normal(12.0, 4.0, 3.0, 22.0)),
        toe_off_slope_run=float(normal(10.0, 3.5, 2.0, 18.0)),
        foot_flat_walk=float(normal(0.17, 0.03, 0.10, 0.25)),
        heel_off_walk=float(normal(0.55, 0.05, 0.42, 0.68)),
        foot_flat_run=float(normal(0.18, 0.04, 0.10, 0.28)),
        heel_off_run=float(normal(0.45, 0.06, 0.32, 0.60)),
        max_pf_walk=float(normal(0.13, 0.02, 0.08, 0.18)),
        max_pf_run=float(normal(0.20, 0.03, 0.12, 0.28)),
        mid_swing_walk=float(normal(0.45, 0.05, 0.33, 0.58)),
        mid_swing_run=float(normal(0.50, 0.05, 0.38, 0.62)),
        swing_peakiness=float(normal(2.45, 0.2, 2.0, 2.9)),
        strike_rate=float(normal(1.6, 0.2, 1.2, 2.1)),
        swing_plateau=float(normal(16.0, 2.0, 11.0, 20.0)),
        clearance_walk_m=float(normal(0.04, 0.012, 0.015, 0.07)),
        clearance_run_m=float(normal(0.12, 0.03, 0.06, 0.20)),
        stride_jitter=float(np.exp(rng.normal(0.0, 0.3))),
    )


def is_running(params: SubjectParams, speed_mps: float) -> bool:
    """True at or above the subject's walk-run transition speed."""
    return float(speed_mps) >= params.transition_speed_mps


def cadence_steps_per_min(params: SubjectParams, speed_mps: float) -> float:
    """Mean cadence (steps per minute, both feet) of the subject at a treadmill speed."""
    v = float(speed_mps)
    if v <= 0:
        raise ValueError(f"speed_mps must be positive, got {v}")
    if is_running(params, v):
        return params.run_cadence_at_transition + params.run_cadence_slope * (v - params.transition_speed_mps)
    return float(np.sqrt(60.0 * v / params.walk_ratio))


def stance_fraction(params: SubjectParams, speed_mps: float) -> float:
    """Mean fraction of a stride the foot is on the belt (duty factor)."""
    v = float(speed_mps)
    vt = params.transition_speed_mps
    if is_running(params, v):
        base = 0.40 - 0.07 * np.clip(v - vt, 0.0, 1.5)
    else:
        base = 0.62 - 0.04 * np.clip((v - 1.0) / (vt - 1.0), 0.0, 1.0)
    return float(base + params.stance_offset)


# --------------------------------------------------------------------------- kinematics


@dataclass(frozen=True)
class FootKinematics:
    """Noise-free motion of the sensor point (lab frame: x forward, y left, z up)."""

    t: np.ndarray  # (T,) s
    position: np.ndarray  # (T, 3) m, lab frame
    velocity: np.ndarray  # (T, 3) m/s, lab frame
    acceleration: np.ndarray  # (T, 3) m/s^2, lab axes, gravity not included
    angular_velocity_dps: np.ndarray  # (T, 3) foot frame
    roll_deg: np.ndarray  # (T,) foot orientation: R = Rz(yaw) Ry(pitch) Rx(roll)
    pitch_deg: np.ndarray  # (T,) positive = toes down
    yaw_deg: np.ndarray  # (T,)
    heel_strike_s: np.ndarray  # heel-strike times, s (the list runs from before 0 to past the end)
    toe_off_s: np.ndarray  # toe-off time of each stride, s
    stance: np.ndarray  # (T,) bool


def _quintic(t0, t1, y0, d0, dd0, y1, d1, dd1, t, seg):
    """Value, first and second time derivative of quintic Hermite pieces at times t.

    Piece ``k`` runs from t0[k] to t1[k] and matches value, slope and curvature
    at both ends; ``seg`` gives the piece of each sample.
    """
    h = t1 - t0
    c0, c1, c2 = y0, h * d0, 0.5 * h * h * dd0
    a = y1 - (c0 + c1 + c2)
    b = h * d1 - (c1 + 2 * c2)
    c = h * h * dd1 - 2 * c2
    c3, c4, c5 = 10 * a - 4 * b + 0.5 * c, -15 * a + 7 * b - c, 6 * a - 3 * b + 0.5 * c
    hs = h[seg]
    s = (t - t0[seg]) / hs
    c0, c1, c2, c3, c4, c5 = (x[seg] for x in (c0, c1, c2, c3, c4, c5))
    p = c0 + s * (c1 + s * (c2 + s * (c3 + s * (c4 + s * c5))))
    dp = c1 + s * (2 * c2 + s * (3 * c3 + s * (4 * c4 + s * 5 * c5)))
    ddp = 2 * c2 + s * (6 * c3 + s * (12 * c4 + s * 20 * c5))
    return p, dp / hs, ddp / (hs * hs)


def _ar1(rng, n, phi):
    """Unit-variance AR(1) series (persistent stride-to-stride fluctuations)."""
    w = rng.standard_normal(n)
    x = np.empty(n)
    x[0] = w[0]
    k = np.sqrt(1.0 - phi * phi)
    for i in range(1, n):
        x[i] = phi * x[i - 1] + k * w[i]
    return x


_PLANE = {"x": (1, 2), "y": (2, 0), "z": (0, 1)}  # axes turned by a rotation about x, y, z


def _turn(axis, angle, u, order=0):
    """Rotate vectors u (T, 3) about an axis by ``angle`` (rad), or apply the rotation's
    first (order 1) or second (order 2) derivative with respect to the angle."""
    i, j = _PLANE[axis]
    a = angle + order * np.pi / 2  # d/da of a plane rotation is the rotation by a + 90 deg
    c, s = np.cos(a), np.sin(a)
    ui, uj = u[..., i], u[..., j]
    out = np.empty(np.broadcast(ui, c).shape + (3,))
    out[..., 3 - i - j] = u[..., 3 - i - j] if order == 0 else 0.0  # the axis itself stays (or has no derivative)
    out[..., i] = c * ui - s * uj
    out[..., j] = s * ui + c * uj
    return out


def _pose_apply(yaw, pitch, roll, u):
    """R u, R' u and R'' u for R = Rz(yaw) Ry(pitch) Rx(roll); each angle is (value, rate, acceleration)."""
    (ps, dps, ddps), (th, dth, ddth), (ph, dph, ddph) = yaw, pitch, roll
    col = lambda x: x[:, None]  # noqa: E731
    x0, x1, x2 = (_turn("x", ph, u, k) for k in range(3))
    c1 = col(dph) * x1
    c2 = col(dph**2) * x2 + col(ddph) * x1
    bc = _turn("y", th, x0)
    y1x0 = _turn("y", th, x0, 1)
    b1c = col(dth) * y1x0
    b2c = col(dth**2) * _turn("y", th, x0, 2) + col(ddth) * y1x0
    bc1 = _turn("y", th, c1)
    b1c1 = col(dth) * _turn("y", th, c1, 1)
    bc2 = _turn("y", th, c2)
    z1_bc = _turn("z", ps, bc, 1)
    r0 = _turn("z", ps, bc)
    r1 = col(dps) * z1_bc + _turn("z", ps, b1c + bc1)
    r2 = (col(dps**2) * _turn("z", ps, bc, 2) + col(ddps) * z1_bc + _turn("z", ps, b2c + bc2 + 2 * b1c1)
          + 2 * col(dps) * _turn("z", ps, b1c + bc1, 1))
    return r0, r1, r2


def _world_to_foot(yaw, pitch, roll, u):
    """Express world vectors u (T, 3) in the foot frame (the inverse of R = Rz Ry Rx)."""
    return _turn("x", -roll, _turn("y", -pitch, _turn("z", -yaw, u)))


def _gait_pattern(params: SubjectParams, speed_mps: float) -> dict:
    """The person's stride template at a speed: phases (fractions of stance or swing) and angles (deg)."""
    v = float(speed_mps)
    p = params
    if is_running(p, v):
        return dict(f_ff=p.foot_flat_run, f_ho=p.heel_off_run, a=p.max_pf_run, m=p.mid_swing_run,
                    hs=-p.strike_angle_run_deg, pf=p.toe_off_run_deg + p.toe_off_slope_run * (v - p.transition_speed_mps),
                    lift=p.clearance_run_m, running=True)
    return dict(f_ff=p.foot_flat_walk, f_ho=p.heel_off_walk, a=p.max_pf_walk, m=p.mid_swing_walk,
                hs=-(p.heel_strike_walk_deg + p.strike_slope_walk * (v - 1.2)),
                pf=p.toe_off_walk_deg + p.toe_off_slope_walk * (v - 1.2), lift=p.clearance_walk_m, running=False)


def _hermite(t_knots, values, rates, t):
    """Quintic pieces through key frames with given values and rates (zero curvature at each key frame).

    Value, first and second derivative at times t. Where a rate is nonzero the motion passes
    through the key frame without stopping.
    """
    seg = np.clip(np.searchsorted(t_knots, t, side="right") - 1, 0, len(t_knots) - 2)
    z = np.zeros(len(t_knots) - 1)
    return _quintic(t_knots[:-1], t_knots[1:], values[:-1], rates[:-1], z, values[1:], rates[1:], z, t, seg)


def _catmull_rom_rates(t_knots, values):
    """Rates through key frames from the neighbouring key frames (central differences)."""
    r = np.zeros(len(values))
    r[1:-1] = (values[2:] - values[:-2]) / (t_knots[2:] - t_knots[:-2])
    return r


def _pivot_heel(x_flat, theta, dtheta, ddtheta, length):
    """Heel position/velocity/acceleration (x, z) of a foot rolling on the belt.

    Toes up (theta <= 0): the heel is the contact point and stays put. Toes down
    (theta > 0): the foot rolls about its toe tip, which stays put.
    """
    up = theta > 0
    th = np.where(up, theta, 0.0)
    dth = np.where(up, dtheta, 0.0)
    ddth = np.where(up, ddtheta, 0.0)
    c, s = np.cos(th), np.sin(th)
    pos = np.stack([x_flat + length * (1 - c), length * s], -1)
    vel = np.stack([length * s * dth, length * c * dth], -1)
    acc = np.stack([length * (c * dth**2 + s * ddth), length * (-s * dth**2 + c * ddth)], -1)
    return pos, vel, acc


def _heel_to_toe(theta, dtheta, ddtheta, length):
    """Sagittal vector heel -> toe tip (x, z) of the rigid foot, with its time derivatives."""
    c, s = np.cos(theta), np.sin(theta)
    off = length * np.stack([c, -s], -1)
    d_dir = np.stack([-s, -c], -1)
    doff = length * d_dir * dtheta[..., None]
    ddoff = length * (np.stack([-c, s], -1) * dtheta[..., None] ** 2 + d_dir * ddtheta[..., None])
    return off, doff, ddoff


def foot_kinematics(params: SubjectParams, speed_mps: float, seconds: float, rng: np.random.Generator,
                    sample_rate_hz: float = SAMPLE_RATE_HZ) -> FootKinematics:
    """Noise-free foot and sensor motion on a treadmill at ``speed_mps`` for ``seconds``."""
    v = float(speed_mps)
    n = int(round(seconds * sample_rate_hz))
    if n < 2:
        raise ValueError(f"seconds={seconds} gives fewer than 2 samples")
    t = np.arange(n) / sample_rate_hz
    f = _gait_pattern(params, v)
    stride_mean = 120.0 / cadence_steps_per_min(params, v)
    sigma_mean = stance_fraction(params, v)
    jit = params.stride_jitter

    # Stride timing: start at a random phase, AR(1) stride-time fluctuations.
    n_str = int(np.ceil(seconds / (stride_mean * 0.85))) + 4
    stride_t = stride_mean * (1.0 + params.stride_time_cv * _ar1(rng, n_str, 0.5))
    hs = -rng.uniform(1.0, 2.0) * stride_mean + np.concatenate([[0.0], np.cumsum(stride_t)])
    sigma = np.clip(sigma_mean + 0.008 * jit * rng.standard_normal(n_str), 0.25, 0.7)
    theta_hs = f["hs"] + 2.0 * jit * rng.standard_normal(n_str + 1)
    theta_pf = f["pf"] + 3.0 * jit * rng.standard_normal(n_str)
    lift = f["lift"] * np.exp(0.1 * jit * rng.standard_normal(n_str))
    plateau = params.swing_plateau * (1.0 + 0.1 * jit * rng.standard_normal(n_str))
    # Heel position at foot flat in the lab frame wanders a few cm around 0.
    drift = 0.02 * _ar1(rng, n_str + 1, 0.8)
    x_flat = v * hs + drift  # belt frame

    # Key frames of the pitch per stride: contact, foot flat, heel-off, toe-off, peak plantarflexion,
    # mid-swing; then the next contact. The foot lies still only while it is flat on the belt; it
    # leaves the belt turning fastest, swings through, and meets the belt still turning.
    T, sw_t = stride_t, (1.0 - sigma) * stride_t
    t_ff, t_ho, t_to = f["f_ff"] * sigma * T, f["f_ho"] * sigma * T, sigma * T
    t_pf, t_ms = t_to + f["a"] * sw_t, t_to + f["m"] * sw_t
    h1, h2 = t_to - t_ho, t_pf - t_to
    rate_to = 2.0 * theta_pf / (h1 + h2)  # push-off: the rate rises to toe-off and falls to peak plantarflexion
    theta_to = theta_pf * h1 / (h1 + h2)
    h3, h4 = t_ms - t_pf, T - t_ms
    swing = theta_hs[1:] - theta_pf  # negative: the foot dorsiflexes through swing
    peakiness = min(1.3 * params.swing_peakiness, 3.3) if f["running"] else params.swing_peakiness
    rate_ms = peakiness * swing / (h3 + h4)  # the running swing is more abrupt than the walking one
    theta_ms = theta_pf + swing * h3 / (h3 + h4)
    rate_hs = -params.strike_rate * theta_hs / t_ff[np.minimum(np.arange(n_str + 1), n_str - 1)]
    zero = np.zeros(n_str)
    phases = np.stack([zero, t_ff, t_ho, t_to, t_pf, t_ms], 1)
    knots = np.concatenate([(hs[:-1, None] + phases).ravel(), hs[-1:]])
    pitch_k = np.concatenate([np.stack([theta_hs[:-1], zero, zero, theta_to, theta_pf, theta_ms], 1).ravel(),
                              theta_hs[-1:]])
    pitch_r = np.concatenate([np.stack([rate_hs[:-1], zero, zero, rate_to, zero, rate_ms], 1).ravel(), rate_hs[-1:]])
    # Small roll (eversion in stance, inversion around toe-off) and yaw (toe-out at push-off); still while flat.
    flat_knot = np.tile([False, True, True, False, False, False], n_str + 1)[:len(knots)]
    roll_k = np.tile(np.array([-4.0, 3.0, 3.0, -6.0, -8.0, -3.0]) * params.roll_scale, n_str + 1)[:len(knots)]
    yaw_k = np.tile(np.array([0.0, 0.0, 0.0, 6.0, 8.0, -4.0]) * params.yaw_scale, n_str + 1)[:len(knots)]
    roll_r, yaw_r = (np.where(flat_knot, 0.0, _catmull_rom_rates(knots, k)) for k in (roll_k, yaw_k))
    deg = np.pi / 180
    th, dth, ddth = (x * deg for x in _hermite(knots, pitch_k, pitch_r, t))
    ph, dph, ddph = (x * deg for x in _hermite(knots, roll_k, roll_r, t))
    ps, dps, ddps = (x * deg for x in _hermite(knots, yaw_k, yaw_r, t))

    # Heel: rolling contact in stance, quintic swing between toe-off and the next strike.
    j = np.clip(np.searchsorted(hs, t, side="right") - 1, 0, n_str - 1)
    toe_off = hs[:-1] + sigma * stride_t
    in_stance = t < toe_off[j]
    length = params.foot_length_m
    heel_p, heel_v, heel_a = _pivot_heel(x_flat[j], th, dth, ddth, length)

    # Orientation R = Rz(yaw) Ry(pitch) Rx(roll): body angular velocity from the Euler-angle rates,
    # the lever arm's motion from R r, R' r and R'' r.
    omega = np.stack([dph - dps * np.sin(th),
                      dth * np.cos(ph) + dps * np.cos(th) * np.sin(ph),
                      dps * np.cos(th) * np.cos(ph) - dth * np.sin(ph)], -1) / deg
    lever_arm = np.asarray(params.lever_arm_m, float)
    r0, r1, r2 = _pose_apply((ps, dps, ddps), (th, dth, ddth), (ph, dph, ddph), np.broadcast_to(lever_arm, (n, 3)))
    sag = [0, 2]  # the sagittal (x, z) components

    # Swing: the sensor leaves toe-off and reaches the next strike on a quintic path that matches
    # position, velocity and acceleration of the rolling foot at both ends; a plateau term keeps its
    # forward speed through mid-swing instead of peaking sharply, and a bump lifts the foot clear.
    # The heel follows from the pose (rigid foot).
    def sensor_state(times, x_heel):
        angles = [tuple(x * deg for x in _hermite(knots, kk, rr, times))
                  for kk, rr in ((yaw_k, yaw_r), (pitch_k, pitch_r), (roll_k, roll_r))]
        heel = _pivot_heel(x_heel, *angles[1], length)
        lever = _pose_apply(*angles, np.broadcast_to(lever_arm, (len(times), 3)))
        return [hp + lv[:, sag] for hp, lv in zip(heel, lever)]

    to_state, hs_state = sensor_state(toe_off, x_flat[:-1]), sensor_state(hs[1:], x_flat[1:])
    sw = ~in_stance
    if sw.any():
        js, ts = j[sw], t[sw]
        path = [np.empty((len(ts), 2)) for _ in range(3)]
        for axis in (0, 1):
            q = _quintic(toe_off, hs[1:], *(st[:, axis] for st in to_state), *(st[:, axis] for st in hs_state),
                         ts, js)
            for k in range(3):
                path[k][:, axis] = q[k]
        h = (hs[1:] - toe_off)[js]
        s = (ts - toe_off[js]) / h
        u, du = s * (1 - s), 1 - 2 * s
        # Plateau term -K u^3 (2s - 1): no change of position, speed or acceleration at either end.
        K = plateau[js] * (hs_state[0][js, 0] - to_state[0][js, 0])
        path[0][:, 0] -= K * u**3 * (2 * s - 1)
        path[1][:, 0] -= K * (2 * u**3 - 3 * u**2 * du**2) / h
        path[2][:, 0] -= K * (18 * u**2 * du - 6 * u * du**3) / h**2
        # Clearance bump 64 u^3: zero slope and curvature at both ends.
        lj = lift[js]
        path[0][:, 1] += lj * 64 * u**3
        path[1][:, 1] += lj * 192 * u**2 * du / h
        path[2][:, 1] += lj * 384 * u * (du**2 - u) / h**2
        heel_p[sw], heel_v[sw], heel_a[sw] = (a - lv[sw][:, sag] for a, lv in zip(path, (r0, r1, r2)))

    heel3 = lambda q: np.stack([q[:, 0], np.zeros(len(q)), q[:, 1]], -1)  # noqa: E731
    pos = heel3(heel_p) + r0
    vel = heel3(heel_v) + r1
    acc = heel3(heel_a) + r2
    pos[:, 0] -= v * t  # belt frame -> lab frame
    vel[:, 0] -= v
    return FootKinematics(t=t, position=pos, velocity=vel, acceleration=acc, angular_velocity_dps=omega,
                          roll_deg=ph / deg, pitch_deg=th / deg, yaw_deg=ps / deg, heel_strike_s=hs,
                          toe_off_s=toe_off, stance=in_stance)


# --------------------------------------------------------------------------- sensor


def _impact(params: SubjectParams, t, heel_strikes, rng):
    """Heel-strike transient (T,), peak about 1 (+-15 % per strike), carrying no net impulse.

    The sole and the soft tissue are displaced by d(t) = exp(-t/tau) (1 - cos(2 pi f t)) after each
    strike and spring back; the transient is the acceleration d''(t). Since d and d' are zero at the
    strike and die out, the transient neither changes the foot's velocity nor moves it: the foot's
    trajectory stays the one of :func:`foot_kinematics`.
    """
    k = np.searchsorted(heel_strikes, t, side="right") - 1
    valid = k >= 0
    dt = np.where(valid, t - heel_strikes[np.maximum(k, 0)], 1.0)
    tau, w = params.impact_decay_s, 2 * np.pi * params.impact_freq_hz
    c, s = np.cos(w * dt), np.sin(w * dt)
    wave = np.exp(-dt / tau) * ((1 - c) / tau**2 - 2 * w * s / tau + w * w * c) * (dt < 10 * tau) * valid
    wave /= w * w  # its largest value, at the strike itself
    per_strike = np.exp(rng.normal(0.0, 0.15, len(heel_strikes)))
    return wave * per_strike[np.maximum(k, 0)]


def simulate_recording(params: SubjectParams, speed_mps: float, seconds: float,
                       rng: np.random.Generator) -> np.ndarray:
    """A continuous recording (T, 6) float32: acc (m/s^2) then gyro (deg/s), sensor axes."""
    v = float(speed_mps)
    kin = foot_kinematics(params, v, seconds, rng)
    wave = _impact(params, kin.t, kin.heel_strike_s, rng)
    if is_running(params, v):
        style = float(np.interp(params.strike_angle_run_deg, [-2.0, 8.0], [0.45, 1.0]))
        peak_g, slap_dps = style * (2.0 + 2.6 * v), style * (40.0 + 40.0 * v)
    else:
        peak_g, slap_dps = 1.0 + 1.2 * v, 30.0 + 30.0 * v
    peak = params.impact_gain * peak_g * GRAVITY
    acc_world = kin.acceleration.copy()
    acc_world[:, 2] += peak * wave  # vertical rebound of the sole
    acc_world[:, 0] -= 0.4 * peak * wave  # braking
    specific_force = acc_world + np.array([0.0, 0.0, GRAVITY])
    r, p, y = np.radians(params.mount_rpy_deg)
    to_sensor = lambda u: _turn("x", -r, _turn("y", -p, _turn("z", -y, u)))  # noqa: E731  foot -> sensor
    rad = np.pi / 180
    acc = to_sensor(_world_to_foot(kin.yaw_deg * rad, kin.pitch_deg * rad, kin.roll_deg * rad, specific_force))
    gyr_foot = kin.angular_velocity_dps.copy()
    gyr_foot[:, 1] += params.impact_gain * slap_dps * wave  # the foot slaps down onto the belt
    gyr = to_sensor(gyr_foot)

    out = np.empty((len(kin.t), 6))
    for sl, sig, gain, bias, noise, rng_max in (
        (slice(0, 3), acc, params.acc_gain_error, params.acc_bias_mps2, params.acc_noise_mps2, params.acc_range_mps2),
        (slice(3, 6), gyr, params.gyr_gain_error, params.gyr_bias_dps, params.gyr_noise_dps, params.gyr_range_dps),
    ):
        meas = sig * (1.0 + np.asarray(gain)) + np.asarray(bias) + noise * rng.standard_normal(sig.shape)
        lsb = rng_max / 32768.0
        out[:, sl] = np.clip(np.round(meas / lsb) * lsb, -rng_max, rng_max)
    return out.astype(np.float32)


# --------------------------------------------------------------------------- datasets


@dataclass
class ImuData:
    """Windows of IMU data with their treadmill speed and subject id."""

    X: np.ndarray  # (N, WINDOW, 6) float32
    speed_mps: np.ndarray  # (N,) float32
    subject: np.ndarray  # (N,) int
    sample_rate_hz: float = SAMPLE_RATE_HZ
    channels: tuple[str, ...] = field(default=CHANNELS)
    units: tuple[str, ...] = field(default=UNITS)

    def __len__(self) -> int:
        return len(self.X)


def _recording_seconds(windows: int) -> float:
    """Treadmill time per speed: windows overlap, about 2 s of new data per window."""
    return WINDOW / SAMPLE_RATE_HZ + max(30.0, 2.0 * windows)


def simulate_subject(subject_id: int, windows_per_speed: int = 50, speeds_kmh=SPEEDS_KMH, seed: int = 0) -> ImuData:
    """Windows cut at random offsets from one continuous simulated recording per speed."""
    params = subject_params(subject_id)
    xs, speeds = [], []
    for kmh in speeds_kmh:
        rng = np.random.default_rng([SEED_BASE, _TAG_RECORDING, params.subject_id, int(seed), int(round(kmh * 100))])
        v = float(kmh) / 3.6
        rec = simulate_recording(params, v, _recording_seconds(windows_per_speed), rng)
        starts = rng.integers(0, len(rec) - WINDOW + 1, size=windows_per_speed)
        xs.append(rec[starts[:, None] + np.arange(WINDOW)])
        speeds.append(np.full(windows_per_speed, v, np.float32))
    X = np.concatenate(xs) if xs else np.zeros((0, WINDOW, 6), np.float32)
    speed = np.concatenate(speeds) if speeds else np.zeros(0, np.float32)
    return ImuData(X=X, speed_mps=speed, subject=np.full(len(X), params.subject_id, np.int64))


def simulate_subjects(subject_ids=SUBJECTS, windows_per_speed: int = 50, speeds_kmh=SPEEDS_KMH,
                      seed: int = 0) -> ImuData:
    """:func:`simulate_subject` for several subjects, concatenated."""
    parts = [simulate_subject(s, windows_per_speed, speeds_kmh, seed) for s in subject_ids]
    return ImuData(X=np.concatenate([p.X for p in parts]),
                   speed_mps=np.concatenate([p.speed_mps for p in parts]),
                   subject=np.concatenate([p.subject for p in parts]))


def check_disjoint_subjects(train_subjects, test_subjects) -> None:
    """Raise ValueError when a subject id appears in both the training and the test set."""
    both = sorted(set(np.unique(np.asarray(train_subjects)).tolist())
                  & set(np.unique(np.asarray(test_subjects)).tolist()))
    if both:
        raise ValueError(
            f"Subject(s) {both} appear in both the training and the test set: windows of one person "
            f"leak their gait into the test score. Split by subject (e.g. leave one subject out)."
        )


# --------------------------------------------------------------------------- cadence


def cadence_from_gyro(x_window, sample_rate_hz: float = SAMPLE_RATE_HZ, harmonics: int = 4):
    """Cadence (steps/min) from the pitch-rate spectrum of a window, or of each window of a batch.

    Accepts the pitch rate (T,), a window (T, 6) or a batch (N, T, 6). The stride
    frequency is the candidate between 0.4 and 2 Hz whose first ``harmonics``
    harmonics carry the most spectral amplitude (a foot sensor sees one swing per
    stride); cadence = 2 steps per stride x 60 s.
    """
    x = np.asarray(x_window)
    if x.ndim == 1:
        rate = x[None, :]
    elif x.ndim in (2, 3) and x.shape[-1] == len(CHANNELS):
        rate = x[..., PITCH_RATE_CHANNEL].reshape(-1, x.shape[-2])
    else:
        raise ValueError(f"cadence_from_gyro expects the pitch rate (T,), a window (T, 6) or a batch (N, T, 6), "
                         f"got shape {x.shape}")
    n = rate.shape[1]
    if n < 2 * sample_rate_hz:
        raise ValueError(f"a window of {n} samples is too short to estimate cadence; use at least 2 s")
    nfft = max(8192, 1 << int(np.ceil(np.log2(8 * n))))  # zero padding: a fine frequency grid
    df = sample_rate_hz / nfft
    cand = np.arange(0.4, 2.0, 0.002)  # stride frequencies, Hz
    taper = np.hanning(n)
    best = np.empty(len(rate))
    for start in range(0, len(rate), 256):  # chunks keep memory small for big batches
        g = rate[start:start + 256].astype(np.float64)
        spec = np.abs(np.fft.rfft((g - g.mean(1, keepdims=True)) * taper, nfft, axis=1))
        score = np.zeros((len(g), len(cand)))
        for k in range(1, harmonics + 1):
            pos = k * cand / df
            ok = pos < spec.shape[1] - 1
            i0 = np.floor(pos[ok]).astype(int)
            w = pos[ok] - i0
            score[:, ok] += (1 - w) * spec[:, i0] + w * spec[:, i0 + 1]
        best[start:start + len(g)] = cand[np.argmax(score, axis=1)]
    cadence = 120.0 * best  # 2 steps per stride, 60 s per minute
    return float(cadence[0]) if x.ndim < 3 else cadence


# --------------------------------------------------------------------------- files


_KEYS = ("X", "speed_mps", "subject", "sample_rate_hz", "channels", "units")


def save_recordings(path, data: ImuData) -> Path:
    """Write windows to the lab-07 .npz format (checked first); returns the path written."""
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")
    arrays = dict(X=np.asarray(data.X, np.float32), speed_mps=np.asarray(data.speed_mps, np.float32),
                  subject=np.asarray(data.subject, np.int64), sample_rate_hz=np.float64(data.sample_rate_hz),
                  channels=np.asarray(data.channels, dtype=str), units=np.asarray(data.units, dtype=str))
    _validate(arrays, f"the data given to save_recordings for {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)
    return path


def load_recordings(path) -> ImuData:
    """Read and check a lab-07 recordings .npz; raises ImuFormatError saying what to fix."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"IMU recordings file not found: {path}. Check the path, or simulate data "
                                f"with labkit.imu.simulate_subjects().")
    try:
        with np.load(path, allow_pickle=False) as z:
            missing = [k for k in _KEYS if k not in z.files]
            if missing:
                raise ImuFormatError(
                    f"{path} lacks the key(s) {missing} (it has {sorted(z.files)}). Save recordings with "
                    f"labkit.imu.save_recordings, which writes {list(_KEYS)}.")
            arrays = {k: z[k] for k in _KEYS}
    except ImuFormatError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError) as exc:
        raise ImuFormatError(
            f"{path} is not a readable .npz file (truncated, corrupt, or holding pickled objects: {exc}). "
            f"Copy it again or re-save it with labkit.imu.save_recordings.") from exc
    _validate(arrays, str(path))
    return ImuData(X=arrays["X"].astype(np.float32), speed_mps=arrays["speed_mps"].astype(np.float32),
                   subject=arrays["subject"].astype(np.int64), sample_rate_hz=float(arrays["sample_rate_hz"]),
                   channels=tuple(str(c) for c in arrays["channels"]), units=tuple(str(u) for u in arrays["units"]))


def _validate(a: dict, where: str) -> None:
    """Check arrays against the lab-07 format; raise ImuFormatError with what to fix."""
    X = np.asarray(a["X"])
    expected = f"(N, {WINDOW}, {len(CHANNELS)})"
    if X.ndim != 3 or X.shape[1:] != (WINDOW, len(CHANNELS)):
        hint = ""
        if X.ndim == 3 and X.shape[1:] == (len(CHANNELS), WINDOW):
            hint = " It looks transposed: use X.transpose(0, 2, 1)."
        elif X.ndim == 2 and X.shape[1] == len(CHANNELS):
            hint = f" It looks like one continuous recording: cut it into windows of {WINDOW} samples."
        elif X.ndim == 3 and X.shape[2] == len(CHANNELS):
            hint = f" Windows must be {WINDOW} samples ({WINDOW / SAMPLE_RATE_HZ:g} s at {SAMPLE_RATE_HZ} Hz)."
        raise ImuFormatError(f"{where}: X must have shape {expected}, got {X.shape}.{hint}")
    if not np.issubdtype(X.dtype, np.floating):
        raise ImuFormatError(f"{where}: X must hold floats (float32), got dtype {X.dtype}.")
    speed = np.asarray(a["speed_mps"])
    subject = np.asarray(a["subject"])
    if speed.ndim != 1 or subject.ndim != 1 or not len(X) == len(speed) == len(subject):
        raise ImuFormatError(
            f"{where}: X, speed_mps and subject must have one entry per window, got {len(X)} windows, "
            f"speed_mps of shape {speed.shape} and subject of shape {subject.shape}.")
    rate = np.asarray(a["sample_rate_hz"])
    if rate.size != 1 or not np.isfinite(float(rate.ravel()[0])) or abs(float(rate.ravel()[0]) - SAMPLE_RATE_HZ) > 1e-6:
        raise ImuFormatError(
            f"{where}: sample_rate_hz is {rate.ravel().tolist()}, the lab needs {SAMPLE_RATE_HZ} Hz. Resample "
            f"the recordings to {SAMPLE_RATE_HZ} Hz (e.g. scipy.signal.resample_poly) before cutting windows.")
    channels = tuple(str(c) for c in np.asarray(a["channels"]).ravel())
    if channels != CHANNELS:
        raise ImuFormatError(f"{where}: channels must be {list(CHANNELS)} in this order, got {list(channels)}.")
    units = tuple(str(u).strip() for u in np.asarray(a["units"]).ravel())
    if units != UNITS:
        hint = ""
        if len(units) == 6 and any("rad" in u for u in units[3:]):
            hint = " The gyroscope is in rad/s: convert with np.rad2deg (x 180/pi) to deg/s."
        elif len(units) == 6 and any(u.lower() in ("g", "gee", "g0") for u in units[:3]):
            hint = " The accelerometer is in g: multiply by 9.81 to get m/s^2."
        raise ImuFormatError(f"{where}: units must be {list(UNITS)}, got {list(units)}.{hint}")
    if not np.issubdtype(subject.dtype, np.integer):
        if not (np.issubdtype(subject.dtype, np.floating) and np.all(np.isfinite(subject))
                and np.all(subject == np.round(subject))):
            raise ImuFormatError(f"{where}: subject must hold integer ids, got dtype {subject.dtype}.")
    bad = ~np.isfinite(X)
    if bad.any():
        per_channel = bad.sum(axis=(0, 1))
        names = [f"{c} ({k})" for c, k in zip(CHANNELS, per_channel) if k]
        windows = int(bad.any(axis=(1, 2)).sum())
        raise ImuFormatError(
            f"{where}: X holds NaN or inf values in {windows} window(s), channels {', '.join(names)}. "
            f"Drop those windows or fill the gaps (e.g. interpolate) before saving.")
    if not np.all(np.isfinite(speed)):
        raise ImuFormatError(f"{where}: speed_mps holds NaN or inf values.")
    lo, hi = SPEED_RANGE_MPS
    if len(speed) and (speed.min() < lo or speed.max() > hi):
        hint = ""
        if speed.max() > hi and (speed / 3.6).max() <= hi and (speed / 3.6).min() >= lo:
            hint = " They look like km/h: divide by 3.6."
        raise ImuFormatError(
            f"{where}: speed_mps must lie in the plausible range {lo}-{hi} m/s, got {speed.min():.3g} to "
            f"{speed.max():.3g}.{hint}")
    if len(X):
        gyr99 = float(np.percentile(np.abs(X[:, :, 3:]), 99))
        if gyr99 < 20.0:
            raise ImuFormatError(
                f"{where}: the gyroscope values are tiny for walking or running (99th percentile |gyr| = "
                f"{gyr99:.3g}); they look like rad/s. Convert with np.rad2deg to deg/s.")
        acc_med = float(np.median(np.linalg.norm(X[:, :, :3].astype(np.float64), axis=-1)))
        if acc_med < 3.0:
            raise ImuFormatError(
                f"{where}: the median accelerometer magnitude is {acc_med:.3g}, but at 1 g it should be near "
                f"{GRAVITY} m/s^2; the accelerometer looks like it is in g: multiply by 9.81.")
        if acc_med > 40.0:
            raise ImuFormatError(
                f"{where}: the median accelerometer magnitude is {acc_med:.3g}, far above {GRAVITY} m/s^2; "
                f"the values look like raw counts or mg: convert to m/s^2.")
