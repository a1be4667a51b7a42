"""Student versions of the labs, following nbgrader's conventions.

In a student version every ``### BEGIN SOLUTION`` / ``### END SOLUTION`` region becomes a
``raise NotImplementedError()`` stub (a "YOUR ANSWER HERE" line in Markdown), every
``### BEGIN HIDDEN TESTS`` / ``### END HIDDEN TESTS`` region is removed, every
``### BEGIN MARK SCHEME`` / ``### END MARK SCHEME`` region (the instructors' key) is removed, and
all outputs are cleared. Everything else, cell ids and nbgrader metadata included, stays as it is.

The key follows nbgrader's rules for a mark scheme, so that ``nbgrader generate_assignment``
removes exactly what ``labkit release`` removes: it sits in a Markdown cell that nbgrader treats as
a manually graded task (metadata ``nbgrader.task = true`` with a ``grade_id`` and ``points``).
nbgrader recognises a marker anywhere in a line and lets a stray end marker pass; labkit accepts a
marker only alone on its line and refuses anything that merely looks like one, so a typo stops the
release instead of leaking the key through one of the two tools.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

BEGIN_SOLUTION, END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
CODE_STUB = ("# YOUR CODE HERE", "raise NotImplementedError()")
MARKDOWN_STUB = ("YOUR ANSWER HERE",)
BEGIN_KEY, END_KEY = "### BEGIN MARK SCHEME", "### END MARK SCHEME"
# what a key marker with a typo looks like: nbgrader would miss some of these, labkit others
LOOKS_LIKE_KEY_MARKER = re.compile(r"\b(begin|end)\W*mark(ing)?\W*scheme", re.IGNORECASE)
# a solution or hidden-test marker with a typo (spacing, case, text after it): nbgrader finds "BEGIN SOLUTION"
# anywhere in a line, labkit only the exact line, so without this the region would reach students unstripped
LOOKS_LIKE_REGION_MARKER = re.compile(r"^\W*(begin|end)\W*(solution|hidden\W*tests?)\W*$|(?-i:(BEGIN|END)\W*(SOLUTION|HIDDEN))",
                                      re.IGNORECASE | re.UNICODE)
TASK_METADATA = ('"nbgrader": {"task": true, "grade_id": "lXX_key", "points": 0, "solution": false, '
                 '"grade": false, "locked": true, "schema_version": 3}')


class ReleaseError(ValueError):
    """A notebook's solution or hidden-test markers are broken."""


def cell_source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def _replace_regions(text: str, begin: str, end: str, stub: tuple[str, ...], where: str) -> str:
    """Replace each begin..end region (markers included) by ``stub`` at the marker's indentation."""
    out, inside, indent = [], False, ""
    for number, line in enumerate(text.split("\n"), 1):
        marker = line.strip()
        if marker == begin:
            if inside:
                raise ReleaseError(f"{where}, line {number}: {begin!r} again before {end!r}. Close each region first.")
            inside, indent = True, line[: len(line) - len(line.lstrip())]
            out.extend(indent + s for s in stub)
        elif marker == end:
            if not inside:
                raise ReleaseError(f"{where}, line {number}: {end!r} without {begin!r} before it.")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ReleaseError(f"{where}: {begin!r} is never closed; add a line {end!r} after the region.")
    return "\n".join(out)


def key_problem(cell: dict, where: str) -> str | None:
    """What is wrong with the instructors' key markers of a cell, or None when nothing is."""
    text = cell_source(cell)
    lines = text.split("\n")
    for number, line in enumerate(lines, 1):
        if LOOKS_LIKE_KEY_MARKER.search(line) and line.strip() not in (BEGIN_KEY, END_KEY):
            return (f"{where}, line {number}: {line.strip()[:60]!r} looks like a key marker but is not one; "
                    f"write {BEGIN_KEY!r} and {END_KEY!r} exactly, each alone on its line.")
    if not any(line.strip() == BEGIN_KEY for line in lines):
        return None
    meta = cell.get("metadata", {}).get("nbgrader")
    if cell.get("cell_type") != "markdown":
        return (f"{where}: an instructors' key ({BEGIN_KEY!r}) may only sit in a Markdown cell; move it into "
                f"the lab's key cell at the end of the notebook.")
    if not isinstance(meta, dict) or meta.get("task") is not True or not meta.get("grade_id") or (
            not isinstance(meta.get("points"), (int, float)) or meta.get("solution") or meta.get("grade")):
        return (f"{where}: the cell holding the instructors' key must be an nbgrader task cell (nbgrader refuses a "
                f"mark scheme anywhere else); give it the metadata {{{TASK_METADATA}}}.")
    if cell.get("attachments") or "](attachment:" in text:
        return (f"{where}: the key cell has an attachment, which would stay in the student's cell when the key "
                f"is removed; link the image from a file outside the release instead.")
    return None


def region_marker_problem(text: str, where: str) -> str | None:
    """A line that looks like a solution or hidden-test marker but is not exactly one, or None."""
    exact = (BEGIN_SOLUTION, END_SOLUTION, BEGIN_HIDDEN, END_HIDDEN)
    for number, line in enumerate(text.split("\n"), 1):
        found = line.strip() not in exact and LOOKS_LIKE_REGION_MARKER.search(line.strip())
        if found:  # quote only the marker: the rest of the line may be the solution
            return (f"{where}, line {number}: {found.group(0).strip()[:60]!r} looks like a solution or hidden-test marker but "
                    f"is not one; write each of {', '.join(map(repr, exact))} exactly, alone on its line.")
    return None


def student_cell(cell: dict, where: str, keep_outputs: bool = False) -> dict:
    """The student version of one cell (its outputs cleared unless ``keep_outputs``)."""
    cell = copy.deepcopy(cell)
    text = cell_source(cell)
    stub = MARKDOWN_STUB if cell.get("cell_type") == "markdown" else CODE_STUB
    problem = key_problem(cell, where) or region_marker_problem(text, where)
    if problem:
        raise ReleaseError(problem)
    text = _replace_regions(text, BEGIN_SOLUTION, END_SOLUTION, stub, where)
    text = _replace_regions(text, BEGIN_HIDDEN, END_HIDDEN, (), where)
    text = _replace_regions(text, BEGIN_KEY, END_KEY, (), where)
    cell["source"] = text
    if cell.get("attachments"):  # an image a removed region showed would otherwise still travel with the cell
        cell["attachments"] = {k: v for k, v in cell["attachments"].items() if f"attachment:{k}" in text}
    if cell.get("cell_type") == "code" and not keep_outputs:
        cell["outputs"], cell["execution_count"] = [], None
    return cell


def student_version(nb: dict, name: str = "notebook") -> dict:
    """The student version of a whole notebook (the input is not changed)."""
    out = copy.deepcopy(nb)
    out["cells"] = [student_cell(c, f"{name}, cell {i} ({c.get('id', 'no id')})") for i, c in enumerate(nb["cells"])]
    return out


def solution_count(nb: dict) -> int:
    return sum(cell_source(c).count(BEGIN_SOLUTION) for c in nb.get("cells", []))


def release(paths, out_dir: Path) -> list[Path]:
    """Write the student version of each notebook into ``out_dir``; returns the written paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for path in map(Path, paths):
        try:
            nb = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as err:
            raise ReleaseError(f"{path} is not a readable notebook ({err}).") from err
        if not solution_count(nb):
            raise ReleaseError(f"{path.name} has no {BEGIN_SOLUTION!r} region: there is nothing for a student "
                               f"to write. Mark the exercises before releasing.")
        target = out_dir / path.name
        target.write_text(json.dumps(student_version(nb, path.name), indent=1, ensure_ascii=False) + "\n",
                          encoding="utf-8")
        written.append(target)
    return written
