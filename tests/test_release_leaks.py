"""Nothing instructor-only reaches a student: every channel of `labkit release` and the student book.

The forbidden text is derived from each source notebook: every non-blank line inside a solution,
hidden-test or mark-scheme region that does not also appear outside every region of that notebook.
"""

import base64
import copy
import json
import re

import nbformat
import pytest

from labkit import book, notebooks
from labkit.release import (
    BEGIN_HIDDEN,
    BEGIN_KEY,
    BEGIN_SOLUTION,
    END_HIDDEN,
    END_KEY,
    END_SOLUTION,
    ReleaseError,
    cell_source,
    release,
    student_cell,
    student_version,
)

LABS = notebooks.lab_paths()
IDS = [p.stem for p in LABS]
REGIONS = ((BEGIN_SOLUTION, END_SOLUTION), (BEGIN_HIDDEN, END_HIDDEN), (BEGIN_KEY, END_KEY))
# any line that is, or looks like, a marker (case, spacing and spelling ignored)
MARKER = re.compile(r"(begin|end)\W*(solution|hidden\W*tests?|mark(ing)?\W*scheme)", re.IGNORECASE)
MIN_SUBSTRING = 16  # shorter secret lines are only compared as whole lines, not searched for inside other text


def _split(text: str) -> tuple[list[str], list[str]]:
    """(lines inside any region, lines outside every region), stripped, markers left out; independent of labkit."""
    inside, outside, open_end = [], [], None
    for line in text.replace("\r\n", "\n").split("\n"):
        s = line.strip()
        ends = {b: e for b, e in REGIONS}
        if open_end is None and s in ends:
            open_end = ends[s]
        elif open_end is not None and s == open_end:
            open_end = None
        elif s in ends or s in ends.values():
            continue
        elif s:
            (inside if open_end else outside).append(s)
    return inside, outside


def _secrets(nb: dict, code_only: bool = False) -> set[str]:
    """The instructor-only lines of a notebook (``code_only``: those of its code cells, i.e. solution code)."""
    inside, outside = set(), set()
    for cell in nb["cells"]:
        i, o = _split(cell_source(cell))
        if cell["cell_type"] == "code" or not code_only:
            inside.update(i)
        outside.update(o)
    return inside - outside


def _strings(value, path=""):
    """Every string anywhere in a JSON value, with where it is."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(k, f"{path}/<key>")
            yield from _strings(v, f"{path}/{k}")
    elif isinstance(value, list):
        for k, v in enumerate(value):
            yield from _strings(v, f"{path}/{k}")


def _leaks(student: dict, secrets: set[str], code: set[str] = frozenset()) -> list[str]:
    """What of ``secrets`` (or any marker) the student notebook holds, in any cell field or metadata.

    Markdown is searched for ``code`` (solution and hidden-test code) inside its prose: a key's
    wrapped prose shares fragments with the exercise text, so only code is searched for there.
    """
    found = []
    long_secrets = [s for s in secrets if len(s) >= MIN_SUBSTRING]
    long_code = [s for s in code if len(s) >= MIN_SUBSTRING]
    for k, cell in enumerate(student["cells"]):
        for n, line in enumerate(cell_source(cell).split("\n")):
            if line.strip() in secrets:
                found.append(f"cell {k} line {n}: secret line {line.strip()[:60]!r}")
            if MARKER.search(line):
                found.append(f"cell {k} line {n}: marker {line.strip()[:60]!r}")
        if cell["cell_type"] == "markdown":  # a Markdown cell quoting solution code inside its prose
            found += [f"cell {k}: Markdown quotes {s[:60]!r}" for s in long_code if s in cell_source(cell)]
        rest = {f: v for f, v in cell.items() if f != "source"}  # outputs, attachments, metadata, ...
        for where, text in _strings(rest, f"cell {k}"):
            if MARKER.search(text):
                found.append(f"{where}: marker text")
            found += [f"{where}: {s[:60]!r}" for s in long_secrets if s in text]
            for blob in _decoded(text):
                found += [f"{where} (decoded): {s[:60]!r}" for s in long_secrets if s in blob]
    for where, text in _strings({f: v for f, v in student.items() if f != "cells"}, "notebook"):
        found += [f"{where}: {s[:60]!r}" for s in long_secrets if s in text] + (
            [f"{where}: marker text"] if MARKER.search(text) else [])
    return found


def _decoded(text: str) -> list[str]:
    """``text`` decoded as base64 when it is base64 (attachments, images), else nothing."""
    if len(text) < 16 or not re.fullmatch(r"[A-Za-z0-9+/=\s]+", text):
        return []
    try:
        return [base64.b64decode(text, validate=False).decode("utf-8", "ignore")]
    except ValueError:
        return []


@pytest.fixture(scope="module")
def sources():
    return {p.name: json.loads(p.read_text(encoding="utf-8")) for p in LABS}


def test_every_lab_has_secrets_to_protect(sources):
    for name, nb in sources.items():
        secrets = _secrets(nb)
        assert len(secrets) > 30, f"{name}: only {len(secrets)} instructor-only lines found; is the parser right?"
        assert any(line.startswith("check.observe(") for line in secrets), f"{name}: no hidden check found"


@pytest.mark.parametrize("lab", LABS, ids=IDS)
def test_release_writes_only_student_notebooks_free_of_every_secret(lab, tmp_path, sources):
    nb, out = sources[lab.name], tmp_path / "release"
    written = release([lab], out)
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == [p.relative_to(out) for p in written]
    for path in written:
        text = path.read_text(encoding="utf-8")
        student = json.loads(text)
        secrets = _secrets(nb)
        assert _leaks(student, secrets, _secrets(nb, code_only=True)) == [], lab.name
        # beyond the JSON structure: the raw file, in case something is escaped differently
        code = _secrets(nb, code_only=True)  # (the key's wrapped prose shares fragments with the exercises)
        assert not [s for s in code if len(s) >= MIN_SUBSTRING and json.dumps(s)[1:-1] in text]
        for orig, cell in zip(nb["cells"], student["cells"]):
            if cell["cell_type"] == "code":  # committed outputs of checked cells and execution counts go
                assert cell["outputs"] == [] and cell["execution_count"] is None, cell.get("id")
            assert not cell.get("attachments") or orig.get("attachments") == cell["attachments"]
            assert cell["metadata"] == orig["metadata"], "cell metadata (nbgrader, tags) is kept as it is"
        assert student["metadata"] == nb["metadata"] and set(nb["metadata"].get("labkit", {})) <= {"lab"}
        assert "widgets" not in student["metadata"] and "papermill" not in student["metadata"]


@pytest.mark.parametrize("lab", LABS, ids=IDS)
def test_student_version_in_memory_matches_the_released_file(lab, tmp_path, sources):
    (path,) = release([lab], tmp_path)
    assert json.loads(path.read_text(encoding="utf-8")) == json.loads(json.dumps(student_version(sources[lab.name],
                                                                                                 lab.name)))


def _executed_copy(nb: dict) -> dict:
    """What `labkit run` leaves: the lab with outputs everywhere, papermill's metadata and widget state.

    Each cell's output echoes its own source (as a warning or a traceback quotes the line that
    raised it), so any cell whose outputs reach a student page shows what its source held.
    """
    ran = copy.deepcopy(nb)
    ran["metadata"]["papermill"] = {"parameters": {"PROFILE": "smoke"}, "exception": None}
    ran["metadata"]["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}, "version_major": 2}}
    for k, cell in enumerate(ran["cells"]):
        if cell["cell_type"] != "code":
            continue
        cell["execution_count"] = k + 1
        kept = list(cell.get("outputs", []))
        if BEGIN_HIDDEN in cell_source(cell):
            hidden = cell_source(cell).split(BEGIN_HIDDEN, 1)[1].split(END_HIDDEN, 1)[0].strip().split("\n")[0]
            kept.append({"output_type": "stream", "name": "stderr",
                         "text": f"<ipython-input>:3: UserWarning: deprecated\n  {hidden.strip()}\n"})
        cell["outputs"] = kept
    return ran


@pytest.fixture(scope="module")
def student_book(tmp_path_factory, sources):
    executed = tmp_path_factory.mktemp("executed")
    for name, nb in sources.items():
        (executed / name).write_text(json.dumps(_executed_copy(nb)), encoding="utf-8")
    site = tmp_path_factory.mktemp("book") / "site"
    assert book.assemble(site, executed, LABS, solutions=False) == []
    return site


@pytest.mark.parametrize("lab", LABS, ids=IDS)
def test_student_book_page_and_download_hold_no_secret(lab, student_book, sources):
    nb = sources[lab.name]
    secrets = _secrets(nb)
    page = json.loads((student_book / "notebooks" / lab.name).read_text(encoding="utf-8"))
    download = json.loads((student_book / book.DOWNLOADS / lab.name).read_text(encoding="utf-8"))
    code = _secrets(nb, code_only=True)
    assert _leaks(page, secrets, code) == [], f"{lab.name}: the book page"
    assert _leaks(download, secrets, code) == [], f"{lab.name}: the download"
    # the reference outputs of the other cells stay: that is what the page is for
    checked = [c for c in nb["cells"] if "nbval-check-output" in c.get("metadata", {}).get("tags", [])]
    shown = {c["id"]: c for c in page["cells"]}
    assert all(shown[c["id"]]["outputs"] == c["outputs"] for c in checked if BEGIN_HIDDEN not in cell_source(c))


def test_nothing_else_in_the_student_book_holds_a_secret(student_book, sources):
    secrets = {s for nb in sources.values() for s in _secrets(nb) if len(s) >= MIN_SUBSTRING}
    others = [p for p in student_book.rglob("*") if p.is_file() and p.suffix != ".ipynb"]
    assert others, "the book has its Markdown pages and configuration"
    for path in others:
        text = path.read_text(encoding="utf-8", errors="ignore")
        assert not [s for s in secrets if s in text], path  # (instructors.md may name the markers themselves)
    assert sorted(p.name for p in (student_book / book.DOWNLOADS).iterdir()) == sorted(p.name for p in LABS)


# ---------------------------------------------------------------- synthetic notebooks: odd markers

SECRET = "answer = 6 * 7  # the secret"


def _code(source):
    return nbformat.v4.new_code_cell(source)


def _safe(cell, where="lab 99, cell 4"):
    """The student cell, or the ReleaseError naming the cell; either way nothing secret is shown."""
    try:
        out = student_cell(cell, where)
    except ReleaseError as err:
        assert where in str(err) and "secret" not in str(err)
        return None
    assert "secret" not in json.dumps(out), out
    return out


@pytest.mark.parametrize("source", [
    f"### BEGIN SOLUTION\n{SECRET}",                                       # unterminated
    f"### BEGIN SOLUTION\n### BEGIN SOLUTION\n{SECRET}\n### END SOLUTION",  # nested
    f"### BEGIN SOLUTION\n{SECRET}\n### END SOLUTION\n### END SOLUTION",   # stray end
    f"###BEGIN SOLUTION\n{SECRET}\n###END SOLUTION",
    f"### begin solution\n{SECRET}\n### end solution",
    f"###  BEGIN  SOLUTION\n{SECRET}\n###  END  SOLUTION",
    f"### BEGIN SOLUTION  # model answer\n{SECRET}\n### END SOLUTION",
    f"# BEGIN SOLUTION\n{SECRET}\n# END SOLUTION",
    f"### BEGIN\u00a0SOLUTION\n{SECRET}\n### END\u00a0SOLUTION",
    f"### BEGIN SOLUTION   \n{SECRET}\n### END SOLUTION\t",               # trailing spaces
    f"### BEGIN SOLUTION\r\n{SECRET}\r\n### END SOLUTION\r\n",            # Windows line endings
    f"\t### BEGIN SOLUTION\n\t{SECRET}\n\t### END SOLUTION",
    f"### BEGIN HIDDEN TESTS\nassert {SECRET!r}",
    f"### BEGIN HIDDEN TEST\nassert {SECRET!r}\n### END HIDDEN TEST",
    f"### begin hidden tests\nassert {SECRET!r}\n### end hidden tests",
    f"### BEGIN HIDDEN TESTS\n### BEGIN SOLUTION\n{SECRET}\n### END SOLUTION\n### END HIDDEN TESTS",
    f"### BEGIN SOLUTION\n### BEGIN HIDDEN TESTS\n{SECRET}\n### END HIDDEN TESTS\n### END SOLUTION",
    f's = """\n### BEGIN SOLUTION\n{SECRET}\n### END SOLUTION\n"""',      # markers inside a multi-line string
    f's = """### BEGIN SOLUTION\n{SECRET}\n### END SOLUTION"""',
])
@pytest.mark.parametrize("as_list", [False, True], ids=["string", "lines"])
def test_odd_markers_are_stripped_or_refused_never_leaked(source, as_list):
    cell = _code(source.splitlines(keepends=True) if as_list else source)
    _safe(cell)


def test_lines_without_newlines_run_together_and_are_refused():
    cell = _code(["### BEGIN SOLUTION", SECRET, "### END SOLUTION"])  # a list of lines with no "\n"
    _safe(cell)


@pytest.mark.parametrize("source", [
    f"Why?\n### begin solution\nBecause {SECRET}\n### end solution",
    f"Why?\n###BEGIN SOLUTION\nBecause {SECRET}\n###END SOLUTION",
    f"Why?\r\n### BEGIN SOLUTION\r\nBecause {SECRET}\r\n### END SOLUTION",
])
def test_odd_markers_in_markdown_are_stripped_or_refused(source):
    _safe(nbformat.v4.new_markdown_cell(source))


def test_the_list_and_string_forms_give_the_same_student_cell():
    source = f"x = 1\n### BEGIN SOLUTION\n{SECRET}\n### END SOLUTION\ny = 2\n"
    as_text, as_list = _safe(_code(source)), _safe(_code(source.splitlines(keepends=True)))
    assert as_text["source"] == as_list["source"] == "x = 1\n# YOUR CODE HERE\nraise NotImplementedError()\ny = 2\n"


def test_an_attachment_shown_only_in_a_solution_does_not_travel_with_the_cell():
    png = base64.b64encode(b"secret figure").decode()
    cell = nbformat.v4.new_markdown_cell("Sketch it.\n![ok](attachment:ok.png)\n### BEGIN SOLUTION\n"
                                         "![answer](attachment:answer.png)\n### END SOLUTION")
    cell["attachments"] = {"answer.png": {"image/png": png}, "ok.png": {"image/png": "AAAA"}}
    out = _safe(cell)
    assert out["attachments"] == {"ok.png": {"image/png": "AAAA"}}


def test_a_hidden_test_cell_shows_no_output_on_the_student_page():
    tests = {"cell_type": "code", "id": "t", "metadata": {}, "execution_count": 2, "source":
             f"assert y == 2\n### BEGIN HIDDEN TESTS\nassert {SECRET!r}\n### END HIDDEN TESTS",
             "outputs": [{"output_type": "stream", "name": "stderr", "text": f"warning\n  assert {SECRET!r}\n"}]}
    nb = {"cells": [{"cell_type": "markdown", "id": "h", "metadata": {}, "source": "# Lab 99"}, tests],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    assert "secret" not in json.dumps(book.lab_page(nb, "99_lab"))
    assert "secret" in json.dumps(book.lab_page(nb, "99_lab", solutions=True)), "the instructors' edition keeps it"


GIVEN_IN_THE_EXERCISE = {"keras.Input(shape=(28, 28, 1)),"}  # lab 01: the input layer the text states


@pytest.mark.parametrize("lab", LABS, ids=IDS)
def test_no_other_cell_shows_an_answer_line_the_exercise_asks_for(lab):
    """An answer written out elsewhere (a helper before the exercise, a table's code) can be copied."""
    nb = json.loads(lab.read_text(encoding="utf-8"))
    answers = set()
    for cell in nb["cells"]:
        inside = False
        for line in cell_source(cell).split("\n"):
            if line.strip() in (BEGIN_SOLUTION, END_SOLUTION):
                inside = line.strip() == BEGIN_SOLUTION
            elif inside and len(line.strip()) >= 20:
                answers.add(line.strip())
    shown = {line.strip() for cell in student_version(nb)["cells"] for line in cell_source(cell).split("\n")}
    assert not (answers & shown) - GIVEN_IN_THE_EXERCISE, f"{lab.name}: answer lines shown to students"
