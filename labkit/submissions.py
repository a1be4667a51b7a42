"""Submitted notebooks: finding them, reading them safely, and building the notebook that runs.

A submission is untrusted data. It is read with a size cap, must be a valid nbformat 4 notebook,
and contributes only its *answer cells* (nbgrader ``solution`` cells), matched by ``grade_id``: the
notebook that runs is the instructor's source with those answers pasted in. The submission's own
test cells, markdown, other code and metadata never run and never count.
"""

from __future__ import annotations

import copy
import json
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from labkit.release import cell_source, student_cell

MAX_SUBMISSION_BYTES = 20_000_000
MAX_ANSWER_CHARS = 200_000


@dataclass(frozen=True)
class Submission:
    path: Path
    student: str


class InvalidSubmission(ValueError):
    """The file cannot be graded as it is; the message says why and what the student should do."""


# ---------------------------------------------------------------------------- finding submissions

def _safe_id(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._-")[:80] or "submission"


def collect_submissions(inputs, lab: str) -> list[Submission]:
    """Submissions from files and folders (searched for .ipynb), each with a unique student id.

    The id is the file name without .ipynb, or the folder's name when the file is named after a
    lab (``alice/01_cnn_autoencoder.ipynb`` is alice's). Ids are unique ignoring case, so that two
    students never share a folder, even on a case-insensitive file system.
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
    taken: set[str] = set()
    subs = []
    # absolute, not resolved: a symbolic link keeps its own name, so read_submission can refuse it
    for path in sorted(set(Path(os.path.abspath(f)) for f in files)):
        base = _safe_id(path.parent.name if lab_like.match(path.stem) or path.stem == lab else path.stem)
        student, n = base, 1
        while student.lower() in taken:
            n += 1
            student = f"{base}-{n}"
        taken.add(student.lower())
        subs.append(Submission(path, student))
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


# ---------------------------------------------------------------------------- reading one

DOWNLOAD_AGAIN = "ask the student to download it again from JupyterLab (File > Download)"


def read_submission(path: Path) -> dict:
    """The submission as a dict, or InvalidSubmission saying what is wrong with the file."""
    if path.is_symlink():  # it could point at the reference solution, or at another student's file
        raise InvalidSubmission(f"{path.name} is a symbolic link, not a notebook file; {DOWNLOAD_AGAIN} and "
                                f"hand in the file itself.")
    info = path.stat()
    if not stat.S_ISREG(info.st_mode):  # a folder, a pipe (reading it would block) or a device
        raise InvalidSubmission(f"{path.name} is not a regular file; {DOWNLOAD_AGAIN} and hand in the file itself.")
    size = info.st_size
    if size > MAX_SUBMISSION_BYTES:
        raise InvalidSubmission(f"{path.name} is {size / 1e6:.0f} MB, more than the {MAX_SUBMISSION_BYTES / 1e6:.0f} MB "
                                f"a lab notebook can be; clear its outputs (Edit > Clear Outputs of All Cells) and "
                                f"submit again.")
    try:
        nb = json.loads(path.read_bytes().decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as err:
        raise InvalidSubmission(f"{path.name} is not a readable notebook ({' '.join(str(err).split())[:160]}); "
                                f"{DOWNLOAD_AGAIN}.") from None
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise InvalidSubmission(f"{path.name} is not a notebook (it has no list of cells); {DOWNLOAD_AGAIN}.")
    if nb.get("nbformat") != 4:
        raise InvalidSubmission(f"{path.name} is in notebook format {nb.get('nbformat')!r}; only format 4 is "
                                f"accepted: open it in JupyterLab 3 or newer and save it again.")
    import nbformat

    try:
        nbformat.validate(nbformat.from_dict(nb))
    except nbformat.ValidationError as err:
        raise InvalidSubmission(f"{path.name} is not a valid notebook ({' '.join(str(err).split())[:160]}); "
                                f"{DOWNLOAD_AGAIN}.") from None
    return nb


# ---------------------------------------------------------------------------- structure

def nbgrader_meta(cell: dict) -> dict:
    meta = cell.get("metadata", {})
    meta = meta.get("nbgrader", {}) if isinstance(meta, dict) else {}
    return meta if isinstance(meta, dict) else {}


def is_answer(cell: dict) -> bool:
    return bool(nbgrader_meta(cell).get("solution")) and not nbgrader_meta(cell).get("grade")


def is_test(cell: dict) -> bool:
    meta = nbgrader_meta(cell)
    return bool(meta.get("grade")) and bool(meta.get("grade_id")) and cell.get("cell_type") == "code"


def test_cells(nb: dict) -> dict[str, dict]:
    """The source's test cells (code, nbgrader grade=True) by grade_id."""
    return {nbgrader_meta(c)["grade_id"]: c for c in nb.get("cells", []) if is_test(c)}


def wrong_lab(submission: dict, lab: str, source: dict) -> str | None:
    """Why the submission is not for this lab, or None when it is."""
    claimed = submission.get("metadata", {}).get("labkit", {})
    claimed = claimed.get("lab") if isinstance(claimed, dict) else None
    if claimed and claimed != lab:
        return f"this notebook is lab {str(claimed)[:40]}, not {lab}; grade it with --lab {str(claimed)[:2]}."
    ids = {nbgrader_meta(c).get("grade_id") for c in submission["cells"]} - {None}
    known = {nbgrader_meta(c).get("grade_id") for c in source["cells"]} - {None}
    if not claimed and ids and not ids & known:
        return f"none of this notebook's graded cells ({', '.join(sorted(map(str, ids))[:3])}...) belong to lab {lab}."
    return None


def structure_problems(source: dict, submission: dict) -> list[str]:
    """What makes the submission's grade metadata untrustworthy (empty when it is sound).

    Grade metadata may sit only on cells that the source has, with the same grade_id, cell type and
    role (answer or test); no grade_id may appear twice.
    """
    roles = {nbgrader_meta(c)["grade_id"]: c for c in source["cells"] if nbgrader_meta(c).get("grade_id")}
    problems, seen = [], set()
    for index, cell in enumerate(submission["cells"]):
        meta = nbgrader_meta(cell)
        gid = meta.get("grade_id")
        if not meta or gid is None:
            continue
        where = f"cell {index + 1} ({cell.get('cell_type', '?')})"
        if not isinstance(gid, str):
            problems.append(f"{where} has a grade_id that is not text")
            continue
        if gid in seen:
            problems.append(f"{where} repeats grade_id {gid[:60]!r}, which another cell already has")
        seen.add(gid)
        mine = roles.get(gid)
        if mine is None:
            problems.append(f"{where} carries grade_id {gid[:60]!r}, which the lab does not have")
        elif cell.get("cell_type") != mine.get("cell_type"):
            problems.append(f"{where} carries grade_id {gid!r}, which belongs to a {mine.get('cell_type')} cell")
        elif bool(meta.get("grade")) != bool(nbgrader_meta(mine).get("grade")) or (
                bool(meta.get("solution")) != bool(nbgrader_meta(mine).get("solution"))):
            problems.append(f"{where} has its grade metadata changed (grade/solution flags of {gid!r})")
    return problems


# ---------------------------------------------------------------------------- the notebook that runs

def answers(submission: dict) -> dict[str, str]:
    """The student's answer cells' text by grade_id."""
    found = {}
    for cell in submission["cells"]:
        meta = nbgrader_meta(cell)
        if is_answer(cell) and isinstance(meta.get("grade_id"), str):
            found[meta["grade_id"]] = cell_source(cell)
    return found


def notebook_to_run(source: dict, submission: dict | None, grading_cell: str) -> tuple[dict, list[str]]:
    """The instructor's source with the student's answers pasted in by grade_id, and notes.

    ``submission=None`` gives the reference run: the source as it is. ``grading_cell`` is code put
    first, before any cell of the lab, to switch the checks to observing.
    """
    nb = copy.deepcopy(source)
    notes = []
    theirs = answers(submission) if submission is not None else {}
    for index, cell in enumerate(nb["cells"]):
        if cell.get("cell_type") == "code":
            cell["outputs"], cell["execution_count"] = [], None
        if submission is None or not is_answer(cell):
            continue
        gid = nbgrader_meta(cell).get("grade_id")
        if gid in theirs:
            text = theirs[gid]
            if len(text) > MAX_ANSWER_CHARS:
                notes.append(f"answer {gid} is {len(text):,} characters long; only answers under "
                             f"{MAX_ANSWER_CHARS:,} are graded, so it was left unanswered")
                text = cell_source(student_cell(cell, gid))
            cell["source"] = text
        else:
            cell["source"] = cell_source(student_cell(cell, gid))
            notes.append(f"answer cell {gid} is missing from the submission; it was graded as unanswered")
    import nbformat

    first = nbformat.v4.new_code_cell(grading_cell)
    first.metadata["labkit"] = {"grader": True}
    nb["cells"].insert(0, dict(first))
    nb["metadata"] = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                      "language_info": {"name": "python"}, "labkit": source.get("metadata", {}).get("labkit", {})}
    return nb, notes
