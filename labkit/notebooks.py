"""Reading lab notebooks: which labs exist and what their parameters cell holds."""

from __future__ import annotations

import ast
import json
from pathlib import Path

from labkit import settings


def lab_paths(names=None) -> list[Path]:
    """The lab notebooks to run: all numbered labs by default, else the ones named.

    A name may be a path, a file name in notebooks/, or a lab number such as ``01``.
    """
    if not names:
        return sorted(settings.NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))
    paths = []
    for name in names:
        path = Path(name)
        if not path.exists() and len(path.parts) == 1:
            matches = sorted(settings.NOTEBOOK_DIR.glob(f"{name}*.ipynb"))
            path = matches[0] if len(matches) == 1 else path
        paths.append(path)
    return paths


def read_notebook(path: Path) -> dict:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"No notebook at {path}. Lab notebooks live in {settings.NOTEBOOK_DIR}.") from None
    except json.JSONDecodeError as err:
        raise ValueError(f"{path} is not valid notebook JSON ({err}).") from err


def parameters(nb: dict) -> dict:
    """The literal assignments of the cell tagged ``parameters`` (name -> value)."""
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "code" and "parameters" in cell.get("metadata", {}).get("tags", []):
            source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            found = {}
            for node in ast.parse(source).body:
                if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                    found[node.targets[0].id] = ast.literal_eval(node.value)
            return found
    return {}


OUTSIDE_CELLS = "(kernel start and papermill, outside the cells)"


def seconds_by_section(nb: dict, total_seconds: float | None = None) -> list[tuple[str, float]]:
    """Seconds an executed lab spent under each of its headings (levels 1 and 2), in the lab's order.

    Each code cell's time is papermill's (its ``metadata.papermill.duration``) and counts under the
    last heading above it. Given the run's total seconds, the time outside the cells comes last.
    """
    seconds: dict[str, float] = {}
    heading = "(before the first heading)"
    for cell in nb.get("cells", []):
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else source
        if cell.get("cell_type") == "markdown":
            titles = [line.lstrip("#").strip() for line in source.splitlines() if line.startswith(("# ", "## "))]
            heading = titles[-1] if titles else heading
            continue
        duration = (cell.get("metadata", {}).get("papermill") or {}).get("duration")
        if duration is not None:
            seconds[heading] = seconds.get(heading, 0.0) + float(duration)
    rows = list(seconds.items())
    if total_seconds is not None:
        rows.append((OUTSIDE_CELLS, max(0.0, total_seconds - sum(seconds.values()))))
    return [(name, round(value, 1)) for name, value in rows]


def format_sections(lab: str, sections: list[tuple[str, float]]) -> str:
    """One lab's seconds by section as indented lines, with each one's share of the total."""
    total = sum(s for _, s in sections) or 1.0
    width = max((len(name) for name, _ in sections), default=0)
    lines = [f"{lab}: seconds by section"]
    lines += [f"  {name:<{width}}  {s:7.1f} s  {100 * s / total:4.0f} %" for name, s in sections]
    return "\n".join(lines)
