"""Grading made-up submissions of a tiny lab: every way a submission can go wrong gets its status.

The fixture lab needs no TensorFlow, so a whole batch grades in under a minute.
"""

import copy
import csv
import json

import nbformat
import pytest

from labkit import cli, expected, gradebook, grading
from labkit.release import student_version

LAB = "99_fixture"
ANSWER_1 = "def square(x):\n    ### BEGIN SOLUTION\n    return x * x\n    ### END SOLUTION"
TESTS_1 = ('assert square(3) == 9, "square(3) should be 9"\n'
           "### BEGIN HIDDEN TESTS\nassert square(-2) == 4\n### END HIDDEN TESTS")
ANSWER_2 = "### BEGIN SOLUTION\nvalue = 0.5\n### END SOLUTION"
TESTS_2 = "score = 1.0 if value == 0.5 else (0.5 if abs(value - 0.5) < 0.2 else 0.0)\nscore"


def _cell(kind, source, grade_id=None, points=None):
    cell = nbformat.v4.new_code_cell(source) if kind != "md" else nbformat.v4.new_markdown_cell(source)
    if kind == "answer":
        cell.metadata["nbgrader"] = {"grade": False, "grade_id": grade_id, "locked": False,
                                     "schema_version": 3, "solution": True, "task": False}
    if kind == "tests":
        cell.metadata["nbgrader"] = {"grade": True, "grade_id": grade_id, "locked": True, "points": points,
                                     "schema_version": 3, "solution": False, "task": False}
    return cell


def source_notebook():
    cells = [
        _cell("code", 'PROFILE = "full"'),
        _cell("code", f'import labkit\nlabkit.results.set_lab("{LAB}", PROFILE)\n'
                      'labkit.results.set_data("made-up numbers", "stand-in")'),
        _cell("md", "### Exercise 1 (2 points): square a number"),
        _cell("answer", ANSWER_1, "q1"),
        _cell("tests", TESTS_1, "q1_tests", 2),
        _cell("md", "### Exercise 2 (1 point): pick the value"),
        _cell("answer", ANSWER_2, "q2"),
        _cell("tests", TESTS_2, "q2_tests", 1),
        _cell("code", 'labkit.record("fixture_error", abs(value - 0.5))'),
    ]
    cells[0].metadata["tags"] = ["parameters"]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["labkit"] = {"lab": LAB}
    for i, cell in enumerate(nb.cells):
        cell.id = f"cell-{i:03d}"
    return nb


def _answered(answer_1=None, answer_2=None, edit=None):
    """A student's notebook: the released version with the given answers filled in."""
    nb = student_version(json.loads(nbformat.writes(source_notebook())))
    reference = source_notebook()
    for i, cell in enumerate(nb["cells"]):
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if gid == "q1":
            cell["source"] = answer_1 if answer_1 is not None else reference.cells[i].source
        if gid == "q2":
            cell["source"] = answer_2 if answer_2 is not None else reference.cells[i].source
    if edit:
        edit(nb)
    return nb


def _drop_test_1(nb):
    nb["cells"] = [c for c in nb["cells"] if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") != "q1_tests"]


def _edit_test_1(nb):
    for c in nb["cells"]:
        if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "q1_tests":
            c["source"] = "pass  # the student made the test always pass"


def _other_lab(nb):
    nb["metadata"]["labkit"] = {"lab": "01_cnn_autoencoder"}


WRONG_1 = "def square(x):\n    return x + x"
LOUD = ('import sys\nprint("x" * 3_000_000)\nprint("WARNING: tensorflow noise", file=sys.stderr)\n'
        "def square(x):\n    return x * x")
SUBMISSIONS = {
    "correct": _answered(),
    "wrong": _answered(answer_1=WRONG_1),
    "raises": _answered(answer_1="square = undefined_name"),
    "partial": _answered(answer_2="value = 0.65"),
    "hangs": _answered(answer_1="import time\ntime.sleep(600)"),
    "exits": _answered(answer_1="import os\nos._exit(1)"),
    "loud": _answered(answer_1=LOUD),
    "hog": _answered(answer_1="import numpy as np\nblock = np.ones(300_000_000)"),
    "deleted_test": _answered(answer_1=WRONG_1, edit=_drop_test_1),
    "edited_test": _answered(answer_1=WRONG_1, edit=_edit_test_1),
    "other_lab": _answered(edit=_other_lab),
}


@pytest.fixture
def fixture_rubric(monkeypatch):
    monkeypatch.setitem(expected.BANDS, LAB, {"smoke": {"fixture_error": expected.Band(0.0, 0.1)}})
    monkeypatch.setitem(expected.RUBRIC, LAB, {"fixture_error": 1})


def _write_batch(folder):
    folder.mkdir()
    for name, nb in SUBMISSIONS.items():
        (folder / f"{name}.ipynb").write_text(json.dumps(nb))
    (folder / "not_json.ipynb").write_text('{"cells": [ this is not json')
    source = folder.parent / "source.ipynb"
    nbformat.write(source_notebook(), source)
    return source


OPTS = grading.Options(lab=LAB, profile="smoke", timeout=20, memory_mb=1500, max_output_bytes=50_000)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setitem(expected.BANDS, LAB, {"smoke": {"fixture_error": expected.Band(0.0, 0.1)}})
    mp.setitem(expected.RUBRIC, LAB, {"fixture_error": 1})
    root = tmp_path_factory.mktemp("grading")
    source = _write_batch(root / "submissions")
    subs = grading.collect_submissions([root / "submissions"], LAB)
    results = grading.grade_batch(subs, source, root / "out", OPTS, workers=2, progress=lambda line: None)
    gradebook.write_gradebook(root / "out")
    yield root, source, subs, {r["student"]: r for r in results}
    mp.undo()


def _scores(result):
    return {q["grade_id"]: q["score"] for q in result["questions"]}


def test_correct_submission_gets_full_marks(graded):
    r = graded[3]["correct"]
    assert r["status"] == "graded" and r["score"] == r["max_score"] == 4.0, r
    assert _scores(r) == {"q1_tests": 2.0, "q2_tests": 1.0, "record:fixture_error": 1.0}
    assert r["messages"] == []  # a released test cell (hidden tests removed) is not an edited one


def test_wrong_answer_loses_only_its_question(graded):
    r = graded[3]["wrong"]
    assert r["status"] == "graded" and _scores(r) == {"q1_tests": 0.0, "q2_tests": 1.0, "record:fixture_error": 1.0}
    assert "square(3) should be 9" in r["questions"][0]["message"]


def test_an_answer_that_raises_does_not_stop_later_cells(graded):
    r = graded[3]["raises"]
    assert r["status"] == "graded"
    assert _scores(r)["q1_tests"] == 0.0 and _scores(r)["q2_tests"] == 1.0


def test_numeric_test_output_and_rubric_bands_give_partial_credit(graded):
    r = graded[3]["partial"]
    assert _scores(r)["q2_tests"] == 0.5
    assert _scores(r)["record:fixture_error"] == pytest.approx(0.5)  # 0.15 is half a band-width outside
    assert r["score"] == pytest.approx(3.0)


def test_a_hanging_submission_times_out_and_keeps_what_ran(graded):
    r = graded[3]["hangs"]
    assert r["status"] == "timed-out" and r["score"] == 0.0 and r["max_score"] == 4.0
    assert r["seconds"] < OPTS.timeout + 40
    assert r["executed_notebook"] is not None  # the cells before the hang are kept
    assert "ran past the 20 s limit" in r["questions"][0]["message"]


def test_a_submission_that_kills_its_kernel_is_marked_and_scored(graded):
    r = graded[3]["exits"]
    assert r["status"] == "kernel-died" and r["score"] == 0.0
    assert all(q["outcome"] == "not run" for q in r["questions"] if q["kind"] == "test")


def test_megabytes_of_output_are_cut_and_stderr_noise_costs_nothing(graded):
    r = graded[3]["loud"]
    assert r["status"] == "graded" and r["score"] == r["max_score"]
    assert any("cut to 50 kB" in m for m in r["messages"])
    stored = json.loads(open(r["executed_notebook"]).read())
    assert max(len("".join(o.get("text", ""))) for c in stored["cells"] for o in c.get("outputs", [])) < 60_000


def test_a_memory_hog_is_stopped(graded):
    r = graded[3]["hog"]
    assert r["status"] == "memory-exceeded" and r["score"] == 0.0
    assert "1500 MB" in " ".join(r["messages"])


def test_deleted_and_edited_test_cells_are_restored_from_the_source(graded):
    for name in ("deleted_test", "edited_test"):
        r = graded[3][name]
        assert r["status"] == "graded"
        assert _scores(r)["q1_tests"] == 0.0, f"{name}: the instructor's test must catch the wrong answer"
        assert any("q1_tests" in m for m in r["messages"]), r["messages"]


def test_invalid_json_and_other_labs_get_their_own_status(graded):
    assert graded[3]["not_json"]["status"] == "invalid-notebook"
    assert "File > Download" in graded[3]["not_json"]["messages"][0]
    r = graded[3]["other_lab"]
    assert r["status"] == "wrong-lab" and "--lab 01" in r["messages"][0] and r["max_score"] == 4.0


def test_every_submission_is_in_the_gradebook_and_report(graded):
    root, _, subs, results = graded
    with open(root / "out" / "gradebook.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert sorted(r["student_id"] for r in rows) == sorted(s.student for s in subs) == sorted(results)
    assert list(rows[0])[:11] == gradebook.NBGRADER_COLUMNS
    by_id = {r["student_id"]: r for r in rows}
    assert float(by_id["correct"]["score"]) == 4.0 and by_id["hangs"]["status"] == "timed-out"
    page = (root / "out" / "report.html").read_text()
    assert all(f"<td>{s}</td>" in page for s in results)


def test_regrading_skips_what_is_done_and_redoes_a_changed_submission(graded):
    root, source, subs, first = graded
    changed = root / "submissions" / "wrong.ipynb"
    changed.write_text(json.dumps(_answered()))
    again = grading.grade_batch(subs, source, root / "out", OPTS, workers=2, progress=lambda line: None)
    by_id = {r["student"]: r for r in again}
    assert not by_id["wrong"].get("skipped") and by_id["wrong"]["score"] == 4.0
    assert all(r.get("skipped") for s, r in by_id.items() if s != "wrong")
    assert by_id["hangs"]["status"] == first["hangs"]["status"]


def test_redo_grades_again(tmp_path, fixture_rubric):
    source = tmp_path / "source.ipynb"
    nbformat.write(source_notebook(), source)
    sub = tmp_path / "bob.ipynb"
    sub.write_text(json.dumps(SUBMISSIONS["correct"]))
    subs = grading.collect_submissions([sub], LAB)
    grading.grade_batch(subs, source, tmp_path / "out", OPTS, progress=lambda line: None)
    redo = grading.Options(**{**OPTS.__dict__, "redo": True})
    (again,) = grading.grade_batch(subs, source, tmp_path / "out", redo, progress=lambda line: None)
    assert not again.get("skipped") and again["score"] == 4.0


def test_shards_split_a_class_without_overlap_or_gaps(tmp_path):
    for name in ("ann", "bob", "cat", "dan", "eve"):
        (tmp_path / f"{name}.ipynb").write_text("{}")
    subs = grading.collect_submissions([tmp_path], LAB)
    shards = [grading.take_shard(subs, f"{k}/3") for k in (1, 2, 3)]
    names = [s.student for shard in shards for s in shard]
    assert sorted(names) == ["ann", "bob", "cat", "dan", "eve"] and len(set(names)) == 5
    for bad in ("0/3", "4/3", "two", "1/0"):
        with pytest.raises(ValueError, match="K/N"):
            grading.take_shard(subs, bad)


def test_student_ids_come_from_file_or_folder_and_stay_unique(tmp_path):
    for folder in ("alice", "bob"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "01_cnn_autoencoder.ipynb").write_text("{}")
    (tmp_path / "carol smith.ipynb").write_text("{}")
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "carol smith.ipynb").write_text("{}")
    ids = sorted(s.student for s in grading.collect_submissions([tmp_path], "01_cnn_autoencoder"))
    assert ids == ["alice", "bob", "carol_smith", "carol_smith-2"]
    with pytest.raises(FileNotFoundError, match="No submission"):
        grading.collect_submissions([tmp_path / "missing.ipynb"], LAB)


def test_restore_puts_a_deleted_test_back_in_place():
    source = json.loads(nbformat.writes(source_notebook()))
    sub = copy.deepcopy(source)
    _drop_test_1(sub)
    restored, messages = grading.restore_tests(source, sub)
    ids = [c.get("metadata", {}).get("nbgrader", {}).get("grade_id") for c in restored["cells"]]
    assert ids.index("q1_tests") == ids.index("q1") + 1 and "missing" in messages[0]


def test_cli_grades_a_shard_and_writes_the_gradebook(tmp_path, fixture_rubric, capsys):
    source = tmp_path / "source.ipynb"
    nbformat.write(source_notebook(), source)
    for name in ("ann", "bob"):
        (tmp_path / f"{name}.ipynb").write_text(json.dumps(SUBMISSIONS["correct"]))
    code = cli.main(["grade", str(tmp_path / "ann.ipynb"), str(tmp_path / "bob.ipynb"), "--source", str(source),
                     "--out", str(tmp_path / "out"), "--shard", "2/2", "--timeout", "60"])
    out = capsys.readouterr().out
    assert code == 0 and "Grading 1 submission(s)" in out and "1 graded" in out
    assert (tmp_path / "out" / "bob" / "result.json").exists() and not (tmp_path / "out" / "ann").exists()
    assert cli.main(["grade", str(tmp_path / "ann.ipynb"), "--lab", "42", "--out", str(tmp_path / "o")]) == 2
    assert "names no single lab" in capsys.readouterr().err
