"""Grading submitted lab notebooks, each one untrusted, sealed in a sandbox, scored from outside.

How a verdict is made, and why the student cannot forge it:

1. **What runs** is the instructor's source notebook with only the student's answer cells pasted in
   by ``grade_id`` (``labkit.submissions``); the submission's own test cells, markdown and metadata
   never run. A first cell switches the lab's checks to *observing* (``labkit.exercise``).
2. **Where it runs**: the kernel, and nothing else, runs in a bubblewrap sandbox with no network,
   no view of the course, the other submissions or this output folder, and one memory and process
   cap for everything it starts (``labkit.sandbox``). The notebook client runs in a pool of worker
   processes outside it (``labkit.grading_worker``), with a time limit per cell and per notebook.
3. **What counts**: a test cell's observations (values of the student's objects), taken from its own
   outputs, and only when the cell ended with an ``ok`` reply, within its time, in a live kernel.
   They are compared here, in the grader's process, with the observations the reference solution
   produced in the same harness (run once per batch), using the tolerances the reference declared.
   A test cell scores its points times the share (by weight) of its *scoring* checks that match; a
   missing, duplicated or errored observation matches nothing. Nothing the kernel prints, raises or
   returns is taken as a verdict.
   Only hidden checks of a value score. A visible check's expected value is in the student's
   notebook, and a true/false check's is obvious, so a student could forge either without an
   answer (by patching ``Checks``); those checks give feedback, not points. The expected values of
   hidden checks never enter the kernel, so forging them takes the answer itself. Their code does
   (the kernel runs it), so a later answer can print which inputs they probe: only the values are
   secret. A reference solution whose test cell has no scoring check is refused before any
   submission runs.
4. **Recorded results** (the bands of ``labkit.expected``) come from the student's kernel too, so
   they are shown as information in the gradebook and carry no points.
5. **Results are signed** with an HMAC key kept in the output folder (which no sandbox sees); the
   gradebook and the skipping of already-graded submissions trust only results whose signature
   holds.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import math
import multiprocessing
import os
import secrets
import stat
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

from labkit import expected, settings
from labkit.exercise import OBSERVATION_MIME, matches
from labkit.grading_worker import Caps, Job
from labkit.results import MIME as RECORD_MIME
from labkit.submissions import (
    MAX_SUBMISSION_BYTES,
    InvalidSubmission,
    Submission,
    collect_submissions,
    nbgrader_meta,
    notebook_to_run,
    read_submission,
    structure_problems,
    take_shard,
    test_cells,
    wrong_lab,
)

__all__ = ["Options", "Submission", "collect_submissions", "take_shard", "grade_batch", "verify", "RESULT_FILE"]

FINAL_STATUSES = ("graded", "timed-out", "kernel-died", "memory-exceeded", "process-limit", "disk-exceeded",
                  "invalid-notebook", "wrong-lab", "rejected")
RESULT_FILE = "result.json"
KEY_FILE = ".labkit-key"
STUDENTS_DIR = "students"
GRADING_CELL = "import labkit.exercise\nlabkit.exercise.grading()"
MAX_OBSERVATIONS_PER_CELL = 200
MAX_MESSAGES = 30


@dataclass(frozen=True)
class Options:
    lab: str
    profile: str = "smoke"
    timeout: int = 600            # seconds for the whole notebook
    cell_timeout: int = 300       # seconds for any one cell; it is interrupted and the next cells run
    memory_mb: int = 4096         # everything the submission starts, kernel included
    max_processes: int = 256
    disk_mb: int = 1024           # the kernel's working folder, /tmp and /dev/shm
    max_output_bytes: int = 100_000  # per output, in the stored notebook
    data_dir: str | None = None
    sandbox: bool = True
    redo: bool = False


# ---------------------------------------------------------------------------- signatures

def signing_key(out_dir: Path) -> bytes:
    """The batch's HMAC key, made on first use, readable by the instructor only."""
    path = Path(out_dir) / KEY_FILE
    try:
        return bytes.fromhex(path.read_text().strip())
    except (OSError, ValueError):
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(secrets.token_hex(32))
    return bytes.fromhex(path.read_text().strip())


def _digest(data: dict, key: bytes) -> str:
    body = json.dumps({k: v for k, v in data.items() if k != "signature"}, sort_keys=True, default=str)
    return hmac.new(key, body.encode("utf-8"), hashlib.sha256).hexdigest()


def sign(data: dict, key: bytes) -> dict:
    return {**data, "signature": _digest(data, key)}


def verify(data, key: bytes) -> bool:
    """Whether ``data`` carries a valid signature made with ``key``."""
    return isinstance(data, dict) and isinstance(data.get("signature"), str) and hmac.compare_digest(
        data["signature"], _digest(data, key))


def _write_json(path: Path, data: dict) -> None:
    tmp = path.with_name(path.name + f".{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(json.dumps(data, indent=1, default=str), encoding="utf-8")
    os.replace(tmp, path)


# ---------------------------------------------------------------------------- running notebooks

def _labkit_dir() -> str:
    return str(Path(__file__).resolve().parent)


def job_for(nb: dict, opts: Options) -> Job:
    """The worker's job for one notebook under these options (sandbox spec, limits, environment)."""
    inside_data = "/home/student/data"
    env = {"LABKIT_PROFILE": opts.profile, "MPLBACKEND": "Agg", "PYTHONHASHSEED": "0",
           settings.DOWNLOAD_ENV: "0", "TF_CPP_MIN_LOG_LEVEL": "2"}
    if opts.data_dir:
        env[settings.DATA_DIR_ENV] = inside_data if opts.sandbox else str(opts.data_dir)
    caps = Caps(text_bytes=opts.max_output_bytes)
    if not opts.sandbox:
        env.update(PATH=os.path.dirname(sys.executable) + ":/usr/bin:/bin", LANG="C.UTF-8")
        return Job(nb, opts.cell_timeout, opts.timeout, None, env, caps)
    binds = [(_labkit_dir(), _labkit_dir())]
    if opts.data_dir:
        binds.append((str(Path(opts.data_dir).resolve()), inside_data))
    spec = {"memory_mb": opts.memory_mb, "max_processes": opts.max_processes, "disk_mb": opts.disk_mb,
            "readonly_binds": tuple(binds), "env": tuple(env.items())}
    return Job(nb, opts.cell_timeout, opts.timeout, spec, {}, caps)


class WorkerPool:
    """Pre-started grader processes (nbclient imported once); a crashed one is replaced."""

    def __init__(self, workers: int):
        self.workers = max(1, workers)
        self._lock = threading.Lock()
        self._pool = self._start()

    def _start(self):
        from labkit import grading_worker

        pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=grading_worker.warm_up)
        for future in [pool.submit(grading_worker.warm_up) for _ in range(self.workers)]:
            future.result()
        return pool

    def run(self, job: Job) -> dict:
        from labkit import grading_worker

        pool = self._pool
        try:
            return pool.submit(grading_worker.run, job).result()
        except BrokenProcessPool:
            with self._lock:
                if self._pool is pool:
                    self._pool = self._start()
            return {"status": "failed", "error": "the grading process died (the machine may be out of memory)",
                    "cells": [], "notebook": None, "execution_seconds": 0.0}

    def close(self):
        self._pool.shutdown(cancel_futures=True)


# ---------------------------------------------------------------------------- observations

def observations(cell: dict) -> tuple[dict[str, dict], set[str]]:
    """A cell's observations by name, and the names that appeared more than once (which count for nothing)."""
    found, repeated = {}, set()
    for out in cell.get("outputs", [])[: MAX_OBSERVATIONS_PER_CELL * 2]:
        payload = out.get("data", {}).get(OBSERVATION_MIME) if out.get("output_type") == "display_data" else None
        if not isinstance(payload, dict) or not isinstance(payload.get("name"), str):
            continue
        name = payload["name"]
        if name in found:
            repeated.add(name)
        found[name] = payload
    return found, repeated


def _tests_in_run(executed: dict) -> dict[str, int]:
    """Index of each test cell (by grade_id) in the notebook that ran."""
    return {nbgrader_meta(c)["grade_id"]: i for i, c in enumerate(executed.get("cells", []))
            if nbgrader_meta(c).get("grade") and nbgrader_meta(c).get("grade_id")}


CELL_ENDINGS = {
    "error": "the test cell raised an error",
    "timed-out": "the test cell ran past its time limit and was interrupted",
    "kernel-died": "the kernel died while the test cell ran",
    "not-run": "the test cell never ran",
}


def score_test(gid: str, points: float, reference: dict[str, dict], cell: dict | None, status: str,
               stopped: str = "") -> dict:
    """One test cell's row: its points times the weighted share of checks that match the reference."""
    row = {"grade_id": gid, "kind": "test", "points": points, "score": 0.0, "checks": []}
    if status != "ok" or cell is None:
        why = CELL_ENDINGS.get(status, f"the test cell ended with {status}")
        row.update(outcome="not run" if status == "not-run" else "failed",
                   message=why + (f": {stopped}" if stopped and status == "not-run" else ""))
        return row
    theirs, repeated = observations(cell)
    total = sum(scoring_weight(ref) for ref in reference.values())
    earned, failed = 0.0, []
    for name, ref in reference.items():
        mine = theirs.get(name)
        ok = (mine is not None and name not in repeated and "error" not in mine and "value" in mine
              and matches(mine["value"], ref["value"], ref["kind"], ref["rtol"], ref["atol"]))
        row["checks"].append({"name": name, "passed": ok, "hidden": ref.get("hidden", False),
                              "scoring": scoring_weight(ref) > 0})
        if ok:
            earned += scoring_weight(ref)
        else:
            failed.append(_check_message(name, ref, mine, name in repeated))
    row["score"] = round(points * earned / total, 4) if total else 0.0
    row["outcome"] = "passed" if not failed else ("partial" if earned else "failed")
    row["message"] = "; ".join(failed[:5]) + (f"; and {len(failed) - 5} more" if len(failed) > 5 else "")
    return row


def scoring_weight(ref: dict) -> float:
    """The weight a reference check carries: 0 for a check a student could forge (see the docstring)."""
    if not ref.get("hidden") or isinstance(ref.get("value"), bool):
        return 0.0
    return max(float(ref.get("weight", 1.0)), 0.0)


def _check_message(name: str, ref: dict, mine: dict | None, repeated: bool) -> str:
    if ref.get("hidden"):
        return f"a hidden check failed ({name})"
    if repeated:
        return f"{name}: observed more than once, so it counts for nothing"
    if mine is None:
        return f"{name}: not checked (the cell stopped before it)"
    if "error" in mine:
        return f"{name}: raised {str(mine['error'])[:160]}"
    hint = f" {ref['hint']}" if ref.get("hint") else ""
    return f"{name}: got {str(mine.get('value'))[:80]}, expected {str(ref['value'])[:80]}.{hint}"


def record_rows(lab: str, profile: str, executed: dict) -> list[dict]:
    """The rubric's records with their bands, as information: they come from the student's kernel."""
    records = {}
    for cell in executed.get("cells", []):
        for out in cell.get("outputs", []):
            rec = out.get("data", {}).get(RECORD_MIME)
            if isinstance(rec, dict) and isinstance(rec.get("name"), str):
                records[rec["name"]] = rec
    bands = expected.bands_for(lab, profile)
    rows = []
    for name in expected.RUBRIC.get(lab, ()):
        band = bands.get(name)
        value = records.get(name, {}).get("value")
        if band is None:
            continue
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > sys.float_info.max:
            value = math.inf if value > 0 else -math.inf  # no float holds it: formatting it would raise OverflowError
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            inside = "inside" if band.contains(value) else "outside"
            note = f"{name} = {value:.4g}, {inside} the band {band.low:g} to {band.high:g}"
        else:
            note = f"the notebook recorded no {name}"
        rows.append({"name": name, "value": value if isinstance(value, (int, float)) else None, "note": note})
    return rows


# ---------------------------------------------------------------------------- the reference run

def source_digest(source: dict, opts: Options) -> str:
    body = json.dumps([source, opts.profile, opts.data_dir, GRADING_CELL], sort_keys=True, default=str)
    return hashlib.sha256(body.encode("utf-8")).hexdigest()[:16]


def reference_observations(source: dict, out_dir: Path, opts: Options, pool: WorkerPool, key: bytes) -> dict:
    """Observations of every test cell of the reference solution, by grade_id (run once, cached signed)."""
    folder = out_dir / "reference"
    folder.mkdir(parents=True, exist_ok=True)
    cache = folder / f"{source_digest(source, opts)}.json"
    try:
        saved = json.loads(cache.read_text(encoding="utf-8"))
        if verify(saved, key):
            return saved["observations"]
    except (OSError, ValueError):
        pass
    nb, _ = notebook_to_run(source, None, GRADING_CELL)
    outcome = pool.run(job_for(nb, opts))
    executed = outcome.get("notebook") or nb
    where = _tests_in_run(executed)
    problems, found = [], {}
    for gid in test_cells(source):
        index = where.get(gid)
        status = outcome["cells"][index] if index is not None and index < len(outcome.get("cells", [])) else "not-run"
        obs, repeated = observations(executed["cells"][index]) if index is not None else ({}, set())
        bad = sorted(repeated) + sorted(n for n, o in obs.items() if "error" in o or "value" not in o)
        if status == "ok" and obs and not bad and not any(scoring_weight(o) for o in obs.values()):
            problems.append(f"{gid}: no hidden check of a value (visible and true/false checks score nothing, "
                            f"since a student could forge them); add check.observe(...) of a value")
        elif status != "ok" or not obs or bad:
            problems.append(f"{gid}: {CELL_ENDINGS.get(status, status) if status != 'ok' else ''}"
                            f"{' no checks observed' if status == 'ok' and not obs else ''}"
                            f"{' checks that failed to observe: ' + ', '.join(bad) if bad else ''}".strip())
        found[gid] = obs
    if problems:
        _write_json(folder / "failed-run.ipynb", executed)
        raise ValueError(f"the reference solution does not pass its own tests ({outcome.get('status')}: "
                         f"{outcome.get('error') or 'see below'}): " + "; ".join(problems)
                         + f". Its executed notebook is {folder / 'failed-run.ipynb'}.")
    _write_json(cache, sign({"observations": found, "made": _now()}, key))
    return found


# ---------------------------------------------------------------------------- one submission

def _now() -> str:
    return datetime.datetime.now().isoformat(timespec="seconds")


def _zero_rows(source: dict, why: str) -> list[dict]:
    return [{"grade_id": gid, "kind": "test", "points": float(nbgrader_meta(c).get("points", 0)), "score": 0.0,
             "outcome": "not run", "message": why, "checks": []} for gid, c in test_cells(source).items()]


def _previous_result(folder: Path, digest: str, opts: Options, key: bytes) -> dict | None:
    try:
        old = json.loads((folder / RESULT_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    same = verify(old, key) and old.get("submission_sha256") == digest and old.get("profile") == opts.profile
    return old if same and old.get("status") in FINAL_STATUSES else None


class Grader:
    """Grades submissions of one lab into ``out_dir`` (see the module docstring)."""

    def __init__(self, source_path: Path, out_dir: Path, opts: Options, workers: int = 1):
        self.source = json.loads(Path(source_path).read_text(encoding="utf-8"))
        if not test_cells(self.source):
            raise ValueError(f"{source_path} has no graded test cells (nbgrader grade=True); nothing to grade against.")
        self.out_dir, self.opts = Path(out_dir), opts
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.key = signing_key(self.out_dir)
        self.pool = WorkerPool(workers)
        self.reference = None

    def close(self):
        self.pool.close()

    def prepare(self) -> None:
        """Run the reference solution (or take its signed cache) before the first submission."""
        if self.reference is None:
            self.reference = reference_observations(self.source, self.out_dir, self.opts, self.pool, self.key)

    def grade(self, sub: Submission) -> dict:
        """Grade one submission into ``out_dir/students/<student>/``; always returns (and writes) a result."""
        start = time.perf_counter()
        folder = self.out_dir / STUDENTS_DIR / sub.student
        folder.mkdir(parents=True, exist_ok=True)
        result = {"student": sub.student, "submission": str(sub.path), "lab": self.opts.lab,
                  "profile": self.opts.profile, "status": "grader-error", "score": 0.0, "max_score": 0.0,
                  "questions": [], "records": [], "messages": [], "seconds": 0.0, "execution_seconds": 0.0,
                  "executed_notebook": None, "feedback": None, "submitted_at": None, "graded_at": None,
                  "submission_sha256": None, "sandbox": self.opts.sandbox}
        try:
            result["submission_sha256"] = _sha(sub.path)
            result["submitted_at"] = datetime.datetime.fromtimestamp(sub.path.stat().st_mtime).isoformat(
                timespec="seconds")
            if not self.opts.redo:
                old = _previous_result(folder, result["submission_sha256"], self.opts, self.key)
                if old is not None:
                    return {**old, "skipped": True}
            self.prepare()
            executed = self._grade_into(result, sub, folder)
        except Exception as err:  # the grader's own failure still gives this submission a row
            executed = None
            result["status"] = "grader-error"
            result["messages"].append(f"the grader failed on this submission: {type(err).__name__}: {err}")
        if not result["questions"]:
            result["questions"] = _zero_rows(self.source, "not graded")
        result["messages"] = result["messages"][:MAX_MESSAGES]
        result["max_score"] = round(sum(q["points"] for q in result["questions"]), 4)
        result["score"] = round(sum(q["score"] for q in result["questions"]), 4)
        result["seconds"] = round(time.perf_counter() - start, 2)
        result["graded_at"] = _now()
        try:
            from labkit.feedback import write_feedback

            result["feedback"] = str(write_feedback(folder, result, executed, self.source))
        except Exception as err:
            result["messages"].append(f"no feedback page: {type(err).__name__}: {err}")
        _write_json(folder / RESULT_FILE, sign(result, self.key))
        return result

    def _grade_into(self, result: dict, sub: Submission, folder: Path) -> dict | None:
        """Fill in ``result``; returns the notebook that ran (None when nothing ran)."""
        try:
            submission = read_submission(sub.path)
        except InvalidSubmission as err:
            result["status"] = "invalid-notebook"
            result["messages"].append(str(err))
            result["questions"] = _zero_rows(self.source, "the file is not a gradable notebook")
            return None
        reason = wrong_lab(submission, self.opts.lab, self.source)
        if reason:
            result["status"] = "wrong-lab"
            result["messages"].append(reason)
            result["questions"] = _zero_rows(self.source, "submitted for another lab")
            return None
        problems = structure_problems(self.source, submission)
        if problems:
            result["status"] = "rejected"
            result["messages"] += [f"{p}; fix the notebook's cells (or download a fresh copy of the lab and "
                                   f"paste the answers in) and submit again" for p in problems[:10]]
            result["questions"] = _zero_rows(self.source, "the notebook's grade metadata was tampered with")
            return None
        nb, notes = notebook_to_run(self.source, submission, GRADING_CELL)
        result["messages"] += notes
        outcome = self.pool.run(job_for(nb, self.opts))
        executed = outcome.get("notebook") or nb
        result["execution_seconds"] = outcome.get("execution_seconds", 0.0)
        result["kernel_start_seconds"] = outcome.get("kernel_start_seconds")
        result["peak_memory_mb"] = outcome.get("peak_mb")
        result["status"] = "graded" if outcome["status"] == "completed" else outcome["status"]
        if outcome.get("error"):
            result["messages"].append(f"execution {outcome['status']}: {outcome['error']}")
        if outcome.get("cut_cells"):
            result["messages"].append(f"outputs of {len(outcome['cut_cells'])} cell(s) were cut to the grader's "
                                      f"limits ({self.opts.max_output_bytes / 1e3:.0f} kB per output)")
        statuses = outcome.get("cells") or []
        slow = [i for i, status in enumerate(statuses) if status == "timed-out"]
        if slow:
            result["messages"].append(f"cell(s) {', '.join(str(i) for i in slow)} ran past the "
                                      f"{self.opts.cell_timeout} s limit per cell and were interrupted")
        where = _tests_in_run(executed)
        for gid, cell in test_cells(self.source).items():
            index = where.get(gid)
            status = statuses[index] if index is not None and index < len(statuses) else "not-run"
            ran = executed["cells"][index] if index is not None else None
            result["questions"].append(score_test(gid, float(nbgrader_meta(cell).get("points", 0)),
                                                  self.reference.get(gid, {}), ran, status,
                                                  outcome.get("error") or ""))
        result["records"] = record_rows(self.opts.lab, self.opts.profile, executed)
        path = folder / f"{self.opts.lab}.ipynb"
        _write_json(path, executed)
        result["executed_notebook"] = str(path)
        return executed


# ---------------------------------------------------------------------------- the batch

def grade_batch(subs: list[Submission], source_path: Path, out_dir: Path, opts: Options,
                workers: int = 1, progress=print) -> list[dict]:
    """Grade every submission (``workers`` at a time); returns one result per submission, in order."""
    grader = Grader(source_path, out_dir, opts, workers)
    done = 0
    lock = threading.Lock()

    def one(sub):
        nonlocal done
        res = grader.grade(sub)
        with lock:
            done += 1
            tag = " (already graded)" if res.get("skipped") else ""
            progress(f"[{done}/{len(subs)}] {sub.student}: {res['status']}, {res['score']:g}/{res['max_score']:g} "
                     f"in {res['seconds']:.1f} s{tag}")
        return res

    try:
        if any(not _previous_result(out_dir / STUDENTS_DIR / s.student, _sha(s.path), opts, grader.key)
               for s in subs) or opts.redo:
            grader.prepare()
        with ThreadPoolExecutor(max_workers=max(1, workers)) as threads:
            return list(threads.map(one, subs))
    finally:
        grader.close()


def _sha(path: Path) -> str:
    """The file's SHA-256, or "" for what read_submission refuses unread (a link, a pipe, a huge file)."""
    try:
        info = path.lstat()
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_SUBMISSION_BYTES:
            return ""  # reading a pipe would block, and a huge file would fill the grader's memory
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return ""
