"""Student versions: solutions stubbed, hidden tests gone, outputs cleared, everything else kept."""

import json

import nbformat
import pytest

from labkit import cli, notebooks
from labkit.release import BEGIN_HIDDEN, BEGIN_SOLUTION, ReleaseError, release, student_cell


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
