"""Student versions: solutions stubbed, hidden tests gone, outputs cleared, everything else kept."""

import copy
import json
import re

import nbformat
import pytest

from labkit import cli, notebooks
from labkit.release import (
    BEGIN_HIDDEN,
    BEGIN_KEY,
    BEGIN_SOLUTION,
    END_KEY,
    ReleaseError,
    cell_source,
    release,
    student_cell,
)


def _code(source, outputs=()):
    cell = nbformat.v4.new_code_cell(source)
    cell.outputs = [nbformat.v4.new_output("stream", text=t) for t in outputs]
    cell.execution_count = 3 if outputs else None
    return cell


def test_solution_region_becomes_a_stub_at_its_indentation():
    cell = student_cell(_code("def f(x):\n    y = 2\n    ### BEGIN SOLUTION\n    return x * y\n    ### END SOLUTION\n"
                              "z = f(1)"), "c")
    assert cell["source"] == ("def f(x):\n    y = 2\n    # YOUR CODE HERE\n    raise NotImplementedError()\n"
                              "z = f(1)")


def test_hidden_tests_are_removed_and_visible_ones_kept():
    cell = student_cell(_code("assert f(1) == 2\n### BEGIN HIDDEN TESTS\nassert f(2) == 4\n### END HIDDEN TESTS\n"
                              "print('ok')"), "c")
    assert cell["source"] == "assert f(1) == 2\nprint('ok')"


def test_markdown_answers_and_outputs():
    md = student_cell(nbformat.v4.new_markdown_cell("Why?\n### BEGIN SOLUTION\nBecause.\n### END SOLUTION"), "m")
    assert md["source"] == "Why?\nYOUR ANSWER HERE"
    code = student_cell(_code("x = 1", outputs=["1\n"]), "c")
    assert code["outputs"] == [] and code["execution_count"] is None


@pytest.mark.parametrize("source, message", [
    ("### BEGIN SOLUTION\nx = 1", "never closed"),
    ("x = 1\n### END SOLUTION", "without"),
    ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION", "again before"),
    ("### BEGIN HIDDEN TESTS\nassert x", "never closed"),
])
def test_broken_markers_say_which_cell_and_line(source, message):
    with pytest.raises(ReleaseError, match=message) as err:
        student_cell(_code(source), "lab 01, cell 4")
    assert "lab 01, cell 4" in str(err.value)


def test_release_of_every_lab(tmp_path):
    written = release(notebooks.lab_paths(), tmp_path)
    assert [p.name for p in written] == [p.name for p in notebooks.lab_paths()]
    for src, out in zip(notebooks.lab_paths(), written):
        original, student = json.loads(src.read_text()), json.loads(out.read_text())
        assert len(student["cells"]) == len(original["cells"]) and student["metadata"] == original["metadata"]
        text = "\n".join("".join(c["source"]) for c in student["cells"])
        assert BEGIN_SOLUTION not in text and BEGIN_HIDDEN not in text
        assert text.count("raise NotImplementedError()") >= 3, f"{src.name} needs at least three exercises"
        graded = [c for c in student["cells"] if c.get("metadata", {}).get("nbgrader", {}).get("grade")]
        assert len(graded) >= 3 and all(c["metadata"]["nbgrader"]["points"] > 0 for c in graded)
        assert all(not c.get("outputs") for c in student["cells"] if c["cell_type"] == "code")
        assert [c["id"] for c in student["cells"]] == [c["id"] for c in original["cells"]]


def test_release_refuses_a_notebook_without_exercises(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[_code("x = 1")])
    nbformat.write(nb, tmp_path / "plain.ipynb")
    with pytest.raises(ReleaseError, match="nothing for a student"):
        release([tmp_path / "plain.ipynb"], tmp_path / "out")
    assert cli.main(["release", str(tmp_path / "plain.ipynb"), "--out", str(tmp_path / "out")]) == 2


def _first_solution_index(nb):
    return next(i for i, c in enumerate(nb["cells"]) if c.get("metadata", {}).get("nbgrader", {}).get("solution"))


@pytest.mark.notebooks
@pytest.mark.parametrize("lab", notebooks.lab_paths(), ids=[p.stem for p in notebooks.lab_paths()])
def test_released_lab_runs_up_to_its_first_exercise(lab, tmp_path, monkeypatch):
    import papermill

    monkeypatch.setenv("LABKIT_PROFILE", "smoke")
    (student,) = release([lab], tmp_path)
    with pytest.raises(papermill.PapermillExecutionError) as err:
        papermill.execute_notebook(str(student), str(tmp_path / "ran.ipynb"), kernel_name="python3",
                                   cwd=str(lab.parent), progress_bar=False, execution_timeout=300)
    assert err.value.ename == "NotImplementedError"
    ran = json.loads((tmp_path / "ran.ipynb").read_text())
    first = _first_solution_index(ran)
    errors = [i for i, c in enumerate(ran["cells"]) if any(o.get("output_type") == "error" for o in c.get("outputs", []))]
    assert errors == [first], f"the student version should stop at its first exercise (cell {first}), not {errors}"


# ---------------------------------------------------------------------------- the instructors' key

TASK = {"grade": False, "grade_id": "l99_key", "locked": True, "points": 0, "schema_version": 3,
        "solution": False, "task": True}


def _key_cell(source, meta=TASK):
    cell = nbformat.v4.new_markdown_cell(source)
    if meta is not None:
        cell.metadata["nbgrader"] = dict(meta)
    return cell


def test_the_key_is_removed_and_the_text_around_it_kept():
    cell = student_cell(_key_cell(f"## Key\nFor instructors.\n{BEGIN_KEY}\n1. The answer is 42.\n{END_KEY}\nEnd."), "k")
    assert cell["source"] == "## Key\nFor instructors.\nEnd."
    assert cell["metadata"]["nbgrader"] == TASK, "the task metadata stays, as nbgrader keeps it"


@pytest.mark.parametrize("source, meta, message", [
    (f"{BEGIN_KEY}\nsecret", TASK, "never closed"),
    (f"secret\n{END_KEY}", TASK, "without"),
    (f"{BEGIN_KEY}\n{BEGIN_KEY}\nsecret\n{END_KEY}", TASK, "again before"),
    ("### BEGIN MARKING SCHEME\nsecret\n### END MARKING SCHEME", TASK, "looks like a key marker"),
    ("## BEGIN MARK SCHEME\nsecret\n## END MARK SCHEME", TASK, "looks like a key marker"),
    (f"{BEGIN_KEY}: answers\nsecret\n{END_KEY}", TASK, "looks like a key marker"),
    ("Answers follow. BEGIN MARK SCHEME\nsecret\nEND MARK SCHEME", TASK, "looks like a key marker"),
    (f"{BEGIN_KEY}\nsecret\n{END_KEY}", None, "must be an nbgrader task cell"),
    (f"{BEGIN_KEY}\nsecret\n{END_KEY}", {**TASK, "task": False}, "must be an nbgrader task cell"),
    (f"{BEGIN_KEY}\nsecret\n{END_KEY}", {k: v for k, v in TASK.items() if k != "points"}, "must be an nbgrader task"),
    (f"{BEGIN_KEY}\n![plot](attachment:plot.png)\n{END_KEY}", TASK, "attachment"),
])
def test_broken_key_markers_stop_the_release_and_say_how_to_fix_them(source, meta, message):
    with pytest.raises(ReleaseError, match=message) as err:
        student_cell(_key_cell(source, meta), "lab 99, cell 7")
    assert "lab 99, cell 7" in str(err.value)
    assert "secret" not in str(err.value)


def test_a_key_in_a_code_cell_is_refused():
    cell = _code(f"# {BEGIN_KEY}\nx = 1\n# {END_KEY}")
    with pytest.raises(ReleaseError, match="looks like a key marker"):
        student_cell(cell, "c")
    with pytest.raises(ReleaseError, match="only sit in a Markdown cell"):
        student_cell(_code(f"{BEGIN_KEY}\nx = 1\n{END_KEY}"), "c")


def test_release_refuses_a_lab_whose_key_is_broken(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[_code("### BEGIN SOLUTION\nx = 1\n### END SOLUTION"),
                                         _key_cell(f"{BEGIN_KEY}\nsecret")])
    nbformat.write(nb, tmp_path / "99_lab.ipynb")
    with pytest.raises(ReleaseError, match="never closed"):
        release([tmp_path / "99_lab.ipynb"], tmp_path / "out")
    assert not (tmp_path / "out" / "99_lab.ipynb").exists()


def _items(text: str, start: str, ends: tuple[str, ...]) -> list[int]:
    """The numbers of the top-level list items between the line ``start`` and the first of ``ends``."""
    lines = text.split("\n")
    begin = lines.index(start) + 1
    stop = next((k for k in range(begin, len(lines)) if lines[k].startswith(ends)), len(lines))
    return [int(line.split(".")[0]) for line in lines[begin:stop] if re.match(r"\d+\. ", line)]


def _questions(nb: dict) -> dict[str, list[int]]:
    text = "\n".join(cell_source(c) for c in nb["cells"] if c["cell_type"] == "markdown")
    return {"pre-lab": _items(text, "## Pre-lab questions", ("#",)),
            "post-lab": _items(text, "## Post-lab exercises", ("#",)),
            "viva": _items(text, "## Viva questions", ("#",))}


def _key_text(cell: dict) -> str:
    text = cell_source(cell)
    return text[text.index(BEGIN_KEY) + len(BEGIN_KEY):text.index(END_KEY)]


@pytest.mark.parametrize("lab", notebooks.lab_paths(), ids=[p.stem for p in notebooks.lab_paths()])
def test_every_lab_ends_with_a_key_that_answers_every_question_and_is_never_released(lab, tmp_path):
    nb = json.loads(lab.read_text())
    keys = [k for k, c in enumerate(nb["cells"]) if BEGIN_KEY in cell_source(c)]
    assert keys == [len(nb["cells"]) - 1], "one key per lab, in its last cell"
    cell = nb["cells"][-1]
    assert cell["metadata"]["nbgrader"] == {**TASK, "grade_id": f"l{lab.name[:2]}_key"}
    assert "## Viva questions" in cell_source(nb["cells"][-2]), "the key comes right after the viva questions"
    key = _key_text(cell)
    asked = _questions(nb)
    answered = {"pre-lab": _items(key, "**Pre-lab questions**", ("**",)),
                "post-lab": _items(key, "**Post-lab exercises**", ("**",)),
                "viva": _items(key, "**Viva questions**", ("**",))}
    for kind, numbers in asked.items():
        assert numbers == list(range(1, len(numbers) + 1)) and len(numbers) >= 4, (kind, numbers)
        assert answered[kind] == numbers, f"{kind}: questions {numbers}, answers {answered[kind]}"
    assert "**Running the viva (10 marks" in key and all(w in key for w in ("Strong (3)", "Adequate (2)", "Weak (1)"))

    student = json.loads(release([lab], tmp_path)[0].read_text())
    text = "\n".join(cell_source(c) for c in student["cells"])
    assert "MARK SCHEME" not in text and "Running the viva" not in text
    rest = "\n".join(cell_source(c) for c in nb["cells"][:-1])
    secret_lines = [line.strip() for line in key.split("\n") if len(line.strip()) > 20 and line.strip() not in rest]
    assert len(secret_lines) > 20 and not [line for line in secret_lines if line in text]
    assert cell_source(student["cells"][-1]).startswith("## Instructors' key")


def test_the_new_questions_are_asked_in_the_labs_and_answered_in_their_keys():
    labs = {p.name[:2]: json.loads(p.read_text()) for p in notebooks.lab_paths()}
    asked = {lab: cell_source(nb["cells"][-2]) for lab, nb in labs.items()}
    keys = {lab: _key_text(nb["cells"][-1]) for lab, nb in labs.items()}
    assert "`SEQ_LEN`" in asked["02"] and "training time" in asked["02"]
    assert "training time grows about in proportion to the length" in keys["02"].lower()
    assert "never sees a label" in asked["03"] and "downstream classification accuracy" in asked["03"]
    assert all(w in asked["03"] for w in ("batch size", "L1 or L2", "dropout"))
    assert "*validation* split of the training images" in keys["03"] and "self-supervision" in keys["03"]
    assert "variance" in asked["07"] and "standard" in asked["07"]
    assert all(w in keys["07"] for w in ("(m/s)²", "RMSE² = SD(errors)² + bias²", "Teaching note"))
    # the expert baselines: a real sensor for zero-velocity integration, the gaits, six people
    assert all(w in asked["07"] for w in ("gait.zupt_speed(Z)", "one for all?", "six people"))
    assert all(w in keys["07"] for w in ("only calibration can remove", "walk-run transition",
                                         "variety of people"))


def test_student_feedback_never_shows_the_key():
    from labkit.feedback import feedback_html

    executed = nbformat.v4.new_notebook(cells=[
        _code("def f():\n    return 1", outputs=["1\n"]),
        _key_cell(f"## Key\n{BEGIN_KEY}\nThe secret model answer.\n{END_KEY}"),
    ])
    executed.cells[0].metadata["nbgrader"] = {"grade": False, "grade_id": "q1", "locked": False,
                                              "schema_version": 3, "solution": True, "task": False}
    page = feedback_html({"questions": [], "messages": [], "records": [], "student": "s", "lab": "99"},
                         executed, executed)
    assert "secret model answer" not in page and "MARK SCHEME" not in page
    assert "return 1" in page and "## Key" in page
    broken = copy.deepcopy(executed)
    broken.cells[1].source = "## Key\n### BEGIN MARK SCHEME\nThe secret model answer."
    assert "secret model answer" not in feedback_html({"questions": [], "messages": [], "records": []}, broken, broken)
