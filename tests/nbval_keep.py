"""A pytest plugin for the nbval runs: ``--keep-executed DIR`` writes each notebook whose every cell
passed to DIR, with the outputs nbval saw, so that the book is built from the run nbval validated
instead of running every lab a second time. Nothing is written for a notebook with a failed cell."""

from pathlib import Path

import nbformat


def pytest_addoption(parser):
    parser.addoption("--keep-executed", metavar="DIR", default=None,
                     help="write each fully passing notebook, with its outputs, to DIR")


def pytest_sessionfinish(session, exitstatus):
    folder = session.config.getoption("keep_executed")
    if not folder or exitstatus != 0:
        return
    cells_of: dict = {}
    for item in session.items:
        if hasattr(item, "cell") and hasattr(item, "test_outputs"):  # nbval's IPyNbCell
            cells_of.setdefault(item.parent, []).append(item)
    for notebook, items in cells_of.items():
        if any(item.test_outputs is None for item in items):
            continue  # a cell never ran (skipped or deselected): this is not a whole run
        for count, item in enumerate(items, start=1):
            item.cell.execution_count = count
            item.cell.outputs = item.test_outputs
            for out in item.cell.outputs:
                if out.get("output_type") == "execute_result":
                    out["execution_count"] = count
        Path(folder).mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook.nb, Path(folder) / Path(str(notebook.fspath)).name)
