"""Print the realism table of lab 07's IMU simulator, or write it into data/README.md (--write).

    python scripts/imu_realism.py [--people 24] [--write]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from labkit import imu_realism

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=24, help="simulated subjects 1..N to measure")
    parser.add_argument("--write", action="store_true", help="replace the table in data/README.md")
    args = parser.parse_args()
    table = imu_realism.markdown(imu_realism.measure(range(1, args.people + 1)), args.people)
    print(table)
    if args.write:
        imu_realism.write_into(ROOT / "data" / "README.md", table)
        print(f"\nwritten into {ROOT / 'data' / 'README.md'}")


if __name__ == "__main__":
    main()
