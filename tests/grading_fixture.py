"""A tiny lab without TensorFlow, its reference solution and made-up submissions, for grader tests.

Exercise 1 (2 points): ``square(x)``; its test cell has a visible check and hidden ones at inputs
only the hidden part uses. Exercise 2 (1 point): ``value``, half credit within 0.2 of 0.5 (its
true/false hidden check, forgeable, scores nothing).
"""

from __future__ import annotations

import json

import nbformat

from labkit import grading
from labkit.release import student_version

LAB = "99_fixture"
ANSWER_1 = "def square(x):\n    ### BEGIN SOLUTION\n    return x * x\n    ### END SOLUTION"
TESTS_1 = """check = Checks()
check.equal("square(3)", lambda: square(3), 9, hint="square(3) should be 9: multiply x by itself.")
### BEGIN HIDDEN TESTS
check.observe("square(-2)", lambda: square(-2))
check.observe("square(0.5)", lambda: square(0.5), rtol=1e-9)
check.observe("square(11)", lambda: square(11))
### END HIDDEN TESTS
check.result()"""
ANSWER_2 = "### BEGIN SOLUTION\nvalue = 0.5\n### END SOLUTION"
TESTS_2 = """check = Checks()
check.close("value, roughly", lambda: value, 0.5, atol=0.2, hint="value should be near 0.5.")
### BEGIN HIDDEN TESTS
check.observe("value within 0.2", lambda: value, rtol=0, atol=0.2)
check.observe("value", lambda: value)
check.observe("value is a number", lambda: isinstance(value, float))
### END HIDDEN TESTS
check.result()"""


def cell(kind, source, grade_id=None, points=None):
    made = nbformat.v4.new_code_cell(source) if kind != "md" else nbformat.v4.new_markdown_cell(source)
    if kind == "answer":
        made.metadata["nbgrader"] = {"grade": False, "grade_id": grade_id, "locked": False,
                                     "schema_version": 3, "solution": True, "task": False}
    if kind == "tests":
        made.metadata["nbgrader"] = {"grade": True, "grade_id": grade_id, "locked": True, "points": points,
                                     "schema_version": 3, "solution": False, "task": False}
    return made


def source_notebook() -> dict:
    cells = [
        cell("code", 'PROFILE = "full"'),
        cell("code", f'import labkit\nfrom labkit.exercise import Checks\nlabkit.results.set_lab("{LAB}", PROFILE)\n'
                     'labkit.results.set_data("made-up numbers", "stand-in")'),
        cell("md", "### Exercise 1 (2 points): square a number"),
        cell("answer", ANSWER_1, "q1"),
        cell("tests", TESTS_1, "q1_tests", 2),
        cell("md", "### Exercise 2 (1 point): pick the value"),
        cell("answer", ANSWER_2, "q2"),
        cell("tests", TESTS_2, "q2_tests", 1),
        cell("code", 'labkit.record("fixture_error", abs(value - 0.5))'),
    ]
    cells[0].metadata["tags"] = ["parameters"]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["labkit"] = {"lab": LAB}
    for i, made in enumerate(nb.cells):
        made.id = f"cell-{i:03d}"
    return json.loads(nbformat.writes(nb))


def answered(answer_1: str | None = None, answer_2: str | None = None, edit=None) -> dict:
    """A student's notebook: the released version with the given answers (default: the right ones)."""
    reference = source_notebook()
    nb = student_version(reference)
    right = {"q1": "def square(x):\n    return x * x", "q2": "value = 0.5"}
    given = {"q1": answer_1, "q2": answer_2}
    for cell_ in nb["cells"]:
        gid = cell_.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if gid in given:
            cell_["source"] = given[gid] if given[gid] is not None else right[gid]
    if edit:
        edit(nb)
    return nb


def cells_with(nb: dict, grade_id: str) -> list[dict]:
    return [c for c in nb["cells"] if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id]


def write_source(folder) -> str:
    path = folder / "source.ipynb"
    path.write_text(json.dumps(source_notebook()))
    return path


OPTS = grading.Options(lab=LAB, profile="smoke", timeout=60, cell_timeout=5, memory_mb=1500, max_processes=64,
                       disk_mb=256, max_output_bytes=50_000)


def scores(result: dict) -> dict[str, float]:
    return {q["grade_id"]: q["score"] for q in result["questions"]}


WRONG_SQUARE = "def square(x):\n    return x + x"
WRONG_VALUE = "value = 0.9"
HONEST_WRONG = answered(answer_1=WRONG_SQUARE, answer_2=WRONG_VALUE)


# ---------------------------------------------------------------- shared by the hostile batches

#: graded beside every hostile batch: two victims who must keep 3/3, and the score no attack may beat
HONEST = {"victim_a": answered(), "victim_b": answered(), "honest_wrong": HONEST_WRONG}


def attack(code: str) -> dict:
    """A submission whose first answer is the attack (no right square) and whose second is wrong."""
    return answered(answer_1=code + "\n" + WRONG_SQUARE, answer_2=WRONG_VALUE)


def later(code: str) -> dict:
    """A submission whose second answer (run after q1's hidden tests) is the attack."""
    return answered(answer_1=WRONG_SQUARE, answer_2=code + "\n" + WRONG_VALUE)


def assert_honest_scores(results: dict) -> None:
    """The victims keep full marks and the honest wrong answer scores nothing."""
    for name in ("victim_a", "victim_b"):
        assert results[name]["status"] == "graded" and results[name]["score"] == 3.0, results[name]
    assert results["honest_wrong"]["score"] == 0.0
"""An honest attempt with both answers wrong: the most a forgery may score."""
