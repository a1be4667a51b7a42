"""The realism table of the IMU simulator: published ranges next to what its signals show.

Every simulator value is measured from simulated sensor signals with the tools of
:mod:`labkit.gait` (events from the gyroscope, zero-velocity integration), the way a gait
analyst would measure a real recording; model parameters are never read off directly.
``scripts/imu_realism.py`` prints the table or writes it into ``data/README.md``.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from labkit import gait, imu

BEGIN, END = "<!-- imu-realism:begin -->", "<!-- imu-realism:end -->"


def _recording(params, speed_mps, seconds, seed):
    return imu.simulate_recording(params, speed_mps, seconds, np.random.default_rng([seed, params.subject_id]))


def _spread(values, fmt="{:.0f}"):
    values = np.asarray(values, float)
    return f"{fmt.format(np.mean(values))} ± {fmt.format(np.std(values, ddof=1))}"


def measure(people=range(1, 25), seconds: float = 30.0, seed: int = 0) -> list[dict]:
    """Rows (quantity, published, source, simulator) measured over the simulated ``people``."""
    ps = [imu.subject_params(s) for s in people]
    cad_walk, cad_run, stance_walk, stance_run, swing_peak, stride_cv = [], [], [], [], [], []
    walk_len, swing_speed, transition = [], [], []
    kmh_grid = np.array(imu.SPEEDS_KMH)
    for p in ps:
        walk = _recording(p, 1.25, seconds, seed)
        run = _recording(p, 3.0, seconds, seed)
        g_walk, g_run = walk[:, imu.PITCH_RATE_CHANNEL], run[:, imu.PITCH_RATE_CHANNEL]
        windows = walk[: (len(walk) // imu.WINDOW) * imu.WINDOW].reshape(-1, imu.WINDOW, 6)
        cad_walk.append(np.median(imu.cadence_from_gyro(windows)))
        runs = run[: (len(run) // imu.WINDOW) * imu.WINDOW].reshape(-1, imu.WINDOW, 6)
        cad_run.append(np.median(imu.cadence_from_gyro(runs)))
        stance_walk.append(gait.stance_fraction_from_gyro(g_walk))
        stance_run.append(gait.stance_fraction_from_gyro(g_run))
        mid = _recording(p, 4.5 / 3.6, seconds, seed)
        peaks, _, _ = gait.gait_events(mid[:, imu.PITCH_RATE_CHANNEL])
        swing_peak.append(np.median(-mid[peaks, imu.PITCH_RATE_CHANNEL]))
        stride_cv.append(np.std(np.diff(peaks), ddof=1) / np.mean(np.diff(peaks)))
        # Stride length and peak swing speed from zero-velocity integration of the foot at 1.25 m/s.
        walk_len.append(float(np.nanmedian(gait.zupt_speed(windows))) * 120.0 / cad_walk[-1])
        swing_speed.append(np.nanmedian(gait.zupt_peak_swing_speed(windows)) / 1.25)
        # Walk-run transition: the first treadmill speed where the cadence jumps by more than 8 %.
        cad = []
        for kmh in kmh_grid:
            rec = _recording(p, kmh / 3.6, 12.0, seed)
            cad.append(np.median(imu.cadence_from_gyro(rec[: 2 * imu.WINDOW].reshape(-1, imu.WINDOW, 6))))
        jumps = np.flatnonzero(np.diff(cad) / np.array(cad[:-1]) > 0.08)
        transition.append(np.mean(kmh_grid[jumps[0]:jumps[0] + 2]) / 3.6 if len(jumps) else np.nan)
    cv = lambda x: np.std(x, ddof=1) / np.mean(x)  # noqa: E731
    return [
        dict(quantity="walking cadence at 1.25 m/s (steps/min)", published="about 105-115",
             source="walk ratio 0.0064 m/(step/min), Sekiya & Nagasaki 1998", simulator=_spread(cad_walk)),
        dict(quantity="cadence difference between people, walking at 1.25 m/s (CV)", published="about 5 %",
             source="Sekiya & Nagasaki 1998", simulator=f"{cv(cad_walk):.1%}"),
        dict(quantity="running cadence at 3 m/s (steps/min)", published="165 ± 8",
             source="van Oeveren et al. 2017, PLoS ONE", simulator=_spread(cad_run)),
        dict(quantity="walk-run transition (m/s)", published="about 1.9-2.1",
             source="Thorstensson & Roberthson 1987; Hreljac 1993", simulator=_spread(transition, "{:.2f}")),
        dict(quantity="stride length walking at 1.25 m/s (m), zero-velocity integration", published="about 1.3-1.5",
             source="Sekiya & Nagasaki 1998 (from the walk ratio)", simulator=_spread(walk_len, "{:.2f}")),
        dict(quantity="walking stance, gyroscope rule (% of stride)", published="about 60",
             source="Mariani et al. 2010, J Biomech", simulator=_spread(100 * np.array(stance_walk))),
        dict(quantity="running stance at 3 m/s, gyroscope rule (% of stride)", published="about 30-40",
             source="Nilsson & Thorstensson 1989", simulator=_spread(100 * np.array(stance_run))),
        dict(quantity="swing pitch-rate peak walking at 4.5 km/h (deg/s)", published="about 450-600",
             source="Sabatini et al. 2005; Mariani et al. 2010", simulator=_spread(swing_peak)),
        dict(quantity="peak swing foot speed / walking speed, zero-velocity integration", published="about 3",
             source="foot trajectories, Winter 1992, Phys Ther", simulator=_spread(swing_speed, "{:.2f}")),
        dict(quantity="stride-time CV within a person, 4.5 km/h", published="1-3 %",
             source="Hausdorff et al. 1995, J Appl Physiol", simulator=f"{100 * np.mean(stride_cv):.1f} %"),
    ]


def markdown(rows: list[dict], people: int) -> str:
    """The table as Markdown, with a line saying how it was measured."""
    lines = ["| quantity | published | source | simulator (mean ± SD over people) |", "|---|---|---|---|"]
    lines += [f"| {r['quantity']} | {r['published']} | {r['source']} | {r['simulator']} |" for r in rows]
    lines.append("")
    lines.append(f"Measured by `scripts/imu_realism.py` from the simulated signals of subjects 1-{people} "
                 f"(30 s per speed), with `labkit.gait`.")
    return "\n".join(lines)


def write_into(readme: Path, table: str) -> None:
    """Replace the text between the realism markers in ``readme`` by ``table``."""
    text = readme.read_text()
    if BEGIN not in text or END not in text:
        raise ValueError(f"{readme} has no {BEGIN} ... {END} block")
    block = f"{BEGIN}\n{table}\n{END}"
    readme.write_text(re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: block, text, flags=re.S))
