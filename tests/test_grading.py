"""Grading made-up submissions of a tiny lab: every way a submission can go wrong gets its status.

The fixture lab (tests/grading_fixture.py) needs no TensorFlow, so a whole batch grades in under a
minute. Kernels run in the bubblewrap sandbox where it works; the module is skipped, with the
reason, where it does not.
"""

import csv
import json

import pytest
from grading_fixture import (
    LAB,
    OPTS,
    answered,
    cells_with,
    scores,
    source_notebook,
    write_source,
)

from labkit import cli, expected, gradebook, grading, submissions

pytestmark = pytest.mark.sandbox


def _drop_test_1(nb):
    nb["cells"] = [c for c in nb["cells"] if c not in cells_with(nb, "q1_tests")]


def _edit_test_1(nb):
    cells_with(nb, "q1_tests")[0]["source"] = "pass  # the student made the test always pass"


def _other_lab(nb):
    nb["metadata"]["labkit"] = {"lab": "01_cnn_autoencoder"}


WRONG_1 = "def square(x):\n    return x + x"
LOUD = ('import sys\nprint("x" * 3_000_000)\nprint("WARNING: tensorflow noise", file=sys.stderr)\n'
        "def square(x):\n    return x * x")
STUBBORN = ("import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
            "while True:\n    time.sleep(0.1)")
# past the 5 s cell limit with the interrupt ignored, then over the memory cap while the grader waits
LATE_HOG = ("import signal, time\nimport numpy as np\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
            "time.sleep(5.5)\nblock = np.ones(300_000_000)")
SUBMISSIONS = {
    "correct": answered(),
    "wrong": answered(answer_1=WRONG_1),
    "raises": answered(answer_1="square = undefined_name"),
    "partial": answered(answer_2="value = 0.65"),
    "slow": answered(answer_1="import time\ntime.sleep(600)"),
    "stubborn": answered(answer_1=STUBBORN),
    "exits": answered(answer_1="import os\nos._exit(1)"),
    "loud": answered(answer_1=LOUD),
    "hog": answered(answer_1="import numpy as np\nblock = np.ones(300_000_000)"),
    "late_hog": answered(answer_1=LATE_HOG),
    "deleted_test": answered(answer_1=WRONG_1, edit=_drop_test_1),
    "edited_test": answered(answer_1=WRONG_1, edit=_edit_test_1),
    "other_lab": answered(edit=_other_lab),
}


@pytest.fixture
def fixture_rubric(monkeypatch):
    monkeypatch.setitem(expected.BANDS, LAB, {"smoke": {"fixture_error": expected.Band(0.0, 0.1)}})
    monkeypatch.setitem(expected.RUBRIC, LAB, ("fixture_error",))


def _write_batch(folder):
    folder.mkdir()
    for name, nb in SUBMISSIONS.items():
        (folder / f"{name}.ipynb").write_text(json.dumps(nb))
    (folder / "not_json.ipynb").write_text('{"cells": [ this is not json')
    return write_source(folder.parent)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setitem(expected.BANDS, LAB, {"smoke": {"fixture_error": expected.Band(0.0, 0.1)}})
    mp.setitem(expected.RUBRIC, LAB, ("fixture_error",))
    root = tmp_path_factory.mktemp("grading")
    source = _write_batch(root / "submissions")
    subs = grading.collect_submissions([root / "submissions"], LAB)
    results = grading.grade_batch(subs, source, root / "out", OPTS, workers=2, progress=lambda line: None)
    gradebook.write_gradebook(root / "out")
    yield root, source, subs, {r["student"]: r for r in results}
    mp.undo()


def test_correct_submission_gets_full_marks(graded):
    r = graded[3]["correct"]
    assert r["status"] == "graded" and r["score"] == r["max_score"] == 3.0, r
    assert scores(r) == {"q1_tests": 2.0, "q2_tests": 1.0}
    assert r["messages"] == []
    assert r["records"] == [{"name": "fixture_error", "value": 0.0,
                             "note": "fixture_error = 0, inside the band 0 to 0.1"}]


def test_wrong_answer_loses_only_its_question_and_says_why(graded):
    r = graded[3]["wrong"]
    assert r["status"] == "graded" and scores(r) == {"q1_tests": 0.0, "q2_tests": 1.0}
    message = r["questions"][0]["message"]
    assert "square(3): got 6, expected 9. square(3) should be 9" in message
    assert "a hidden check failed (square(-2))" in message


def test_an_answer_that_raises_does_not_stop_later_cells(graded):
    r = graded[3]["raises"]
    assert r["status"] == "graded"
    assert scores(r) == {"q1_tests": 0.0, "q2_tests": 1.0}


def test_partial_credit_is_the_share_of_checks_matched_and_records_carry_no_points(graded):
    r = graded[3]["partial"]
    assert scores(r)["q2_tests"] == 0.5 and r["score"] == 2.5
    assert r["records"][0]["note"] == "fixture_error = 0.15, outside the band 0 to 0.1"


def test_a_slow_cell_is_interrupted_and_the_next_cells_still_run(graded):
    r = graded[3]["slow"]
    assert r["status"] == "graded" and scores(r) == {"q1_tests": 0.0, "q2_tests": 1.0}
    assert r["seconds"] < OPTS.cell_timeout + 30


def test_a_cell_that_ignores_the_interrupt_stops_the_notebook(graded):
    r = graded[3]["stubborn"]
    assert r["status"] == "timed-out" and r["score"] == 0.0 and r["max_score"] == 3.0
    assert "ignored the interrupt" in " ".join(r["messages"])
    assert all(q["outcome"] == "not run" for q in r["questions"])
    assert r["executed_notebook"] is not None  # the cells before it are kept


def test_a_submission_that_kills_its_kernel_is_marked_and_scored(graded):
    r = graded[3]["exits"]
    assert r["status"] == "kernel-died" and r["score"] == 0.0
    assert all(q["outcome"] == "not run" for q in r["questions"])


def test_megabytes_of_output_are_cut_and_stderr_noise_costs_nothing(graded):
    r = graded[3]["loud"]
    assert r["status"] == "graded" and r["score"] == r["max_score"]
    assert any("cut to the grader's limits (50 kB" in m for m in r["messages"])
    stored = json.loads(open(r["executed_notebook"]).read())
    assert max(len("".join(o.get("text", ""))) for c in stored["cells"] for o in c.get("outputs", [])) < 60_000


def test_a_memory_hog_is_stopped(graded):
    r = graded[3]["hog"]
    assert r["status"] == "memory-exceeded" and r["score"] == 0.0
    assert "1500 MB" in " ".join(r["messages"])


def test_a_kernel_stopped_for_memory_after_its_cell_timed_out_is_reported_as_a_memory_hog(graded):
    r = graded[3]["late_hog"]
    assert r["status"] == "memory-exceeded" and r["score"] == 0.0, r["messages"]
    assert "1500 MB" in " ".join(r["messages"])


def test_a_deleted_or_edited_test_cell_changes_nothing(graded):
    for name in ("deleted_test", "edited_test"):
        r = graded[3][name]
        assert r["status"] == "graded"
        assert scores(r) == {"q1_tests": 0.0, "q2_tests": 1.0}, f"{name}: the instructor's test must catch it"


def test_invalid_json_and_other_labs_get_their_own_status(graded):
    assert graded[3]["not_json"]["status"] == "invalid-notebook"
    assert "File > Download" in graded[3]["not_json"]["messages"][0]
    r = graded[3]["other_lab"]
    assert r["status"] == "wrong-lab" and "--lab 01" in r["messages"][0] and r["max_score"] == 3.0


def test_every_submission_is_in_the_gradebooks_and_report(graded):
    root, _, subs, results = graded
    with open(root / "out" / "gradebook.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert sorted(r["student_id"] for r in rows) == sorted(s.student for s in subs) == sorted(results)
    assert list(rows[0])[:11] == gradebook.NBGRADER_COLUMNS
    by_id = {r["student_id"]: r for r in rows}
    assert float(by_id["correct"]["score"]) == 3.0 and by_id["stubborn"]["status"] == "timed-out"
    with open(root / "out" / "gradebook-canvas.csv", newline="") as fh:
        canvas = list(csv.reader(fh))
    assert canvas[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", LAB]
    assert canvas[1][0] == "Points Possible" and float(canvas[1][5]) == 3.0
    assert {row[3]: float(row[5]) for row in canvas[2:]}["partial"] == 2.5
    with open(root / "out" / "gradebook-moodle.csv", newline="") as fh:
        moodle = list(csv.DictReader(fh))
    assert {row["Username"]: float(row[LAB]) for row in moodle}["wrong"] == 1.0
    page = (root / "out" / "report.html").read_text()
    assert all(f"<td>{s}</td>" in page for s in results)


def test_feedback_pages_show_scores_and_outputs_without_hidden_tests_or_solutions(graded):
    root = graded[0]
    page = (root / "out" / "students" / "wrong" / "feedback.html").read_text()
    assert "Score: <strong>1 of 3</strong>" in page and "return x + x" in page
    assert "square(3): got 6, expected 9." in page and "Hidden checks: 0 of 3 passed." in page
    for secret in ("BEGIN HIDDEN", "square(-2)", "square(11)", "return x * x", "value = 0.5\n###"):
        assert secret not in page, secret
    assert "Content-Security-Policy" in page


def test_regrading_skips_what_is_done_and_redoes_a_changed_submission(graded):
    root, source, subs, first = graded
    changed = root / "submissions" / "wrong.ipynb"
    changed.write_text(json.dumps(answered()))
    again = grading.grade_batch(subs, source, root / "out", OPTS, workers=2, progress=lambda line: None)
    by_id = {r["student"]: r for r in again}
    assert not by_id["wrong"].get("skipped") and by_id["wrong"]["score"] == 3.0
    assert all(r.get("skipped") for s, r in by_id.items() if s != "wrong")
    assert by_id["stubborn"]["status"] == first["stubborn"]["status"]


def test_redo_grades_again(tmp_path, fixture_rubric):
    source = write_source(tmp_path)
    sub = tmp_path / "bob.ipynb"
    sub.write_text(json.dumps(SUBMISSIONS["correct"]))
    subs = grading.collect_submissions([sub], LAB)
    grading.grade_batch(subs, source, tmp_path / "out", OPTS, progress=lambda line: None)
    redo = grading.Options(**{**OPTS.__dict__, "redo": True})
    (again,) = grading.grade_batch(subs, source, tmp_path / "out", redo, progress=lambda line: None)
    assert not again.get("skipped") and again["score"] == 3.0


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
    for folder in ("alice", "bob", "Bob"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "01_cnn_autoencoder.ipynb").write_text("{}")
    (tmp_path / "carol smith.ipynb").write_text("{}")
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "carol smith.ipynb").write_text("{}")
    ids = sorted(s.student for s in grading.collect_submissions([tmp_path], "01_cnn_autoencoder"))
    assert ids == ["Bob", "alice", "bob-2", "carol_smith", "carol_smith-2"]
    with pytest.raises(FileNotFoundError, match="No submission"):
        grading.collect_submissions([tmp_path / "missing.ipynb"], LAB)


def test_the_notebook_that_runs_is_the_source_with_only_the_answers_pasted_in():
    source = source_notebook()
    sub = answered(answer_1=WRONG_1, edit=_edit_test_1)
    sub["cells"].append({"cell_type": "code", "metadata": {}, "source": "print('mine')", "outputs": [],
                         "execution_count": None, "id": "extra"})
    nb, notes = submissions.notebook_to_run(source, sub, grading.GRADING_CELL)
    assert nb["cells"][0]["source"] == grading.GRADING_CELL and notes == []
    assert [c["source"] for c in nb["cells"][1:]] == [
        WRONG_1 if c["metadata"].get("nbgrader", {}).get("grade_id") == "q1" else
        "value = 0.5" if c["metadata"].get("nbgrader", {}).get("grade_id") == "q2" else c["source"]
        for c in source["cells"]]


def test_cli_grades_a_shard_and_writes_the_gradebook(tmp_path, fixture_rubric, capsys):
    source = write_source(tmp_path)
    for name in ("ann", "bob"):
        (tmp_path / f"{name}.ipynb").write_text(json.dumps(SUBMISSIONS["correct"]))
    code = cli.main(["grade", str(tmp_path / "ann.ipynb"), str(tmp_path / "bob.ipynb"), "--source", str(source),
                     "--out", str(tmp_path / "out"), "--shard", "2/2", "--timeout", "60"])
    out = capsys.readouterr().out
    assert code == 0 and "Grading 1 submission(s)" in out and "1 graded" in out
    assert (tmp_path / "out" / "students" / "bob" / "result.json").exists()
    assert not (tmp_path / "out" / "students" / "ann").exists()
    assert cli.main(["grade", str(tmp_path / "ann.ipynb"), "--lab", "42", "--out", str(tmp_path / "o")]) == 2
    assert "names no single lab" in capsys.readouterr().err
