"""nbgrader itself reads the labs: its student version is labkit's, and its scores agree with labkit's.

An nbgrader course folder is laid out in tmp (``source/<assignment>/<lab>.ipynb`` and an
``nbgrader_config.py``). ``nbgrader generate_assignment`` must give, cell by cell, what ``labkit
release`` gives. ``nbgrader autograde`` and ``labkit grade`` then grade the same two submissions of
lab 07 (the quickest lab) in the smoke profile: the reference solution (full marks in both) and the
unanswered student version (0 in both). A tiny assignment shows where the two graders differ by
design: nbgrader scores a test cell by whether it raises, which only the visible checks decide,
while labkit scores only the hidden checks, comparing observed values outside the kernel.
"""

from __future__ import annotations

import html
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from labkit import settings
from labkit.release import release

pytestmark = pytest.mark.notebooks

LAB = settings.NOTEBOOK_DIR / "07_imu_lstm_regression.ipynb"
ASSIGNMENT = "lab07"
DEMO, DEMO_LAB = "demo", "99_double"
BIN = Path(sys.executable).parent
# what nbgrader adds to a cell's metadata by design: its own checksums and cell type, and locks
# that JupyterLab's nbgrader extension and Jupyter honour (locked cells can be neither edited nor deleted)
NBGRADER_ADDS = {"deletable", "editable"}
NBGRADER_META_ADDS = {"checksum", "cell_type"}

CONFIG = '''\
c = get_config()
c.CourseDirectory.root = {root!r}
c.CourseDirectory.course_id = "dl-labs"
c.Execute.timeout = 300  # seconds per cell (nbgrader's default, 30, is short for a training cell)
'''


def _env() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LABKIT_")}
    # nbgrader runs `alembic` (its database migrations) from PATH
    env.update(PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}", LABKIT_PROFILE="smoke", LABKIT_ALLOW_DOWNLOAD="0")
    return env


def _nbgrader(course: Path, *args, env=None) -> subprocess.Popen:
    return subprocess.Popen([str(BIN / "nbgrader"), *args], cwd=course, env={**_env(), **(env or {})},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _labkit(*args, cwd: Path, env=None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "labkit.cli", *args], cwd=cwd, env={**_env(), **(env or {})},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _finish(proc: subprocess.Popen, what: str, timeout: int = 600) -> str:
    out, _ = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, f"{what} failed:\n{out[-5000:]}"
    return out


def _sandbox_flag() -> list[str]:
    """labkit grade sandboxes each kernel where bubblewrap works; these submissions are our own."""
    from labkit.sandbox import sandbox_problem

    return ["--no-sandbox"] if sandbox_problem() else []


def _demo_notebook(answer: str) -> nbformat.NotebookNode:
    """A one-exercise lab: a visible check (its value is printed for students) and a hidden one."""
    nb = nbformat.v4.new_notebook(metadata={"labkit": {"lab": DEMO_LAB}, "kernelspec": {
        "name": "python3", "display_name": "Python 3", "language": "python"}})
    meta = {"schema_version": 3, "locked": False, "task": False}
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Lab 99: doubling\nWrite `double(x)`, which returns twice `x`."),
        nbformat.v4.new_code_cell(answer, metadata={"nbgrader": {
            **meta, "grade_id": "double", "solution": True, "grade": False}}),
        nbformat.v4.new_code_cell(
            "import labkit\n\ncheck = labkit.Checks()\n"
            'check.equal("double(2)", lambda: double(2), 4, hint="twice 2 is 4")\n'
            "### BEGIN HIDDEN TESTS\n"
            'check.observe("double(7)", lambda: double(7))\n'
            "### END HIDDEN TESTS\n"
            "check.result()",
            metadata={"nbgrader": {**meta, "locked": True, "grade_id": "double_tests", "solution": False,
                                   "grade": True, "points": 1.0}}),
    ]
    return nb


DEMO_ANSWERS = {
    "reference": "def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION",
    # right where the student can see the check, wrong elsewhere: the cell does not raise
    "fits_the_visible_check": "def double(x):\n    return 4",
    # right everywhere but at the visible check: check.result() raises
    "misses_the_visible_check": "def double(x):\n    return 5 if x == 2 else 2 * x",
}


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """An nbgrader course with lab 07 and the demo as assignments, their student versions generated."""
    if not (BIN / "nbgrader").exists():
        pytest.skip('nbgrader is not installed (pip install -e ".[test]")')
    root = tmp_path_factory.mktemp("nbgrader_course")
    (root / "nbgrader_config.py").write_text(CONFIG.format(root=str(root)))
    (root / "source" / ASSIGNMENT).mkdir(parents=True)
    shutil.copy(LAB, root / "source" / ASSIGNMENT / LAB.name)
    (root / "source" / DEMO).mkdir(parents=True)
    nbformat.write(_demo_notebook(DEMO_ANSWERS["reference"]), root / "source" / DEMO / f"{DEMO_LAB}.ipynb")
    for assignment in (ASSIGNMENT, DEMO):
        _finish(_nbgrader(root, "generate_assignment", assignment, "--force"), f"generate_assignment {assignment}")
    release([LAB], root / "labkit_release")  # what `labkit release 07 --out ...` writes
    return root


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text())["cells"]


def _text(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def test_generate_assignment_gives_the_student_version_labkit_releases(course):
    ours = _cells(course / "labkit_release" / LAB.name)
    theirs = _cells(course / "release" / ASSIGNMENT / LAB.name)
    assert len(theirs) == len(ours)
    stubs = 0
    for k, (mine, nbg) in enumerate(zip(ours, theirs)):
        where = f"{LAB.name}, cell {k}"
        assert nbg["cell_type"] == mine["cell_type"], where
        assert _text(nbg) == _text(mine), f"{where}: nbgrader and labkit release differ"
        assert "BEGIN SOLUTION" not in _text(nbg) and "BEGIN HIDDEN TESTS" not in _text(nbg), where
        assert "MARK SCHEME" not in _text(nbg), f"{where}: the instructors' key reached nbgrader's student version"
        stubs += _text(nbg).count("raise NotImplementedError()")
        if nbg["cell_type"] == "code":
            assert nbg["outputs"] == mine["outputs"] == [], where
        extra = set(nbg["metadata"]) - set(mine["metadata"])
        assert extra <= NBGRADER_ADDS, f"{where}: nbgrader added {extra}"
        grading_meta = dict(nbg["metadata"].get("nbgrader", {}))
        assert set(grading_meta) - set(mine["metadata"].get("nbgrader", {})) <= NBGRADER_META_ADDS, where
        for key in NBGRADER_META_ADDS:
            grading_meta.pop(key, None)
        assert grading_meta == mine["metadata"].get("nbgrader", {}), where
    assert stubs >= 3, "the lab's exercises were not stubbed"
    key = _key(_cells(LAB))
    released = "\n".join(_text(c) for c in theirs)
    assert len(key) > 20 and not [line for line in key if line in released], "nbgrader's version holds key lines"
    # the key cell itself stays, as a locked task cell with only its heading and note
    assert theirs[-1]["metadata"]["nbgrader"]["task"] and _text(theirs[-1]).startswith("## Instructors' key")


def _key(cells: list[dict]) -> list[str]:
    """The lines of the lab's instructors' key that appear nowhere else in the lab."""
    text = _text(cells[-1])
    key = text[text.index("### BEGIN MARK SCHEME"):text.index("### END MARK SCHEME")]
    rest = "\n".join(_text(c) for c in cells[:-1])
    return [line.strip() for line in key.split("\n")[1:] if len(line.strip()) > 20 and line.strip() not in rest]


def _nbgrader_scores(course: Path, assignment: str, students) -> dict:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        return {s: {g.name: g.score for nb in gb.find_submission(assignment, s).notebooks for g in nb.grades}
                for s in students}


def _labkit_scores(out: Path, students) -> dict:
    results = {s: json.loads((out / "students" / s / "result.json").read_text()) for s in students}
    for s, r in results.items():
        assert r["status"] == "graded", (s, r["messages"])
    return {s: {q["grade_id"]: q["score"] for q in r["questions"]} for s, r in results.items()}


def _grade_both(course: Path, assignment: str, name: str, submissions: dict[str, Path]) -> dict:
    """Autograde with nbgrader, then grade with labkit; each one's scores by question."""
    labkit_in = course / f"labkit_{assignment}_submissions"
    for student, notebook in submissions.items():
        for target in (course / "submitted" / student / assignment / name, labkit_in / student / name):
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(notebook, target)
    out = course / f"labkit_{assignment}_grades"
    graders = {
        "nbgrader autograde": lambda: _nbgrader(course, "autograde", assignment, "--force"),
        "labkit grade": lambda: _labkit("grade", str(labkit_in), "--source", str(course / "source" / assignment / name),
                                        "--out", str(out), *_sandbox_flag(), cwd=course),
    }
    start = time.perf_counter()
    if (os.cpu_count() or 1) >= 4:  # side by side; on fewer cores one after the other is quicker
        running = {what: begin() for what, begin in graders.items()}
        for what, proc in running.items():
            _finish(proc, f"{what} {assignment}", timeout=900)
    else:
        for what, begin in graders.items():
            _finish(begin(), f"{what} {assignment}", timeout=900)
            print(f"{what} {assignment}: {time.perf_counter() - start:.0f} s after the start")
    print(f"both graders, {assignment}: {time.perf_counter() - start:.0f} s")
    return {"nbgrader": _nbgrader_scores(course, assignment, submissions),
            "labkit": _labkit_scores(out, submissions)}


def test_reference_scores_full_and_the_blank_lab_zero_with_nbgrader_and_labkit(course):
    source = course / "source" / ASSIGNMENT / LAB.name
    points = {c["metadata"]["nbgrader"]["grade_id"]: c["metadata"]["nbgrader"]["points"]
              for c in _cells(source) if c["metadata"].get("nbgrader", {}).get("grade")}
    # the key's task cell: nbgrader gives it a grade of its own, worth its 0 points, for manual grading
    tasks = {c["metadata"]["nbgrader"]["grade_id"]: c["metadata"]["nbgrader"]["points"]
             for c in _cells(source) if c["metadata"].get("nbgrader", {}).get("task")}
    assert tasks == {"l07_key": 0}
    scores = _grade_both(course, ASSIGNMENT, LAB.name, {
        "reference": source, "blank": course / "release" / ASSIGNMENT / LAB.name})
    print(json.dumps(scores, indent=1))
    expected = {"nbgrader": {**points, **dict.fromkeys(tasks, 0.0)}, "labkit": points}
    for grader, by_student in scores.items():
        assert by_student["reference"] == expected[grader], f"{grader}: the reference solution lost points"
        assert by_student["blank"] == dict.fromkeys(expected[grader], 0.0), f"{grader}: the unanswered lab earned points"
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        submission = gb.find_submission(ASSIGNMENT, "reference")
        assert submission.max_score == sum(points.values()), "the key must add nothing to nbgrader's total"
        assert submission.needs_manual_grade, "nbgrader lists a 0-point task for manual grading, as the README says"
    key = _key(_cells(source))
    for student in ("reference", "blank"):
        page = (course / f"labkit_{ASSIGNMENT}_grades" / "students" / student / "feedback.html").read_text()
        assert "MARK SCHEME" not in page and not [line for line in key if html.escape(line) in page], student


def test_the_graders_differ_where_labkit_scores_only_hidden_checks(course):
    demo = course / "source" / DEMO / f"{DEMO_LAB}.ipynb"
    submissions = {"reference": demo}
    for student in ("fits_the_visible_check", "misses_the_visible_check"):
        path = course / "answers" / student / demo.name
        path.parent.mkdir(parents=True, exist_ok=True)
        nb = nbformat.read(course / "release" / DEMO / demo.name, 4)
        nb.cells[1].source = DEMO_ANSWERS[student]
        nbformat.write(nb, path)
        submissions[student] = path
    scores = _grade_both(course, DEMO, demo.name, submissions)
    print(json.dumps(scores, indent=1))
    assert scores["nbgrader"] == {"reference": {"double_tests": 1.0},
                                  "fits_the_visible_check": {"double_tests": 1.0},   # the cell did not raise
                                  "misses_the_visible_check": {"double_tests": 0.0}}  # check.result() raised
    assert scores["labkit"] == {"reference": {"double_tests": 1.0},
                                "fits_the_visible_check": {"double_tests": 0.0},    # double(7) is not 14
                                "misses_the_visible_check": {"double_tests": 1.0}}  # double(7) is 14
