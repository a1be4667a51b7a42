"""A pytest plugin for nbval runs: write each notebook, with the outputs nbval saw, once all its cells pass.

Load it with ``-p tests.nbval_executed`` and set ``LABKIT_NBVAL_EXECUTED`` to a folder. The book tests
build from these executed copies instead of running every lab a second time.
"""

import os
from pathlib import Path

import nbformat
import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    yield
    outputs = getattr(item, "test_outputs", None)  # nbval's IPyNbCell keeps what the kernel sent
    if outputs is not None and hasattr(item, "cell"):
        item.cell.outputs = list(outputs)


def pytest_sessionfinish(session, exitstatus):
    folder = os.environ.get("LABKIT_NBVAL_EXECUTED")
    if not folder or exitstatus != 0:
        return
    notebooks = {id(item.parent): item.parent for item in session.items if hasattr(item, "cell")}
    for parent in notebooks.values():
        nb = parent.nb
        count = 0
        for cell in nb.cells:
            if cell.cell_type == "code":
                count += 1
                cell.execution_count = count
        nbformat.validate(nb)
        Path(folder).mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, Path(folder) / Path(str(parent.path)).name)
