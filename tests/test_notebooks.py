"""Every lab notebook runs under nbval in the smoke profile; checked cells must match exactly."""

import json
import os
import subprocess
import sys

import pytest

from labkit import settings

LABS = sorted(settings.NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))


def test_there_are_labs():
    assert LABS, f"no lab notebooks in {settings.NOTEBOOK_DIR}"


@pytest.mark.parametrize("notebook", LABS, ids=[p.stem for p in LABS])
def test_source_notebook_is_clean(notebook):
    nb = json.loads(notebook.read_text())
    tagged = [c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, "exactly one cell must be tagged 'parameters'"
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        checked = "nbval-check-output" in cell.get("metadata", {}).get("tags", [])
        assert checked or not cell["outputs"], "only cells tagged nbval-check-output may keep outputs"


@pytest.mark.notebooks
@pytest.mark.parametrize("notebook", LABS, ids=[p.stem for p in LABS])
def test_notebook_runs_under_nbval_in_smoke_profile(notebook):
    env = {**os.environ, "LABKIT_PROFILE": "smoke", "MPLBACKEND": "module://matplotlib_inline.backend_inline"}
    env.pop("LABKIT_DATA_SOURCE", None)
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval-lax", "--nbval-current-env", "--nbval-cell-timeout", "300",
         "-q", "-p", "no:cacheprovider", str(notebook)],
        capture_output=True, text=True, env=env, timeout=900, cwd=settings.REPO_ROOT,
    )
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
