"""Grading submitted lab notebooks, one untrusted submission at a time.

Each submission is checked (valid notebook? this lab?), gets the instructor's test cells back by
nbgrader ``grade_id`` (a submission's own copy is never trusted), runs in its own process and
working folder under a time limit and a memory cap, and is scored cell by cell as nbgrader does:
a test cell that raises scores 0, one whose last value is a number scores that number (partial
credit), any other scores its points. Records a rubric names are scored against the lab's
expected bands. Whatever happens, the submission ends with a result.json and a gradebook row.
"""

from __future__ import annotations

import copy
import datetime
import hashlib
import json
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from labkit import expected, settings
from labkit.release import cell_source, student_cell
from labkit.results import read_records

#: A submission with one of these statuses is not graded again unless asked (--redo).
FINAL_STATUSES = ("graded", "timed-out", "kernel-died", "memory-exceeded", "invalid-notebook", "wrong-lab")
RESULT_FILE = "result.json"


@dataclass(frozen=True)
class Options:
    lab: str
    profile: str = "smoke"
    timeout: int = 600            # seconds for the whole submission (and any one cell)
    memory_mb: int = 4096         # resident memory of the submission's processes, kernel included
    max_output_bytes: int = 100_000  # per output, in the stored notebook
    redo: bool = False


@dataclass(frozen=True)
class Submission:
    path: Path
    student: str


# ---------------------------------------------------------------------------- finding submissions

def _safe_id(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "submission"


def collect_submissions(inputs, lab: str) -> list[Submission]:
    """Submissions from files and folders (searched for .ipynb), each with a unique student id.

    The id is the file name without .ipynb, or the folder's name when the file is named after a
    lab (``alice/01_cnn_autoencoder.ipynb`` is alice's).
    """
    lab_like = re.compile(r"^\d\d_")
    files = []
    for item in map(Path, inputs):
        if item.is_dir():
            files += [p for p in sorted(item.rglob("*.ipynb")) if ".ipynb_checkpoints" not in p.parts]
        elif item.exists():
            files.append(item)
        else:
            raise FileNotFoundError(f"No submission at {item}: give notebook files or folders that hold them.")
    seen: dict[str, int] = {}
    subs = []
    for path in sorted(set(f.resolve() for f in files)):
        base = _safe_id(path.parent.name if lab_like.match(path.stem) or path.stem == lab else path.stem)
        seen[base] = seen.get(base, 0) + 1
        subs.append(Submission(path, base if seen[base] == 1 else f"{base}-{seen[base]}"))
    return subs


def take_shard(subs: list[Submission], spec: str | None) -> list[Submission]:
    """The K-th of N slices (``spec`` is "K/N", K from 1), by student id, so N machines share a class."""
    if not spec:
        return subs
    match = re.fullmatch(r"(\d+)/(\d+)", spec.strip())
    if not match or not 1 <= int(match.group(1)) <= int(match.group(2)):
        raise ValueError(f"--shard {spec!r} must look like K/N with 1 <= K <= N, e.g. --shard 2/8.")
    k, n = int(match.group(1)), int(match.group(2))
    ordered = sorted(subs, key=lambda s: s.student)
    return [s for i, s in enumerate(ordered) if i % n == k - 1]


# ---------------------------------------------------------------------------- notebook surgery

def graded_cells(nb: dict) -> dict[str, dict]:
    """Test cells (nbgrader grade=True) by grade_id."""
    found = {}
    for cell in nb.get("cells", []):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade") and meta.get("grade_id"):
            found[meta["grade_id"]] = cell
    return found


def _grade_ids(nb: dict) -> set[str]:
    return {c.get("metadata", {}).get("nbgrader", {}).get("grade_id") for c in nb.get("cells", [])} - {None}


def wrong_lab(source: dict, submission: dict, lab: str) -> str | None:
    """Why the submission is not for this lab, or None when it is."""
    claimed = submission.get("metadata", {}).get("labkit", {}).get("lab")
    if claimed and claimed != lab:
        return f"this notebook is lab {claimed}, not {lab}; grade it with --lab {claimed[:2]}."
    ids = _grade_ids(submission)
    if not claimed and ids and not ids & _grade_ids(source):
        return f"none of this notebook's graded cells ({', '.join(sorted(ids)[:3])}...) belong to lab {lab}."
    return None


def restore_tests(source: dict, submission: dict) -> tuple[dict, list[str]]:
    """The submission with every test cell replaced by the instructor's, deleted ones put back.

    A deleted test cell goes back after the cell that precedes it in the source (matched by cell
    id), or at the end when that cell is gone too.
    """
    nb = copy.deepcopy(submission)
    messages = []
    theirs = graded_cells(nb)
    cells = nb["cells"]
    previous_id = None
    for cell in source["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade") and meta.get("grade_id"):
            gid = meta["grade_id"]
            if gid in theirs:
                released = cell_source(student_cell(cell, gid))
                if cell_source(theirs[gid]) not in (cell_source(cell), released):
                    messages.append(f"test cell {gid} had been edited; the instructor's version was used")
                theirs[gid]["source"] = cell_source(cell)
                theirs[gid]["metadata"]["nbgrader"] = copy.deepcopy(meta)
            else:
                position = next((i + 1 for i, c in enumerate(cells) if previous_id and c.get("id") == previous_id),
                                len(cells))
                restored = copy.deepcopy(cell)
                restored["outputs"], restored["execution_count"] = [], None
                cells.insert(position, restored)
                messages.append(f"test cell {gid} was missing; the instructor's version was put back")
        previous_id = cell.get("id")
    return nb, messages


def cap_outputs(nb: dict, max_bytes: int) -> list[str]:
    """Cut every text output longer than ``max_bytes`` (in place); returns one message per cut."""
    messages = []

    def cut(text: str, where: str) -> str:
        size = len(text.encode("utf-8", "replace"))
        if size <= max_bytes:
            return text
        messages.append(f"{where}: output of {size / 1e6:.1f} MB cut to {max_bytes / 1e3:.0f} kB")
        return text[:max_bytes] + f"\n[... the grader cut {size - max_bytes} more bytes of output ...]\n"

    for index, cell in enumerate(nb.get("cells", [])):
        for out in cell.get("outputs", []):
            where = f"cell {index}"
            if "text" in out:
                out["text"] = cut("".join(out["text"]) if isinstance(out["text"], list) else out["text"], where)
            for mime, value in list(out.get("data", {}).items()):
                if isinstance(value, (str, list)) and not mime.startswith("image/"):
                    out["data"][mime] = cut("".join(value) if isinstance(value, list) else value, where)
            if "traceback" in out and sum(len(t) for t in out["traceback"]) > max_bytes:
                out["traceback"] = [cut("\n".join(out["traceback"]), where)]
    return messages


# ---------------------------------------------------------------------------- scoring

def _numeric_result(cell: dict):
    for out in cell.get("outputs", []):
        if out.get("output_type") == "execute_result":
            text = out.get("data", {}).get("text/plain", "")
            try:
                return float("".join(text) if isinstance(text, list) else text)
            except ValueError:
                return None
    return None


def score_test_cells(source: dict, executed: dict, stopped: str | None = None) -> list[dict]:
    """One row per test cell of the source: points, score, outcome and a message."""
    ran = graded_cells(executed)
    rows = []
    for gid, cell in graded_cells(source).items():
        points = float(cell["metadata"]["nbgrader"].get("points", 0))
        done = ran.get(gid, {})
        errors = [o for o in done.get("outputs", []) if o.get("output_type") == "error"]
        partial = _numeric_result(done)
        if errors:
            first = " ".join(f"{errors[0].get('ename', 'Error')}: {errors[0].get('evalue', '')}".split())
            row = (0.0, "failed", first[:300])
        elif done.get("execution_count") is None:
            row = (0.0, "not run", f"never ran: {stopped or 'the notebook stopped before this cell'}")
        elif partial is not None:
            score = min(max(partial, 0.0), points)
            outcome = "passed" if score == points else ("partial" if score > 0 else "failed")
            row = (score, outcome, "" if score == points else f"partial credit {score:g} of {points:g}")
        else:
            row = (points, "passed", "")
        rows.append({"grade_id": gid, "kind": "test", "points": points, "score": round(row[0], 4),
                     "outcome": row[1], "message": row[2]})
    return rows


def rubric_items(lab: str, profile: str) -> list[tuple[str, float, expected.Band]]:
    """(record, points, band) for each record the rubric names that has a band in this profile."""
    bands = expected.bands_for(lab, profile)
    return [(name, float(points), bands[name]) for name, points in expected.RUBRIC.get(lab, {}).items()
            if name in bands]


def score_records(lab: str, profile: str, records: dict) -> list[dict]:
    """One row per record the rubric names, scored against its band for this profile."""
    rows = []
    for name, points, band in rubric_items(lab, profile):
        rec = records.get(name)
        value = rec.get("value") if rec else None
        if rec is None:
            score, outcome, message = 0.0, "missing", f"the notebook recorded no {name}"
        elif profile == "full" and rec.get("data_kind") == "stand-in":
            score, outcome, message = 0.0, "failed", f"{name} came from stand-in data, not the real dataset"
        else:
            score = expected.band_score(value, band, points)
            outcome = "passed" if score == points else ("partial" if score > 0 else "failed")
            message = f"{name} = {value:.4g}, expected {band.low:g} to {band.high:g}" if isinstance(
                value, (int, float)) else f"{name} = {value!r} is not a number"
        rows.append({"grade_id": f"record:{name}", "kind": "record", "points": float(points),
                     "score": round(score, 4), "outcome": outcome, "message": message})
    return rows


# ---------------------------------------------------------------------------- execution

def _kill_tree(proc) -> None:
    import psutil

    try:
        family = proc.children(recursive=True) + [proc]
    except psutil.NoSuchProcess:
        return
    for p in family:
        try:
            p.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(family, timeout=10)


def execute(prepared: Path, executed: Path, workdir: Path, opts: Options, env: dict) -> dict:
    """Run the worker on one notebook, watching its wall time and memory (kernel included)."""
    import psutil

    report = workdir.parent / "execution.json"
    report.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "labkit.grading_worker", str(prepared), str(executed), "--cwd", str(workdir),
           "--timeout", str(opts.timeout), "--report", str(report)]
    start = time.perf_counter()
    log = open(workdir.parent / "grader.log", "wb")
    proc = psutil.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=str(workdir))
    status, peak = None, 0
    try:
        while proc.poll() is None:
            time.sleep(0.25)
            try:
                rss = sum(p.memory_info().rss for p in [proc] + proc.children(recursive=True))
            except psutil.NoSuchProcess:
                continue
            peak = max(peak, rss)
            if rss > opts.memory_mb * 2**20:
                status = "memory-exceeded"
            elif time.perf_counter() - start > opts.timeout + 30:  # the worker's own cell limit comes first
                status = "timed-out"
            if status:
                _kill_tree(proc)
                break
    finally:
        _kill_tree(proc)
        log.close()
    seconds = round(time.perf_counter() - start, 2)
    if status == "memory-exceeded":
        return {"status": status, "error": f"used more than {opts.memory_mb} MB of memory and was stopped",
                "execution_seconds": seconds, "peak_mb": round(peak / 2**20)}
    if status == "timed-out":
        return {"status": status, "error": f"still running after {opts.timeout} s and was stopped",
                "execution_seconds": seconds, "peak_mb": round(peak / 2**20)}
    try:
        outcome = json.loads(report.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        tail = (workdir.parent / "grader.log").read_text(errors="replace")[-300:]
        outcome = {"status": "failed", "error": f"the grading process ended without a report: {tail.strip()}",
                   "execution_seconds": seconds}
    outcome["peak_mb"] = round(peak / 2**20)
    return outcome


def _kernel_env(opts: Options) -> dict:
    env = dict(os.environ)
    env[settings.PROFILE_ENV] = opts.profile
    env.setdefault("PYTHONHASHSEED", "0")
    return env


# ---------------------------------------------------------------------------- one submission

def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _previous_result(folder: Path, digest: str, opts: Options) -> dict | None:
    try:
        old = json.loads((folder / RESULT_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    same = old.get("submission_sha256") == digest and old.get("profile") == opts.profile
    return old if same and old.get("status") in FINAL_STATUSES else None


def grade_one(sub: Submission, source: dict, out_dir: Path, opts: Options) -> dict:
    """Grade one submission into ``out_dir/<student>/``; always returns (and writes) a result."""
    start = time.perf_counter()
    folder = out_dir / sub.student
    folder.mkdir(parents=True, exist_ok=True)
    result = {"student": sub.student, "submission": str(sub.path), "lab": opts.lab, "profile": opts.profile,
              "status": "grader-error", "score": 0.0, "max_score": 0.0, "questions": [], "messages": [],
              "seconds": 0.0, "execution_seconds": 0.0, "executed_notebook": None,
              "submitted_at": None, "graded_at": None, "submission_sha256": None}
    try:
        digest = _sha256(sub.path)
        result["submission_sha256"] = digest
        result["submitted_at"] = datetime.datetime.fromtimestamp(sub.path.stat().st_mtime).isoformat(timespec="seconds")
        if not opts.redo:
            old = _previous_result(folder, digest, opts)
            if old is not None:
                return {**old, "skipped": True}
        _grade_into(result, sub, source, folder, opts)
    except Exception as err:  # the grader's own failure still gives this submission a row
        result["status"] = "grader-error"
        result["messages"].append(f"the grader failed on this submission: {type(err).__name__}: {err}")
    result["max_score"] = sum(q["points"] for q in result["questions"]) or _max_score(source, opts)
    result["score"] = round(sum(q["score"] for q in result["questions"]), 4)
    result["seconds"] = round(time.perf_counter() - start, 2)
    result["graded_at"] = datetime.datetime.now().isoformat(timespec="seconds")
    tmp = folder / (RESULT_FILE + ".tmp")
    tmp.write_text(json.dumps(result, indent=2), encoding="utf-8")
    os.replace(tmp, folder / RESULT_FILE)
    return result


def _max_score(source: dict, opts: Options) -> float:
    return sum(row["points"] for row in _zero_rows(source, opts, ""))


def _zero_rows(source: dict, opts: Options, why: str) -> list[dict]:
    rows = [{"grade_id": gid, "kind": "test", "points": float(c["metadata"]["nbgrader"].get("points", 0)),
             "score": 0.0, "outcome": "not run", "message": why} for gid, c in graded_cells(source).items()]
    rows += [{"grade_id": f"record:{name}", "kind": "record", "points": points, "score": 0.0,
              "outcome": "not run", "message": why} for name, points, _ in rubric_items(opts.lab, opts.profile)]
    return rows


def _grade_into(result: dict, sub: Submission, source: dict, folder: Path, opts: Options) -> None:
    try:
        submission = json.loads(sub.path.read_text(encoding="utf-8"))
        if not isinstance(submission, dict) or not isinstance(submission.get("cells"), list):
            raise ValueError("it has no list of cells")
    except (ValueError, UnicodeDecodeError) as err:
        result["status"] = "invalid-notebook"
        why = f"not a readable notebook ({' '.join(str(err).split())[:200]})"
        result["messages"].append(f"{sub.path.name} is {why}; ask the student to download it again "
                                  f"from JupyterLab (File > Download).")
        result["questions"] = _zero_rows(source, opts, why)
        return
    reason = wrong_lab(source, submission, opts.lab)
    if reason:
        result["status"] = "wrong-lab"
        result["messages"].append(reason)
        result["questions"] = _zero_rows(source, opts, "submitted for another lab")
        return
    prepared, messages = restore_tests(source, submission)
    for cell in prepared["cells"]:
        if cell.get("cell_type") == "code":
            cell["outputs"], cell["execution_count"] = [], None
    result["messages"] += messages
    prepared.setdefault("metadata", {})["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                                         "language": "python"}
    workdir = folder / "work"
    workdir.mkdir(exist_ok=True)
    prepared_path = folder / "prepared.ipynb"
    prepared_path.write_text(json.dumps(prepared), encoding="utf-8")
    executed_path = folder / f"{opts.lab}.ipynb"
    executed_path.unlink(missing_ok=True)
    outcome = execute(prepared_path, executed_path, workdir, opts, _kernel_env(opts))
    if outcome["status"] == "failed" and "Kernel didn't respond" in (outcome.get("error") or ""):
        result["messages"].append("the kernel did not start; tried once more")
        outcome = execute(prepared_path, executed_path, workdir, opts, _kernel_env(opts))
    result["execution_seconds"] = outcome.get("execution_seconds", 0.0)
    result["peak_memory_mb"] = outcome.get("peak_mb")
    result["status"] = "graded" if outcome["status"] == "completed" else outcome["status"]
    if outcome.get("error"):
        result["messages"].append(f"execution {outcome['status']}: {outcome['error']}")
    try:
        executed = json.loads(executed_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        executed = prepared  # nothing ran: every test cell counts as not run
    else:
        result["messages"] += cap_outputs(executed, opts.max_output_bytes)
        executed_path.write_text(json.dumps(executed, indent=1), encoding="utf-8")
        result["executed_notebook"] = str(executed_path)
    prepared_path.unlink(missing_ok=True)
    stopped = {"timed-out": f"the notebook ran past the {opts.timeout} s limit before this cell",
               "kernel-died": "the kernel died before this cell (the notebook exited or crashed)",
               "memory-exceeded": f"the notebook was stopped for using more than {opts.memory_mb} MB",
               }.get(outcome["status"], "the notebook stopped before this cell")
    result["questions"] = score_test_cells(source, executed, stopped)
    try:
        records = read_records(executed)
    except (ValueError, TypeError):
        records = {}
    result["questions"] += score_records(opts.lab, opts.profile, records)


# ---------------------------------------------------------------------------- the batch

def grade_batch(subs: list[Submission], source_path: Path, out_dir: Path, opts: Options,
                workers: int = 1, progress=print) -> list[dict]:
    """Grade every submission (``workers`` at a time); returns one result per submission, in order."""
    source = json.loads(Path(source_path).read_text(encoding="utf-8"))
    if not graded_cells(source):
        raise ValueError(f"{source_path} has no graded test cells (nbgrader grade=True); nothing to grade against.")
    out_dir.mkdir(parents=True, exist_ok=True)
    done = 0

    def one(sub):
        nonlocal done
        res = grade_one(sub, source, out_dir, opts)
        done += 1
        tag = " (already graded)" if res.get("skipped") else ""
        progress(f"[{done}/{len(subs)}] {sub.student}: {res['status']}, {res['score']:g}/{res['max_score']:g} "
                 f"in {res['seconds']:.1f} s{tag}")
        return res

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        return list(pool.map(one, subs))
