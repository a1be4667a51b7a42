"""Expected results: the band each lab's key records should fall in, per profile.

Smoke bands are loose (stand-in data, one or two epochs): they catch a lab that no longer
learns. Full bands say what a good run on the real data gets. A lab ends with
``labkit.show_expected()``, which prints the student's figures against the bands; in the smoke
profile a figure outside its band is an error, so CI fails. The gradebook shows the records
``RUBRIC`` names against the same bands, as information without points: they are computed in
the student's kernel, which the student controls.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from labkit import results
from labkit.checks import LabCheckError


@dataclass(frozen=True)
class Band:
    low: float
    high: float
    note: str = ""

    def __post_init__(self):
        if not self.low <= self.high:
            raise ValueError(f"a band needs low <= high, got [{self.low}, {self.high}].")

    def contains(self, value) -> bool:
        return _is_number(value) and self.low <= value <= self.high


def _is_number(value) -> bool:
    try:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    except OverflowError:  # an integer no float holds (10**400) is not a result in any band
        return False


# Per lab, per profile, per record. Full bands come from full-profile runs on real data
# (MNIST, the CIFAR-10 subset, the simulated IMU subjects); smoke bands from stand-in data.
BANDS: dict[str, dict[str, dict[str, Band]]] = {
    "01_cnn_autoencoder": {
        "smoke": {"test_mse": Band(0.0, 0.02, "stand-in digits, 1 epoch"),
                  "probe_accuracy_codes": Band(0.6, 1.0, "stand-in digits")},
        "full": {"test_mse": Band(0.002, 0.0045, "98-number code, 3 epochs on MNIST"),
                 "probe_accuracy_codes": Band(0.88, 1.0, "linear probe on the codes")},
    },
    "02_lstm_autoencoder": {
        "smoke": {"rows_test_mse": Band(0.0, 0.06, "stand-in digits as rows"),
                  "sine_test_mse": Band(0.0, 0.2, "few epochs: far from the noise floor")},
        "full": {"rows_test_mse": Band(0.006, 0.0176, "latent 32, MNIST rows"),
                 "sine_mse_over_noise_var": Band(0.9, 1.2, "at the noise floor is 1.0")},
    },
    "03_denoising_autoencoder": {
        "smoke": {"test_mse_w32_sd3": Band(0.0, 0.015, "stand-in digits"),
                  "test_mse_w64_sd3": Band(0.0, 0.015, "stand-in digits")},
        "full": {"test_mse_w32_sd3": Band(0.003, 0.0091, "noise sd 0.3, 32 filters"),
                 "test_mse_w64_sd3": Band(0.003, 0.0082, "noise sd 0.3, 64 filters")},
    },
    "04_stacked_autoencoder": {
        "smoke": {"test_mse_3layers_32": Band(0.0, 0.03, "stand-in digits"),
                  "test_mse_1layer_64": Band(0.0, 0.03, "stand-in digits")},
        "full": {"test_mse_3layers_32": Band(0.004, 0.0098, "128-32-128, 20 epochs"),
                 "test_mse_1layer_64": Band(0.002, 0.0091, "one layer, code 64")},
    },
    "05_variational_autoencoder": {
        "smoke": {"test_neg_elbo": Band(0.0, 260.0, "stand-in digits, nats per image")},
        "full": {"test_neg_elbo": Band(135.0, 155.0, "2-D latent, nats per image"),
                 "test_kl": Band(3.0, 10.0, "nats per image")},
    },
    "06_cifar10_pooling": {
        "smoke": {"test_accuracy": Band(0.3, 1.0, "stand-in colour images; chance is 0.1")},
        "full": {"test_accuracy": Band(0.62, 0.85, "10k CIFAR-10 images, 6 epochs")},
    },
    "07_imu_lstm_regression": {
        "smoke": {"rmse_mps": Band(0.0, 0.35, "a short run; predicting the mean gives 0.48")},
        "full": {"rmse_mps": Band(0.03, 0.16, "subject 4, trained on subjects 1+2"),
                 "improvement_vs_cadence": Band(0.1, 0.9, "fraction below the cadence baseline"),
                 "baseline_hand_features_rmse_mps": Band(0.08, 0.2, "four hand features, linear per gait"),
                 "improvement_vs_hand_features": Band(0.15, 0.9, "fraction below the four-feature model"),
                 "rmse_mps_more_people": Band(0.03, 0.15, "six training people, same number of windows")},
    },
}


def bands_for(lab: str, profile: str) -> dict[str, Band]:
    """The bands of one lab in one profile ({} when it declares none)."""
    return BANDS.get(lab, {}).get(profile, {})


def compare(lab: str, profile: str, records: dict[str, dict]) -> list[dict]:
    """One row per band: record name, value, band, verdict (inside, OUTSIDE, missing, not compared)."""
    rows = []
    for name, band in bands_for(lab, profile).items():
        rec = records.get(name)
        value = rec.get("value") if rec else None
        if rec is None or not _is_number(value):
            verdict = "missing"
        elif profile == "full" and rec.get("data_kind") == "stand-in":
            verdict = "not compared (stand-in data)"
        else:
            verdict = "inside" if band.contains(value) else "OUTSIDE"
        rows.append({"record": name, "value": value, "low": band.low, "high": band.high,
                     "note": band.note, "verdict": verdict})
    return rows


def format_rows(rows: list[dict]) -> str:
    header = ("result", "yours", "expected", "verdict")
    lines = [(r["record"], f"{r['value']:.4g}" if _is_number(r["value"]) else "-",
              f"{r['low']:g} to {r['high']:g}", r["verdict"]) for r in rows]
    widths = [max(len(x) for x in col) for col in zip(header, *lines)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join([fmt.format(*header), fmt.format(*("-" * w for w in widths))]
                     + [fmt.format(*line) for line in lines])


def show_expected(strict: bool | None = None) -> list[dict]:
    """Print this lab's recorded figures against its bands for the current profile.

    ``strict`` (default: on in the smoke profile) raises when a figure is outside its band or
    missing, so a CI run fails; a student's full run only prints the verdicts.
    """
    lab, profile = results._context["lab"], results._context["profile"]
    if lab is None:
        raise LabCheckError("show_expected() needs labkit.setup_lab(...) to have run first in this notebook.")
    rows = compare(lab, profile, results.recorded())
    if not rows:
        print(f"{lab} declares no expected results for the {profile} profile.")
        return rows
    print(f"Your results against what a good {profile}-profile run gets:")
    print(format_rows(rows))
    bad = [r for r in rows if r["verdict"] in ("OUTSIDE", "missing")]
    if strict is None:
        strict = profile == "smoke"
    if bad and strict:
        names = ", ".join(f"{r['record']} ({r['verdict'].lower()})" for r in bad)
        raise LabCheckError(f"{names}: outside the {profile} profile's expected band. Something in the lab "
                            f"no longer learns as it should; compare your cells with the reference.")
    if bad:
        print("Outside the band: check your model against the lab's text before you go on.")
    return rows


# Records the gradebook shows beside each student's score, against the band of the graded profile.
RUBRIC: dict[str, tuple[str, ...]] = {
    "01_cnn_autoencoder": ("test_mse",),
    "02_lstm_autoencoder": ("rows_test_mse",),
    "03_denoising_autoencoder": ("test_mse_w32_sd3", "test_mse_w64_sd3"),
    "04_stacked_autoencoder": ("test_mse_3layers_32",),
    "05_variational_autoencoder": ("test_neg_elbo",),
    "06_cifar10_pooling": ("test_accuracy",),
    "07_imu_lstm_regression": ("rmse_mps",),
}
