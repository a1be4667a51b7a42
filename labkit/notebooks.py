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
