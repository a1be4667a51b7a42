"""What the grader adds to each submission beyond running it (``labkit bench --grading N``).

It grades N copies of a lab's reference solution in the smoke profile, ``workers`` at a time, in
the sandbox, exactly as ``labkit grade`` would, and splits each submission's seconds into the
notebook's execution in its own fresh kernel (the kernel's start included, reported apart) and the
grader's own work: reading and checking the file, pasting the answers in, handing the job to a
worker process, scoring, the feedback page and the signed result. The reference solution's run,
which a batch needs once per lab and profile, is timed apart.
"""

from __future__ import annotations

import json
import shutil
import statistics
import time
from pathlib import Path

OVERHEAD_TARGET_SECONDS = 1.0   # the grader's own seconds per submission, on average
DEFAULT_LAB = "04_stacked_autoencoder"  # the quickest lab in the smoke profile


def summarize(results: list[dict], wall_seconds: float, workers: int, lab: str) -> dict:
    """The measurement from the batch's results (one per submission) and its wall time."""
    n = len(results)
    own = [r["seconds"] - r["execution_seconds"] for r in results]
    starts = [r["kernel_start_seconds"] for r in results if isinstance(r.get("kernel_start_seconds"), (int, float))]
    execution = sum(r["execution_seconds"] for r in results)
    full = sum(r["status"] == "graded" and r["max_score"] > 0 and r["score"] == r["max_score"] for r in results)
    mean_own = statistics.fmean(own) if own else None
    return {
        "lab": lab, "submissions": n, "workers": workers, "full_marks": full,
        "wall_seconds": round(wall_seconds, 2),
        "execution_seconds_mean": round(execution / n, 2) if n else None,
        "kernel_start_seconds_mean": round(statistics.fmean(starts), 2) if starts else None,
        "grader_seconds_mean": round(mean_own, 3) if own else None,
        "grader_seconds_max": round(max(own), 3) if own else None,
        # what the batch took beyond its submissions' execution, spread over them (worker start-up included)
        "wall_beyond_execution_per_submission": round((wall_seconds * workers - execution) / n, 2) if n else None,
        "target_seconds": OVERHEAD_TARGET_SECONDS,
        "verdict": ("met" if mean_own is not None and mean_own <= OVERHEAD_TARGET_SECONDS and full == n else
                    "MISSED" if full == n else f"invalid ({n - full} of {n} copies of the reference lost points)"),
    }


def measure(source_path: Path, lab: str, out_dir: Path, submissions: int = 20, workers: int = 2,
            profile: str = "smoke", sandbox: bool = True, data_dir: str | None = None) -> dict:
    """Grade ``submissions`` copies of the reference solution into ``out_dir`` (emptied first)."""
    from labkit import grading  # imports the notebook client: only when a measurement runs

    if submissions < 1 or workers < 1:
        raise ValueError(f"give at least one submission and one worker (got {submissions} and {workers})")
    out_dir = Path(out_dir)
    shutil.rmtree(out_dir, ignore_errors=True)
    folder = out_dir / "submissions"
    folder.mkdir(parents=True)
    text = json.dumps(json.loads(Path(source_path).read_text(encoding="utf-8")))
    for k in range(submissions):
        (folder / f"student-{k + 1:03d}.ipynb").write_text(text, encoding="utf-8")
    opts = grading.Options(lab=lab, profile=profile, sandbox=sandbox, data_dir=data_dir)
    subs = grading.collect_submissions([folder], lab)
    start = time.perf_counter()
    grader = grading.Grader(Path(source_path), out_dir / "graded", opts, workers)
    try:
        grader.prepare()  # the reference run, once per lab and profile: the batch below finds it cached
    finally:
        grader.close()
    setup = time.perf_counter() - start
    start = time.perf_counter()
    results = grading.grade_batch(subs, Path(source_path), out_dir / "graded", opts, workers=workers,
                                  progress=lambda line: None)
    return {**summarize(results, time.perf_counter() - start, workers, lab), "reference_seconds": round(setup, 2)}


def report_lines(m: dict | None) -> list[str]:
    """The benchmark report's section on grading."""
    lines = ["", "## Grading overhead", ""]
    if not m:
        return lines + ["- not measured (`--grading 0`)"]
    if "skipped" in m:
        return lines + [f"- not measured: the grader's sandbox cannot run here ({m['skipped']})"]
    return lines + [
        f"- {m['submissions']} copies of {m['lab']}'s reference solution, smoke profile, sandboxed, "
        f"{m['workers']} workers: {m['wall_seconds']:.1f} s wall; {m['full_marks']} of {m['submissions']} full marks",
        f"- each submission: {m['execution_seconds_mean']:.2f} s running in its own fresh kernel (of which "
        f"{m['kernel_start_seconds_mean']} s starting the kernel), plus the grader's own "
        f"{m['grader_seconds_mean']:.3f} s (at most {m['grader_seconds_max']:.3f} s; target at most "
        f"{m['target_seconds']:g} s): **{m['verdict']}**",
        f"- the batch's wall time beyond its submissions' execution, per submission (worker start-up and "
        f"idle workers included): {m['wall_beyond_execution_per_submission']:.2f} s",
        f"- before the batch, once per lab and profile (then cached, signed): the reference solution's run, "
        f"{m.get('reference_seconds', 0):.1f} s",
    ]
