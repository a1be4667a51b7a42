"""The web book: contents, configuration, stale labs and lab pages (the real build, seen in Chromium, is
in test_notebooks.py, built from the labs' nbval runs)."""

import json
import re
from types import SimpleNamespace

import yaml

from labkit import book, cli, notebooks, settings
from labkit.results import MIME

ROOT = settings.REPO_ROOT
LABS = notebooks.lab_paths()
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())


def _norm(text: str) -> str:
    return " ".join(text.split()).lower()


# --- contents and configuration -------------------------------------------------------------

def test_book_lists_intro_labs_in_order_instructors_and_references():
    pages = book.toc_pages(ROOT)
    assert pages[0] == "notebooks/intro"
    labs = [p for p in pages if p.removeprefix("notebooks/")[:2].isdigit()]
    assert labs == [f"notebooks/{p.stem}" for p in LABS], "_toc.yml must list every lab, in order"
    assert {"notebooks/instructors", "notebooks/references"} <= set(pages)
    for page in pages:
        assert any((ROOT / f"{page}{ext}").exists() for ext in (".md", ".ipynb")), page


def test_book_pages_in_the_notebook_folder_are_not_taken_for_labs():
    assert all(p.suffix == ".ipynb" and p.name[:2].isdigit() for p in LABS)
    assert (settings.NOTEBOOK_DIR / "intro.md").exists()


def test_config_never_executes_and_launches_jupyterlab_from_the_repository_url():
    assert CONFIG["execute"]["execute_notebooks"] == "off"
    assert CONFIG["repository"]["url"].startswith("https://github.com/")
    launch = CONFIG["launch_buttons"]
    assert launch["notebook_interface"] == "jupyterlab"
    assert launch["binderhub_url"].startswith("https://")


def test_instructors_page_uses_only_options_the_commands_have():
    text = (settings.NOTEBOOK_DIR / "instructors.md").read_text()
    commands = cli.build_parser()._subparsers._group_actions[0].choices
    for name in ("run", "records", "bench", "book", "release", "grade"):
        assert f"labkit {name}" in text, f"the instructors page does not explain labkit {name}"
    options = {opt for sub in commands.values() for action in sub._actions for opt in action.option_strings}
    unknown = set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", text)) - options
    assert not unknown, f"the instructors page names options no labkit command has: {unknown}"


def test_references_hold_every_title_the_labs_cite():
    refs = _norm((settings.NOTEBOOK_DIR / "references.md").read_text())
    for lab in LABS:
        first = "".join(notebooks.read_notebook(lab)["cells"][0]["source"])
        cited = first[first.find("**Data"):].split("\n## ")[0]
        for title in re.findall(r'"([^"]+)"', cited):
            assert _norm(title) in refs, f"{lab.name} cites {title!r}, missing from notebooks/references.md"


def test_ci_installs_what_the_readme_test_command_installs():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    extras = re.findall(r'pip install (?:--quiet )?-e "\.\[([^\]]*)\]" && \.venv/bin/python -m pytest', readme)
    assert extras == ["test,book"], "README's test command should install the test and book extras"
    assert 'pip install --quiet -e ".[test,book]"' in ci
    pytest_command = re.search(r"\.venv/bin/python -m pytest[^\n`]*", readme).group(0)
    assert f"CI=true {pytest_command}\n" in ci, "CI must run the README's pytest command, options and all"
    assert "apt-get install -y chromium" in ci


# --- stale executed copies ------------------------------------------------------------------

def _source(tmp_path, code="x = 1"):
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Lab 99: A test\n\nSome text."),
                nbformat.v4.new_code_cell('PROFILE = "full"', metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell(code)]
    path = tmp_path / "99_test.ipynb"
    nbformat.write(nb, path)
    return path


def _executed(source, out_dir, profile="smoke", records=(), failed=False):
    """What papermill writes: the injected parameters cell, outputs and its metadata."""
    nb = json.loads(source.read_text())
    injected = {"cell_type": "code", "id": "injected", "execution_count": 1, "outputs": [],
                "metadata": {"tags": ["injected-parameters"]}, "source": f'PROFILE = "{profile}"'}
    nb["cells"].insert(2, injected)
    nb["cells"][-1]["outputs"] = [
        {"output_type": "display_data", "metadata": {}, "data": {MIME: rec, "text/plain": rec["name"]}}
        for rec in records]
    nb["metadata"]["papermill"] = {"parameters": {"PROFILE": profile}, "exception": failed}
    out_dir.mkdir(exist_ok=True)
    path = out_dir / source.name
    path.write_text(json.dumps(nb))
    return path


def _record(name, value, profile="smoke", data="STAND-IN for MNIST", kind="stand-in"):
    return {"name": name, "value": value, "unit": "", "lab": "99_test", "profile": profile,
            "data": data, "data_kind": kind, "standin": None if kind is None else kind == "stand-in"}


def test_an_executed_copy_with_the_same_cells_is_up_to_date(tmp_path):
    source = _source(tmp_path)
    ran = _executed(source, tmp_path / "ran", records=[_record("mse", 0.1)])
    assert book.why_stale(source, ran, "smoke") is None


def test_missing_failed_unreadable_and_other_profile_copies_are_stale(tmp_path):
    source = _source(tmp_path)
    assert book.why_stale(source, tmp_path / "none" / source.name, "smoke") == "not executed yet"
    ran = _executed(source, tmp_path / "ran", failed=True)
    assert "failed" in book.why_stale(source, ran, "smoke")
    ran = _executed(source, tmp_path / "ran", profile="full", records=[_record("mse", 0.1, profile="full")])
    assert book.why_stale(source, ran, "smoke") == "it ran in the full profile, not smoke"
    ran.write_text("{not json")
    assert "not a readable notebook" in book.why_stale(source, ran, "smoke")


def test_a_change_to_code_or_text_of_the_source_makes_the_copy_stale(tmp_path):
    source = _source(tmp_path)
    ran = _executed(source, tmp_path / "ran")
    _source(tmp_path, code="x = 2")
    assert book.why_stale(source, ran, "smoke") == "its source changed since it ran"
    _source(tmp_path)
    nb = json.loads(source.read_text())
    nb["cells"][0]["source"] = "# Lab 99: A new title"
    source.write_text(json.dumps(nb))
    assert book.why_stale(source, ran, "smoke") == "its source changed since it ran"


# --- lab pages ------------------------------------------------------------------------------

def test_lab_page_says_profile_and_data_under_the_title_and_ends_with_the_results(tmp_path):
    source = _source(tmp_path)
    records = [_record("test_mse", 0.01234567), _record("sizes", [8, 0.123456]),
               _record("sine_mse", 0.5, data=None, kind=None)]
    ran = _executed(source, tmp_path / "ran", records=records)
    cells = book.lab_page(json.loads(ran.read_text()), "99_test")["cells"]
    assert cells[0]["source"] == "# Lab 99: A test"
    note, table = cells[1]["source"], cells[-1]["source"]
    assert "**smoke** profile" in note and "**STAND-IN for MNIST** (stand-in)" in note
    assert "not stated for 1 of the 3 recorded results" in note
    assert ":class: warning" in note and "/downloads/99_test.ipynb" in note
    assert "Executed with `labkit run`" in note
    assert cells[2]["source"] == "\nSome text."
    assert "| `test_mse` | 0.01235 |  | stand-in |" in table
    assert "| `sizes` | `[8, 0.1235]` |  | stand-in |" in table
    assert "| `sine_mse` | 0.5 |  | not stated |" in table


def test_lab_page_with_real_data_is_a_note_and_names_changed_parameters(tmp_path):
    source = _source(tmp_path)
    ran = _executed(source, tmp_path / "ran", profile="full",
                    records=[_record("mse", 0.1, profile="full", data="MNIST (keras cache)", kind="real")])
    nb = json.loads(ran.read_text())
    nb["metadata"]["papermill"]["parameters"]["EPOCHS"] = 5
    ran.write_text(json.dumps(nb))
    note = book.lab_page(json.loads(ran.read_text()), "99_test")["cells"][1]["source"]
    assert ":class: note" in note and "**full** profile" in note and "**MNIST (keras cache)** (real)" in note
    assert "`EPOCHS = 5`" in note


def test_lab_page_of_a_copy_papermill_never_ran_does_not_claim_labkit_run(tmp_path):
    ran = _executed(_source(tmp_path), tmp_path / "ran", records=[_record("mse", 0.1)])
    nb = json.loads(ran.read_text())
    del nb["metadata"]["papermill"]  # run by nbval or in JupyterLab
    note = book.lab_page(nb, "99_test")["cells"][1]["source"]
    assert "Executed outside `labkit run`" in note and "labkit run` in" not in note and "**smoke** profile" in note


def test_lab_page_without_records_says_so(tmp_path):
    ran = _executed(_source(tmp_path), tmp_path / "ran")
    cells = book.lab_page(json.loads(ran.read_text()), "99_test")["cells"]
    assert "no recorded results" in cells[1]["source"]
    assert "This run recorded no results." in cells[-1]["source"]


def _outputs(*kinds):
    data = {"image": {"image/png": "iVBOR", "text/plain": "<Figure>"},
            "widget": {book.WIDGET_MIME: {"model_id": "m"}, "text/plain": "interactive(...)"}}
    return {"cell_type": "code", "source": "", "metadata": {},
            "outputs": [{"output_type": "display_data", "metadata": {}, "data": data[k]} for k in kinds]}


def test_every_widget_needs_a_figure_since_the_last_heading_or_widget():
    heading = {"cell_type": "markdown", "source": "## Next section", "metadata": {}}
    assert book.widgets_without_figure({"cells": [_outputs("image", "widget")]}) == []
    assert book.widgets_without_figure({"cells": [_outputs("image"), _outputs("widget")]}) == []
    assert book.widgets_without_figure({"cells": [_outputs("widget", "image")]}) == [0]
    assert book.widgets_without_figure({"cells": [_outputs("image"), heading, _outputs("widget")]}) == [2]
    assert book.widgets_without_figure({"cells": [_outputs("image", "widget"), _outputs("widget")]}) == [1]


def test_a_page_the_toc_names_but_nobody_wrote_is_reported(tmp_path, monkeypatch):
    root = tmp_path / "repo"
    (root / "notebooks").mkdir(parents=True)
    (root / "_config.yml").write_text("title: t\n")
    (root / "_toc.yml").write_text("format: jb-book\nroot: notebooks/ghost\n")
    monkeypatch.setattr(settings, "REPO_ROOT", root)
    lab = _source(root / "notebooks")
    problems = book.assemble(tmp_path / "site", tmp_path / "ran", [lab])
    assert problems == ["_toc.yml names notebooks/ghost, but there is no notebooks/ghost.md or lab notebook "
                        "notebooks/ghost.ipynb",
                        "_toc.yml does not list the lab 99_test.ipynb; add `- file: notebooks/99_test`"]


def test_book_command_explains_a_missing_jupyter_book_and_a_bad_from(tmp_path, monkeypatch, capsys):
    args = SimpleNamespace(profile="smoke", source=None, out=str(tmp_path / "site"), timeout=None)
    monkeypatch.setattr(book, "jupyter_book", lambda: None)
    assert book.cmd_book(args) == 2
    assert 'pip install -e ".[book]"' in capsys.readouterr().err
    monkeypatch.setattr(book, "jupyter_book", lambda: "jupyter-book")
    (tmp_path / "file.ipynb").write_text("{}")
    args.source = str(tmp_path / "file.ipynb")
    assert book.cmd_book(args) == 2
    assert "is a file; give the folder of executed notebooks" in capsys.readouterr().err


def test_book_command_never_wipes_the_executed_notebooks_the_repository_or_another_folder(
        tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(book, "jupyter_book", lambda: "jupyter-book")
    executed = tmp_path / "executed"
    assert book.why_not_wiped(tmp_path, executed) == "it holds the executed notebooks"
    assert book.why_not_wiped(ROOT, executed) == "it holds the repository"
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "mine.txt").write_text("keep")
    assert book.why_not_wiped(tmp_path / "notes", executed) == "it is neither empty nor an earlier book"
    assert book.why_not_wiped(tmp_path / "new", executed) is None
    args = SimpleNamespace(profile="smoke", source=str(executed), out=str(tmp_path / "notes"), timeout=None)
    assert book.cmd_book(args) == 2
    assert "neither empty nor an earlier book" in capsys.readouterr().err
    assert (tmp_path / "notes" / "mine.txt").exists()


def test_lab_pages_hide_solutions_and_hidden_tests_but_keep_results():
    from labkit import book

    answer = {"cell_type": "code", "id": "a", "metadata": {}, "execution_count": 1, "source":
              "x = 1\n### BEGIN SOLUTION\ny = x + 1\n### END SOLUTION",
              "outputs": [{"output_type": "stream", "name": "stdout", "text": "2\n"}]}
    tests = {"cell_type": "code", "id": "t", "metadata": {}, "execution_count": 2, "outputs": [],
             "source": "assert y == 2\n### BEGIN HIDDEN TESTS\nassert y > 1\n### END HIDDEN TESTS"}
    nb = {"cells": [{"cell_type": "markdown", "id": "h", "metadata": {}, "source": "# Lab 99"}, answer, tests],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    page = book.lab_page(nb, "99_lab")
    text = "\n".join(book._text(c["source"]) for c in page["cells"])
    assert "y = x + 1" not in text and "assert y > 1" not in text and "raise NotImplementedError()" in text
    assert [c for c in page["cells"] if c.get("id") == "a"][0]["outputs"] == answer["outputs"]
    edition = book.lab_page(nb, "99_lab", solutions=True)
    assert "y = x + 1" in "\n".join(book._text(c["source"]) for c in edition["cells"])


def test_student_pages_drop_the_instructors_key_and_the_instructors_edition_shows_it():
    from labkit import book
    from labkit.release import BEGIN_KEY, END_KEY

    key = {"cell_type": "markdown", "id": "k", "source": f"## Instructors' key\nFor instructors.\n{BEGIN_KEY}\n"
           f"1. The model answer: 784 / 98 = 8.\n{END_KEY}",
           "metadata": {"nbgrader": {"grade": False, "grade_id": "l99_key", "locked": True, "points": 0,
                                     "schema_version": 3, "solution": False, "task": True}}}
    nb = {"cells": [{"cell_type": "markdown", "id": "h", "metadata": {}, "source": "# Lab 99"}, key],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    page = "\n".join(book._text(c["source"]) for c in book.lab_page(nb, "99_lab")["cells"])
    assert "model answer" not in page and "MARK SCHEME" not in page and "## Instructors' key" in page
    edition = "\n".join(book._text(c["source"]) for c in book.lab_page(nb, "99_lab", solutions=True)["cells"])
    assert "1. The model answer: 784 / 98 = 8." in edition


def test_the_downloadable_student_versions_of_the_book_hold_no_key(tmp_path):
    from labkit import book, notebooks

    labs = notebooks.lab_paths()
    executed = tmp_path / "executed"
    executed.mkdir()
    for lab in labs:  # the source notebooks stand in for executed copies: only the text matters here
        (executed / lab.name).write_text(lab.read_text())
    assert book.assemble(tmp_path / "site", executed, labs) == []
    for lab in labs:
        download = (tmp_path / "site" / book.DOWNLOADS / lab.name).read_text()
        page = (tmp_path / "site" / "notebooks" / lab.name).read_text()
        assert "MARK SCHEME" not in download and "Running the viva" not in download, lab.name
        assert "MARK SCHEME" not in page and "Running the viva" not in page, lab.name
    book.assemble(tmp_path / "edition", executed, labs, solutions=True)
    assert all("Running the viva" in (tmp_path / "edition" / "notebooks" / lab.name).read_text() for lab in labs)
