"""Key results stored inside the executed notebook, machine-readable.

``record(name, value)`` displays a small output with its own MIME type, so the
value travels inside the .ipynb and ``read_records(path)`` gets it back without
scraping text. Each record also says which profile and data source produced it,
so a stand-in result can never pass for a real one.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

MIME = "application/vnd.labkit.record+json"

DATA_KINDS = ("real", "stand-in", "simulated")

_context: dict = {"lab": None, "profile": None, "data": None, "data_kind": None, "standin": None}
_recorded: dict[str, dict] = {}  # this session's records, by name, for labkit.expected.show_expected


def set_lab(lab: str | None, profile: str | None) -> None:
    _context.update(lab=lab, profile=profile)
    _recorded.clear()


def recorded() -> dict[str, dict]:
    """The records made so far in this session (since the last setup_lab), by name."""
    return dict(_recorded)


def set_data(label: str, kind: str) -> None:
    """Say what data later records come from: a label and one of real, stand-in, simulated."""
    if kind not in DATA_KINDS:
        raise ValueError(f"data kind {kind!r} is not one of {', '.join(DATA_KINDS)}.")
    _context.update(data=label, data_kind=kind, standin=kind == "stand-in")


def set_data_source(source) -> None:
    """Remember the data source (a labkit.data.DataSource) for later records."""
    set_data(source.label, "stand-in" if source.standin else "real")


def _plain(value):
    """Convert numpy scalars and arrays to JSON-ready Python values."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(
        f"record() takes numbers, strings, booleans and lists or dicts of them, not {type(value).__name__}. "
        f"Convert it first, for example with float(...)."
    )


def make_record(name: str, value, unit: str = "") -> dict:
    """The stored form of one result: name, JSON-ready value, unit, lab, profile and data source."""
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"record name {name!r} must be a simple identifier such as 'test_mse'.")
    return {"name": name, "value": _plain(value), "unit": unit, **_context}


def record_text(payload: dict) -> str:
    """The one line a reader sees for a record."""
    value = payload["value"]
    shown = f"{value:.6g}" if isinstance(value, float) else str(value)
    if len(shown) > 100:
        shown = shown[:97] + "..."
    text = f"[record] {payload['name']} = {shown}{' ' + payload['unit'] if payload['unit'] else ''}"
    return text + ("  (stand-in data)" if payload["standin"] else "")


def record(name: str, value, unit: str = "") -> None:
    """Store a key result in the executed notebook (machine-readable) and print one line."""
    payload = make_record(name, value, unit)
    _recorded[name] = payload
    text = record_text(payload)
    try:
        from IPython import get_ipython
        from IPython.display import display

        in_kernel = get_ipython() is not None
    except ImportError:
        in_kernel = False
    if in_kernel:
        display({MIME: payload, "text/plain": text}, raw=True)
    else:
        print(text)


def read_records(notebook) -> dict[str, dict]:
    """All records of an executed notebook (path or nbformat dict), by name; the last one wins."""
    if isinstance(notebook, (str, Path)):
        path = Path(notebook)
        try:
            nb = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as err:
            raise ValueError(f"{path} is not a readable notebook ({err}).") from err
    else:
        nb = notebook
    found: dict[str, dict] = {}
    for cell in nb.get("cells", []):
        for out in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            payload = out.get("data", {}).get(MIME)
            if isinstance(payload, str):
                payload = json.loads(payload)
            if isinstance(payload, dict) and "name" in payload:
                found[payload["name"]] = payload
    return found
