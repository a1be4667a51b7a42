"""Executes one prepared submission with papermill; run by the grader in a process of its own.

    python -m labkit.grading_worker PREPARED.ipynb EXECUTED.ipynb --cwd DIR --timeout S --report R.json

Every cell runs even when an earlier one fails (as nbgrader's autograder does), so each test
cell gets its chance. The report says how execution ended: completed, timed-out, kernel-died or
failed, with the error and the seconds it took.
"""

from __future__ import annotations

import argparse
import json
import time


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m labkit.grading_worker")
    parser.add_argument("prepared")
    parser.add_argument("executed")
    parser.add_argument("--cwd", required=True)
    parser.add_argument("--timeout", type=int, required=True, help="seconds any one cell may run")
    parser.add_argument("--report", required=True)
    args = parser.parse_args(argv)

    import papermill
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    from labkit.kernels import IPCKernelManager

    start = time.perf_counter()
    outcome = {"status": "completed", "error": None}
    try:
        papermill.execute_notebook(
            args.prepared, args.executed, kernel_name="python3", cwd=args.cwd, progress_bar=False,
            log_output=False, execution_timeout=args.timeout, allow_errors=True,
            kernel_manager_class=IPCKernelManager,
        )
    except papermill.PapermillExecutionError:
        pass  # some cells raised; they are scored from the saved notebook
    except CellTimeoutError as err:
        outcome = {"status": "timed-out", "error": " ".join(str(err).split())[:300]}
    except DeadKernelError as err:
        outcome = {"status": "kernel-died", "error": " ".join(str(err).split())[:300]}
    except Exception as err:  # anything else still ends in a report
        outcome = {"status": "failed", "error": f"{type(err).__name__}: {' '.join(str(err).split())[:300]}"}
    outcome["execution_seconds"] = round(time.perf_counter() - start, 2)
    with open(args.report, "w", encoding="utf-8") as fh:
        json.dump(outcome, fh)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
