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

    def check(self, value) -> bool:
        return _OPS[self.op](value, self.threshold)


TARGETS: dict[str, list[Target]] = {
    "01_cnn_autoencoder": [
        Target("test_mse", "<=", 0.0056, "seed 001: test MSE 0.0056 with a 392-number code"),
        Target("code_size", "<=", 98, "at least 8x compression of 784 pixels"),
        Target("lab_seconds", "<=", 240, "whole lab within 4 minutes on a 2-core CPU"),
    ],
}


def evaluate(row: dict) -> list[dict]:
    """Check one lab's run (a row of summary.json) against its targets."""
    out = []
    records = row.get("records", {})
    standin = any(r.get("standin") for r in records.values())
    for target in TARGETS.get(row["lab"], []):
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
