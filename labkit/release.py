"""Student versions of the labs, following nbgrader's conventions.

In a student version every ``### BEGIN SOLUTION`` / ``### END SOLUTION`` region becomes a
``raise NotImplementedError()`` stub (a "YOUR ANSWER HERE" line in Markdown), every
``### BEGIN HIDDEN TESTS`` / ``### END HIDDEN TESTS`` region is removed, and all outputs are
cleared. Everything else, cell ids and nbgrader metadata included, stays as it is.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

BEGIN_SOLUTION, END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
CODE_STUB = ("# YOUR CODE HERE", "raise NotImplementedError()")
MARKDOWN_STUB = ("YOUR ANSWER HERE",)


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


def student_cell(cell: dict, where: str, keep_outputs: bool = False) -> dict:
    """The student version of one cell (its outputs cleared unless ``keep_outputs``)."""
    cell = copy.deepcopy(cell)
    text = cell_source(cell)
    stub = MARKDOWN_STUB if cell.get("cell_type") == "markdown" else CODE_STUB
    text = _replace_regions(text, BEGIN_SOLUTION, END_SOLUTION, stub, where)
    text = _replace_regions(text, BEGIN_HIDDEN, END_HIDDEN, (), where)
    cell["source"] = text
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
