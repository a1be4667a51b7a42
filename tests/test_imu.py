"""Realism and format checks for the simulated shoe IMU of lab 07 (labkit.imu)."""

from __future__ import annotations

import dataclasses
from functools import lru_cache

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.signal import find_peaks

from labkit import imu

SUBJECTS = (1, 2, 4)
G = imu.GRAVITY


@lru_cache(maxsize=None)
def recording(subject: int, kmh: float, seconds: float = 40.0, seed: int = 0) -> np.ndarray:
    """A continuous simulated recording (cached: several tests read the same one)."""
    params = imu.subject_params(subject)
    return imu.simulate_recording(params, kmh / 3.6, seconds, np.random.default_rng(seed))


def swing_peaks(rec: np.ndarray, params: imu.SubjectParams, speed_mps: float):
    """Per-stride swing peaks of the pitch rate: (times in s, peak |gyr_y| in deg/s)."""
    stride = 120.0 / imu.cadence_steps_per_min(params, speed_mps) * imu.SAMPLE_RATE_HZ
    neg = -rec[:, imu.PITCH_RATE_CHANNEL].astype(np.float64)
    idx, props = find_peaks(neg, distance=int(0.6 * stride), height=200.0)
    idx = idx[(idx > 0) & (idx < len(neg) - 1)]
    # Parabolic interpolation puts each peak between samples.
    y0, y1, y2 = neg[idx - 1], neg[idx], neg[idx + 1]
    denom = y0 - 2 * y1 + y2
    shift = np.where(denom != 0, 0.5 * (y0 - y2) / np.where(denom != 0, denom, 1), 0.0)
    return (idx + shift) / imu.SAMPLE_RATE_HZ, y1


def foot_flat_fraction(rec: np.ndarray) -> float:
    """Fraction of samples that look like a flat foot on the belt: gyro quiet and |acc| near 1 g."""
    gyr = np.linalg.norm(rec[:, 3:], axis=1)
    acc = np.linalg.norm(rec[:, :3], axis=1)
    return float(np.mean((gyr < 30.0) & (np.abs(acc - G) < 1.0)))


# --------------------------------------------------------------------------- constants and parameters


def test_constants():
    assert imu.SAMPLE_RATE_HZ == 100 and imu.WINDOW == 600
    assert imu.CHANNELS == ("acc_x", "acc_y", "acc_z", "gyr_x", "gyr_y", "gyr_z")
    assert imu.UNITS == ("m/s^2",) * 3 + ("deg/s",) * 3
    assert len(imu.SPEEDS_KMH) == 12
    np.testing.assert_allclose(imu.SPEEDS_KMH, np.arange(4.0, 9.6, 0.5))


def test_subject_params_are_deterministic_and_differ_between_subjects():
    ps = [imu.subject_params(s) for s in SUBJECTS]
    assert ps == [imu.subject_params(s) for s in SUBJECTS]
    for a, b in [(0, 1), (0, 2), (1, 2)]:
        assert ps[a] != ps[b]
        assert ps[a].walk_ratio != ps[b].walk_ratio
        assert ps[a].acc_bias_mps2 != ps[b].acc_bias_mps2
    for p in ps:
        assert 0.0050 <= p.walk_ratio <= 0.0080
        assert 1.75 <= p.transition_speed_mps <= 2.3
        assert 130 <= p.run_cadence_at_transition <= 185
        assert 0.01 <= p.stride_time_cv <= 0.03
        assert p.strike_style in ("rearfoot", "midfoot", "forefoot")
        assert all(abs(a) <= 8 for a in p.mount_rpy_deg)


def test_cadence_model_follows_walk_ratio_and_running_cadence():
    for s in SUBJECTS:
        p = imu.subject_params(s)
        v = 1.25
        cad = imu.cadence_steps_per_min(p, v)
        step_length = v * 60.0 / cad
        assert step_length / cad == pytest.approx(p.walk_ratio, rel=1e-9)
        assert 95 <= cad <= 125
        vt = p.transition_speed_mps
        assert 130 <= imu.cadence_steps_per_min(p, vt) <= 185
        rise = imu.cadence_steps_per_min(p, vt + 0.5) - imu.cadence_steps_per_min(p, vt)
        assert 2 <= rise <= 9  # a few steps/min per 0.5 m/s


def test_walk_run_transition_in_the_model():
    for s in SUBJECTS:
        p = imu.subject_params(s)
        speeds = np.array(imu.SPEEDS_KMH) / 3.6
        cad = np.array([imu.cadence_steps_per_min(p, v) for v in speeds])
        stance = np.array([imu.stance_fraction(p, v) for v in speeds])
        running = np.array([imu.is_running(p, v) for v in speeds])
        assert not running[0] and running[-1]
        k = int(np.argmax(running))  # first running speed
        assert not running[:k].any() and running[k:].all()
        assert np.all(np.diff(cad) > 0)
        jumps = np.diff(cad)
        assert int(np.argmax(jumps)) == k - 1 and jumps[k - 1] > 15
        assert np.all((stance[:k] > 0.56) & (stance[:k] < 0.65))
        assert np.all((stance[k:] > 0.30) & (stance[k:] < 0.43))
        assert stance[0] > stance[k - 1] and stance[k] > stance[-1]  # falls with speed within each gait


# --------------------------------------------------------------------------- realism of the signals


@pytest.mark.parametrize("subject", SUBJECTS)
@pytest.mark.parametrize("kmh", [4.0, 6.0, 9.5])
def test_cadence_from_gyro_matches_the_model(subject, kmh):
    p, v = imu.subject_params(subject), kmh / 3.6
    rec = recording(subject, kmh, 54.0)
    est = imu.cadence_from_gyro(rec.reshape(-1, imu.WINDOW, 6))
    nominal = imu.cadence_steps_per_min(p, v)
    assert np.median(np.abs(est / nominal - 1)) < 0.03, (est, nominal)
    # Window by window against the cadence actually walked in that window (strides vary):
    # the same seed gives the same foot motion, so the heel strikes are known.
    hs = imu.foot_kinematics(p, v, 54.0, np.random.default_rng(0)).heel_strike_s
    for w, e in enumerate(est):
        inside = (hs[1:] > 6 * w) & (hs[:-1] < 6 * w + 6)
        actual = 120.0 / np.mean(np.diff(hs)[inside])
        assert abs(e / actual - 1) < 0.04, (w, e, actual)


def test_cadence_from_gyro_on_a_synthetic_signal_and_input_shapes():
    t = np.arange(imu.WINDOW) / imu.SAMPLE_RATE_HZ
    f = 0.9  # strides per second -> 108 steps/min
    pitch_rate = 300 * np.sin(2 * np.pi * f * t) + 200 * np.sin(2 * np.pi * 2 * f * t + 1) + 80 * np.sin(
        2 * np.pi * 3 * f * t)
    assert imu.cadence_from_gyro(pitch_rate) == pytest.approx(108, rel=0.01)
    window = np.zeros((imu.WINDOW, 6))
    window[:, imu.PITCH_RATE_CHANNEL] = pitch_rate
    assert imu.cadence_from_gyro(window) == pytest.approx(imu.cadence_from_gyro(pitch_rate))
    batch = np.stack([window, window])
    out = imu.cadence_from_gyro(batch)
    assert out.shape == (2,) and out[0] == pytest.approx(108, rel=0.01)


@pytest.mark.parametrize("subject", SUBJECTS)
def test_swing_pitch_rate_peaks(subject):
    p = imu.subject_params(subject)
    _, walk = swing_peaks(recording(subject, 4.5), p, 4.5 / 3.6)
    _, run = swing_peaks(recording(subject, 9.5), p, 9.5 / 3.6)
    assert len(walk) > 25 and len(run) > 40
    assert 430 <= np.median(walk) <= 620, np.median(walk)
    assert np.median(run) > 1.2 * np.median(walk)
    assert np.median(run) < 1500


@pytest.mark.parametrize("subject", SUBJECTS)
def test_foot_flat_reads_one_g_upwards(subject):
    rec = recording(subject, 4.5).astype(np.float64)
    gyr = np.linalg.norm(rec[:, 3:], axis=1)
    quiet = gyr <= np.percentile(gyr, 10)
    acc = rec[quiet, :3]
    assert np.median(np.linalg.norm(acc, axis=1)) == pytest.approx(G, rel=0.05)
    # Specific force: at rest the up (z) axis reads +1 g, not -1 g.
    assert np.median(acc[:, 2]) > 0.95 * G
    assert abs(np.median(acc[:, 0])) < 0.2 * G


@pytest.mark.parametrize("subject", SUBJECTS)
def test_walk_run_change_is_visible_in_the_signals(subject):
    p = imu.subject_params(subject)
    kmh = np.array(imu.SPEEDS_KMH)
    running = np.array([imu.is_running(p, k / 3.6) for k in kmh])
    k = int(np.argmax(running))
    walk_kmh, run_kmh = float(kmh[k - 1]), float(kmh[k])
    cad_walk = np.median(imu.cadence_from_gyro(recording(subject, walk_kmh, 24.0).reshape(-1, imu.WINDOW, 6)))
    cad_run = np.median(imu.cadence_from_gyro(recording(subject, run_kmh, 24.0).reshape(-1, imu.WINDOW, 6)))
    assert cad_run - cad_walk > 15
    flat_walk = foot_flat_fraction(recording(subject, walk_kmh, 24.0))
    flat_run = foot_flat_fraction(recording(subject, run_kmh, 24.0))
    assert flat_walk > 0.1 and flat_run < 0.6 * flat_walk, (flat_walk, flat_run)


@pytest.mark.parametrize("subject", SUBJECTS)
def test_stride_time_variability(subject):
    p = imu.subject_params(subject)
    v = 5.0 / 3.6
    times, _ = swing_peaks(recording(subject, 5.0, 90.0), p, v)
    strides = np.diff(times)
    assert len(strides) > 60
    assert np.mean(strides) == pytest.approx(120 / imu.cadence_steps_per_min(p, v), rel=0.02)
    cv = np.std(strides, ddof=1) / np.mean(strides)
    assert 0.01 <= cv <= 0.03, cv


def test_signals_come_from_a_consistent_foot_trajectory():
    p = imu.subject_params(1)
    v = 5.0 / 3.6
    kin = imu.foot_kinematics(p, v, 12.0, np.random.default_rng(3), sample_rate_hz=1000)
    inner = slice(5, -5)
    num_vel = np.gradient(kin.position, kin.t, axis=0)
    num_acc = np.gradient(kin.velocity, kin.t, axis=0)
    assert np.max(np.abs(num_vel - kin.velocity)[inner]) < 0.01
    assert np.max(np.abs(num_acc - kin.acceleration)[inner]) < 0.02 * np.max(np.abs(kin.acceleration))
    num_pitch_rate = np.gradient(kin.pitch_deg, kin.t)
    assert np.max(np.abs(num_pitch_rate - kin.angular_velocity_dps[:, 1])[inner]) < 0.05 * np.max(
        np.abs(num_pitch_rate))
    # Lab frame: the flat stance foot rides the belt backwards, the swing foot moves forwards ...
    flat = kin.stance & (np.linalg.norm(kin.angular_velocity_dps, axis=1) < 1.0)
    assert flat.mean() > 0.1
    np.testing.assert_allclose(kin.velocity[flat, 0], -v, atol=0.01)
    assert np.max(kin.velocity[~kin.stance, 0]) > 1.4 * v  # belt frame: more than 2.4 x the belt speed
    # ... and over whole strides the foot stays in place (mean velocity zero).
    hs = kin.heel_strike_s[(kin.heel_strike_s >= 0) & (kin.heel_strike_s <= kin.t[-1])]
    i0, i1 = np.searchsorted(kin.t, hs[[0, -1]])
    assert abs(kin.velocity[i0:i1, 0].mean()) < 0.02
    assert np.ptp(kin.position[:, 0]) < 1.5 * v * 120 / imu.cadence_steps_per_min(p, v)
    assert kin.position[:, 2].min() > 0  # sensor above the belt


def test_heel_strike_transient_larger_running_and_for_rearfoot_strikers():
    p = imu.subject_params(4)

    def impact_peak(params, kmh):
        # Same seed with and without the transient: the difference is the transient alone.
        with_it = imu.simulate_recording(params, kmh / 3.6, 20.0, np.random.default_rng(5))
        without = imu.simulate_recording(dataclasses.replace(params, impact_gain=0.0), kmh / 3.6, 20.0,
                                         np.random.default_rng(5))
        return np.percentile(np.linalg.norm(with_it[:, :3] - without[:, :3], axis=1), 99.5)

    rear = dataclasses.replace(p, strike_angle_run_deg=15.0)
    fore = dataclasses.replace(p, strike_angle_run_deg=-6.0)
    assert rear.strike_style == "rearfoot" and fore.strike_style == "forefoot"
    assert impact_peak(rear, 9.0) > 1.5 * impact_peak(fore, 9.0)
    assert impact_peak(rear, 9.0) > 1.5 * impact_peak(rear, 4.5)
    assert 1.0 * G < impact_peak(rear, 4.5) < 5 * G  # walking heel strike: a few g


def test_sensor_range_is_respected_and_clipping_happens():
    rec = recording(1, 9.5)
    assert np.abs(rec[:, :3]).max() <= 16 * G + 1e-3
    assert np.abs(rec[:, 3:]).max() <= 2000 + 1e-3
    small = dataclasses.replace(imu.subject_params(1), acc_range_mps2=3 * G, gyr_range_dps=300.0)
    clipped = imu.simulate_recording(small, 9.5 / 3.6, 20.0, np.random.default_rng(0))
    assert np.abs(clipped[:, :3]).max() == pytest.approx(3 * G, rel=1e-6)
    assert np.abs(clipped[:, 3:]).max() == pytest.approx(300.0, rel=1e-6)
    assert np.mean(np.abs(clipped[:, 3:]) >= 300.0 - 1e-3) > 0.01


# --------------------------------------------------------------------------- datasets


@pytest.fixture(scope="module")
def small_data() -> imu.ImuData:
    return imu.simulate_subject(1, windows_per_speed=2, speeds_kmh=(4.0, 9.5))


def test_simulate_subject_shapes_and_determinism(small_data):
    d = small_data
    assert d.X.shape == (4, imu.WINDOW, 6) and d.X.dtype == np.float32
    assert d.speed_mps.dtype == np.float32 and d.speed_mps.shape == (4,)
    assert np.issubdtype(d.subject.dtype, np.integer) and set(d.subject.tolist()) == {1}
    np.testing.assert_allclose(d.speed_mps, np.repeat([4.0 / 3.6, 9.5 / 3.6], 2), rtol=1e-6)
    assert d.sample_rate_hz == 100 and d.channels == imu.CHANNELS and d.units == imu.UNITS
    again = imu.simulate_subject(1, windows_per_speed=2, speeds_kmh=(4.0, 9.5))
    np.testing.assert_array_equal(d.X, again.X)
    other_subject = imu.simulate_subject(2, windows_per_speed=2, speeds_kmh=(4.0, 9.5))
    other_seed = imu.simulate_subject(1, windows_per_speed=2, speeds_kmh=(4.0, 9.5), seed=1)
    assert not np.allclose(d.X, other_subject.X)
    assert not np.allclose(d.X, other_seed.X)
    assert np.isfinite(d.X).all()


def test_simulate_subjects_concatenates_subjects():
    d = imu.simulate_subjects((1, 2, 4), windows_per_speed=1, speeds_kmh=(5.0, 8.0))
    assert d.X.shape == (6, imu.WINDOW, 6)
    assert d.subject.tolist() == [1, 1, 2, 2, 4, 4]
    single = imu.simulate_subject(2, windows_per_speed=1, speeds_kmh=(5.0, 8.0))
    np.testing.assert_array_equal(d.X[2:4], single.X)


def test_check_disjoint_subjects():
    imu.check_disjoint_subjects([1, 2], [4])
    imu.check_disjoint_subjects(np.array([1, 1, 2]), np.array([4, 4]))
    with pytest.raises(ValueError, match=r"\[2\]"):
        imu.check_disjoint_subjects(np.array([1, 2, 2]), np.array([2, 4]))


# --------------------------------------------------------------------------- the recordings file


def test_save_load_round_trip(tmp_path, small_data):
    path = imu.save_recordings(tmp_path / "mine.npz", small_data)
    back = imu.load_recordings(path)
    np.testing.assert_array_equal(back.X, small_data.X)
    np.testing.assert_array_equal(back.speed_mps, small_data.speed_mps)
    np.testing.assert_array_equal(back.subject, small_data.subject)
    assert back.channels == imu.CHANNELS and back.units == imu.UNITS and back.sample_rate_hz == 100
    with np.load(path) as z:
        assert set(z.files) == {"X", "speed_mps", "subject", "sample_rate_hz", "channels", "units"}


def _arrays(data: imu.ImuData) -> dict:
    return dict(X=data.X.copy(), speed_mps=data.speed_mps.copy(), subject=data.subject.copy(),
                sample_rate_hz=np.float64(100), channels=np.array(imu.CHANNELS), units=np.array(imu.UNITS))


def _gyro_to_rad(a):
    a["X"][..., 3:] = np.deg2rad(a["X"][..., 3:])


def _acc_to_g(a):
    a["X"][..., :3] /= G


def _nan(a):
    a["X"][1, 10, 4] = np.nan


BROKEN = {
    "missing keys": (lambda a: [a.pop("units"), a.pop("subject")], r"\['subject', 'units'\]"),
    "2-D X": (lambda a: a.update(X=a["X"][0]), r"\(N, 600, 6\), got \(600, 6\)"),
    "transposed X": (lambda a: a.update(X=a["X"].transpose(0, 2, 1)), r"got \(4, 6, 600\).*transpose"),
    "short windows": (lambda a: a.update(X=a["X"][:, :500]), r"\(N, 600, 6\), got \(4, 500, 6\)"),
    "length mismatch": (lambda a: a.update(speed_mps=a["speed_mps"][:3]), r"4 windows.*speed_mps of shape \(3,\)"),
    "sample rate": (lambda a: a.update(sample_rate_hz=np.float64(50)), r"50.*[Rr]esample.*100 Hz"),
    "channel names": (lambda a: a.update(channels=np.array(["ax", "ay", "az", "gx", "gy", "gz"])), r"channels must be"),
    "gyro units rad/s": (lambda a: a.update(units=np.array(imu.UNITS[:3] + ("rad/s",) * 3)), r"rad/s.*deg/s"),
    "gyro values rad/s": (_gyro_to_rad, r"look like rad/s"),
    "acc units g": (lambda a: a.update(units=np.array(("g",) * 3 + imu.UNITS[3:])), r"in g.*9\.81"),
    "acc values g": (_acc_to_g, r"in g.*9\.81"),
    "nan": (_nan, r"NaN.*1 window.*gyr_y"),
    "km/h speeds": (lambda a: a.update(speed_mps=a["speed_mps"] * 3.6), r"km/h.*3\.6"),
    "float subject ids": (lambda a: a.update(subject=a["subject"] + 0.5), r"integer"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_load_recordings_explains_what_is_wrong(tmp_path, small_data, case):
    arrays = _arrays(small_data)
    # The untouched arrays load (so each failure below comes from its one change).
    np.savez(tmp_path / "ok.npz", **arrays)
    imu.load_recordings(tmp_path / "ok.npz")
    change, pattern = BROKEN[case]
    change(arrays)
    path = tmp_path / "broken.npz"
    np.savez(path, **arrays)
    with pytest.raises(imu.ImuFormatError, match=pattern):
        imu.load_recordings(path)
    assert issubclass(imu.ImuFormatError, ValueError)


def test_load_recordings_missing_file_names_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere.npz"):
        imu.load_recordings(tmp_path / "nowhere.npz")


def test_load_recordings_truncated_file_names_the_file(tmp_path, small_data):
    path = imu.save_recordings(tmp_path / "full.npz", small_data)
    raw = path.read_bytes()
    cut = tmp_path / "half_copied.npz"
    cut.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match="half_copied.npz"):
        imu.load_recordings(cut)
    text = tmp_path / "notes.npz"
    text.write_text("speed,acc_x\n1.2,9.8\n")
    with pytest.raises(ValueError, match="notes.npz.*not a readable .npz"):
        imu.load_recordings(text)


def test_save_recordings_refuses_bad_data(tmp_path, small_data):
    bad = dataclasses.replace(small_data, speed_mps=small_data.speed_mps * 3.6)
    with pytest.raises(imu.ImuFormatError, match="km/h"):
        imu.save_recordings(tmp_path / "bad.npz", bad)
    assert not (tmp_path / "bad.npz").exists()


# --------------------------------------------------------------------------- people as people differ


POPULATION = range(1, 201)


@pytest.mark.parametrize("speed_mps", [1.25, 3.0])
def test_cadence_differs_between_people_by_about_five_percent(speed_mps):
    # van Oeveren et al. 2017: 165 +- 8 steps/min running at 3 m/s; walk ratios (Sekiya & Nagasaki 1998)
    # spread walking cadence similarly. The earlier population had 2-3 %.
    cad = np.array([imu.cadence_steps_per_min(imu.subject_params(s), speed_mps) for s in POPULATION])
    cv = cad.std(ddof=1) / cad.mean()
    assert 0.035 <= cv <= 0.07, cv
    if speed_mps == 3.0:
        assert 157 <= cad.mean() <= 173, cad.mean()
    else:
        assert 100 <= cad.mean() <= 118, cad.mean()


def test_people_differ_in_their_gait_template_not_only_in_timing():
    fields = ("foot_flat_walk", "heel_off_walk", "max_pf_walk", "mid_swing_walk", "swing_peakiness",
              "clearance_walk_m", "strike_slope_walk", "toe_off_slope_walk", "stride_jitter")
    ps = [imu.subject_params(s) for s in range(1, 31)]
    for name in fields:
        values = np.array([getattr(p, name) for p in ps])
        assert values.std() > 0.05 * abs(values.mean()), name
    lever = np.array([p.lever_arm_m for p in ps])
    mount = np.array([p.mount_rpy_deg for p in ps])
    assert lever[:, 0].std() > 0.01 and mount.std(axis=0).min() > 1.5
    # At one speed, the acceleration RMS now differs between people by far more than the 4 % it used to.
    rms = []
    for p in ps[:12]:
        rec = imu.simulate_recording(p, 1.4, 12.0, np.random.default_rng(0)).astype(np.float64)
        rms.append(np.sqrt(np.mean((np.linalg.norm(rec[:, :3], axis=1) - G) ** 2)))
    assert np.std(rms) / np.mean(rms) > 0.06, np.std(rms) / np.mean(rms)


def belt_frame_swing_peaks(kin: imu.FootKinematics, speed_mps: float) -> np.ndarray:
    """Peak forward speed of the sensor in each swing, relative to the belt (what the foot does overground)."""
    forward = kin.velocity[:, 0] + speed_mps
    peaks = []
    for to, hs in zip(kin.toe_off_s, kin.heel_strike_s[1:]):
        inside = (kin.t >= to) & (kin.t < hs)
        if to >= 0 and hs <= kin.t[-1] and inside.any():
            peaks.append(forward[inside].max())
    return np.array(peaks)


@pytest.mark.parametrize("subject", SUBJECTS)
@pytest.mark.parametrize("kmh", [4.5, 6.0])
def test_swing_foot_speed_is_about_three_times_the_walking_speed(subject, kmh):
    # The peak forward speed of a midfoot sensor in swing is about 3 x walking speed; the earlier
    # rest-to-rest swing gave 4.0-4.3 x.
    v = kmh / 3.6
    kin = imu.foot_kinematics(imu.subject_params(subject), v, 20.0, np.random.default_rng(1))
    ratio = np.median(belt_frame_swing_peaks(kin, v)) / v
    assert 2.5 <= ratio <= 3.5, ratio


def test_walking_stance_from_the_gyroscope_rule():
    # Heel strike: largest pitch rate in the 40 % of the stride after a swing peak; toe-off: largest pitch
    # rate in the 40 % before the next (Mariani et al. 2010). About 60 % in walking; 46-49 % before.
    from labkit import gait

    per_subject = []
    for s in SUBJECTS:
        p = imu.subject_params(s)
        walking = [k for k in imu.SPEEDS_KMH if not imu.is_running(p, k / 3.6)]
        fractions = [gait.stance_fraction_from_gyro(recording(s, k, 30.0)[:, imu.PITCH_RATE_CHANNEL])
                     for k in walking[::2]]
        per_subject.append(np.median(fractions))
        assert 0.54 <= per_subject[-1] <= 0.63, (s, fractions)
    assert 0.55 <= np.median(per_subject) <= 0.62, per_subject
    running = gait.stance_fraction_from_gyro(recording(1, 9.5)[:, imu.PITCH_RATE_CHANNEL])
    assert 0.25 <= running <= 0.42, running


@pytest.mark.parametrize("subject", SUBJECTS)
@pytest.mark.parametrize("kmh", [4.0, 6.5, 9.5])
def test_no_motionless_phase_before_heel_strike(subject, kmh):
    # The foot keeps moving into contact: in the last quarter of the stride before each heel strike it is
    # never still (rotation and speed relative to the belt both near zero) for more than 2 % of the stride.
    # Key frames that started and ended at rest held it still for 8-24 % of every stride.
    v = kmh / 3.6
    kin = imu.foot_kinematics(imu.subject_params(subject), v, 16.0, np.random.default_rng(2))
    still = (np.linalg.norm(kin.angular_velocity_dps, axis=1) < 20.0) & (
        np.linalg.norm(kin.velocity + [v, 0.0, 0.0], axis=1) < 0.2)
    hs = kin.heel_strike_s
    for h0, h1 in zip(hs[:-1], hs[1:]):
        if h0 < 0 or h1 > kin.t[-1]:
            continue
        late = (kin.t >= h1 - 0.25 * (h1 - h0)) & (kin.t < h1)
        assert still[late].sum() / ((h1 - h0) * imu.SAMPLE_RATE_HZ) < 0.02
    # ... while in stance the flat foot does rest (what zero-velocity integration relies on).
    assert still[kin.stance].mean() > 0.1


def test_impact_transient_carries_no_net_impulse():
    # The transient is the second derivative of a displacement that starts and ends at zero with zero
    # velocity: it neither changes the foot's velocity nor moves it. The earlier damped sine braked the foot.
    p = imu.subject_params(4)

    def wave(x):
        return imu._impact(p, np.array([x]), np.array([0.0]), np.random.default_rng(0))[0]

    end = 10 * p.impact_decay_s  # where the transient is cut off (it has died out)
    assert wave(0.0) > 0.9
    size = quad(lambda x: abs(wave(x)), 0.0, end, limit=400)[0]
    velocity_change = quad(wave, 0.0, end, limit=400)[0]
    displacement = quad(lambda x: (end - x) * wave(x), 0.0, end, limit=400)[0]
    assert abs(velocity_change) < 1e-3 * size, (velocity_change, size)
    assert abs(displacement) < 1e-3 * size * end, (displacement, size)
    # In a recording: the transient alone (with minus without) integrates to nothing over a stride.
    with_it = imu.simulate_recording(p, 2.5, 10.0, np.random.default_rng(5)).astype(np.float64)
    without = imu.simulate_recording(dataclasses.replace(p, impact_gain=0.0), 2.5, 10.0,
                                     np.random.default_rng(5)).astype(np.float64)
    diff = with_it[:, imu.PITCH_RATE_CHANNEL] - without[:, imu.PITCH_RATE_CHANNEL]  # the slap: no net rotation
    assert np.abs(diff).max() > 20.0
    assert abs(diff.sum()) < 0.1 * np.abs(diff).sum()


def test_zero_velocity_integration_recovers_the_belt_speed():
    # The simulated foot is a consistent rigid body: integrating its IMU the way a gait analyst does gives
    # the belt speed back (within a few %), at walking and at running speeds.
    from labkit import gait

    for kmh in (4.5, 9.0):
        windows = recording(2, kmh)[:4 * imu.WINDOW].reshape(-1, imu.WINDOW, 6)
        est = gait.zupt_speed(windows)
        assert np.all(np.abs(est / (kmh / 3.6) - 1) < 0.08), (kmh, est)


def test_realism_table_is_measured_and_written_between_its_markers(tmp_path):
    from labkit import imu_realism

    rows = imu_realism.measure(range(1, 3), seconds=20.0)
    assert len(rows) >= 8 and all(r["simulator"] and r["source"] and r["published"] for r in rows)
    stance = next(r for r in rows if r["quantity"].startswith("walking stance"))
    assert 50 <= float(stance["simulator"].split()[0]) <= 66
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{imu_realism.BEGIN}\nold table\n{imu_realism.END}\nrest\n")
    imu_realism.write_into(readme, imu_realism.markdown(rows, 2))
    text = readme.read_text()
    assert "old table" not in text and text.startswith("intro\n") and text.endswith("rest\n")
    assert "| walking stance, gyroscope rule" in text
    with pytest.raises(ValueError, match="no <!-- imu-realism"):
        imu_realism.write_into(tmp_path / "plain.md" if (tmp_path / "plain.md").write_text("x") else readme, "t")
