"""The speed and quality targets of each lab, checked by ``labkit bench`` on a full-profile run.

A target names a recorded result (or ``lab_seconds``, the lab's wall time), a comparison and a
threshold, and says where the threshold comes from. Results on stand-in data never count.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass

_OPS = {"<=": operator.le, ">=": operator.ge}


@dataclass(frozen=True)
class Target:
    record: str
    op: str
    threshold: float
    why: str
    only_if: tuple[str, str] | None = None  # (record, value): the target applies only to that data

    def check(self, value) -> bool:
        return _OPS[self.op](value, self.threshold)


TARGETS: dict[str, list[Target]] = {
    "01_cnn_autoencoder": [
        Target("test_mse", "<=", 0.0056, "seed 001: test MSE 0.0056 with a 392-number code"),
        Target("code_size", "<=", 98, "at least 8x compression of 784 pixels"),
        Target("lab_seconds", "<=", 240, "whole lab within 4 minutes on a 2-core CPU"),
    ],
    "02_lstm_autoencoder": [
        Target("rows_test_mse", "<=", 0.0176, "seed 001: MNIST-rows LSTM autoencoder, latent 32, 5 epochs"),
        Target("sine_mse_over_noise_var", "<=", 1.2, "sine reconstruction within 1.2x the noise variance"),
        Target("lab_seconds", "<=", 300, "whole lab within 5 minutes"),
    ],
    "03_denoising_autoencoder": [
        *(Target(f"test_mse_w{w}_sd{sd}", "<=", v, f"seed 004, {w} filters, sd 0.{sd} (Fashion-MNIST)",
                 only_if=("dataset_name", "fashion_mnist"))
          for w, values in ((32, (0.0037, 0.0060, 0.0091)), (64, (0.0031, 0.0055, 0.0082)))
          for sd, v in zip((1, 2, 3), values)),
        Target("lab_seconds", "<=", 360, "whole lab within 6 minutes"),
    ],
    "04_stacked_autoencoder": [
        *(Target(f"test_mse_{name}", "<=", v, f"seed 004, {name} after 50 epochs (Fashion-MNIST)",
                 only_if=("dataset", "Fashion-MNIST"))
          for name, v in (("1layer_32", 0.01296), ("1layer_64", 0.00907), ("3layer_32", 0.0098),
                          ("3layer_64", 0.0083))),
        Target("lab_seconds", "<=", 300, "whole lab within 5 minutes"),
    ],
    "05_variational_autoencoder": [
        Target("test_neg_elbo", "<=", 150, "keras.io VAE example: 146.95 nats training loss after 30 epochs"),
        Target("lab_seconds", "<=", 360, "whole lab within 6 minutes"),
    ],
    "06_cifar10_pooling": [
        Target("test_accuracy", ">=", 0.75, "seed 003's best was 70.85% after 10 epochs (full CIFAR-10)",
               only_if=("train_size", 50000)),
        Target("lab_seconds", "<=", 900, "whole lab within 15 minutes"),
    ],
    "07_imu_lstm_regression": [
        # A new person must be hard for cadence and not trivial for hand features, as on real data.
        Target("baseline_cadence_rmse_mps", ">=", 0.20, "cadence alone on a new person: 0.2-0.35 m/s"),
        Target("baseline_cadence_rmse_mps", "<=", 0.35, "cadence alone on a new person: 0.2-0.35 m/s"),
        Target("baseline_hand_features_rmse_mps", ">=", 0.10, "four hand features, linear per gait: 0.10-0.18 m/s"),
        Target("baseline_hand_features_rmse_mps", "<=", 0.18, "four hand features, linear per gait: 0.10-0.18 m/s"),
        Target("improvement_vs_hand_features", ">=", 0.15, "the network at least 15% below the four-feature model"),
        Target("rmse_mps_more_people", "<=", 0.12, "six training people: below 0.12 m/s (published 0.11-0.13 with "
               "20+ people: Sensors 2025, 25:6335; Falbriard et al. 2021)"),
        Target("lab_seconds", "<=", 360, "whole lab within 6 minutes"),
    ],
}


def evaluate(row: dict) -> list[dict]:
    """Check one lab's run (a row of summary.json) against its targets."""
    out = []
    records = row.get("records", {})
    standin = any(r.get("standin") for r in records.values())
    for target in TARGETS.get(row["lab"], []):
        if target.only_if is not None:
            key, wanted = target.only_if
            if records.get(key, {}).get("value") != wanted:
                continue
        if target.record == "lab_seconds":
            value = row.get("seconds") if row.get("status") == "ok" else None
        else:
            value = records.get(target.record, {}).get("value")
        if value is None or isinstance(value, (list, dict, str)):
            verdict = "missing"
        elif standin and target.record != "lab_seconds":
            verdict = "stand-in data (does not count)"
        else:
            verdict = "met" if target.check(value) else "MISSED"
        out.append({"lab": row["lab"], "target": f"{target.record} {target.op} {target.threshold:g}",
                    "value": value, "verdict": verdict, "why": target.why})
    return out
