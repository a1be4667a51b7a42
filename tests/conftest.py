"""Shared fixtures. Tests never need the network or ../shared: real-data paths are faked with tmp files."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest


def pytest_runtest_setup(item):
    """Tests marked ``sandbox`` need bubblewrap: skipped with the reason where it is missing, failed in CI."""
    if item.get_closest_marker("sandbox"):
        from labkit.sandbox import sandbox_problem

        problem = sandbox_problem()
        if problem and os.environ.get("CI"):
            pytest.fail(f"CI must run the sandbox tests (.ci/run installs bubblewrap), but: {problem}")
        if problem:
            pytest.skip(f"no sandbox here: {problem}")


def skip_or_fail(reason: str) -> None:
    """Skip a test whose tool is missing here, but fail it in CI, which must run it."""
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def chromium() -> str:
    """The system Chromium's path (skipped where it is missing, failed in CI)."""
    found = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if found is None:
        skip_or_fail("Chromium is not installed (.ci/run installs it: apt-get install -y chromium)")
    return found


class NbvalRuns:
    """Each lab run once under nbval in the smoke profile, its passing copy kept in ``executed``.

    ``shared`` is seen by every xdist worker: a lab that another worker ran already means the notebook
    tests and the book were split across workers (see ``pytest_collection_modifyitems``), so every
    lab would run twice; that fails loudly rather than slowing CI down in silence."""

    def __init__(self, executed, shared, worker: str):
        self.executed, self.shared, self.worker = executed, shared, worker
        self._done: dict[str, subprocess.CompletedProcess] = {}

    def run(self, notebook) -> subprocess.CompletedProcess:
        from labkit import settings

        if notebook.name not in self._done:
            mark = self.shared / f"nbval-ran-{notebook.stem}"
            if mark.exists() and mark.read_text() != self.worker:
                pytest.fail(f"{notebook.stem} already ran under nbval in worker {mark.read_text()}: the notebook "
                            f"tests and the book must share a worker (run with --dist loadgroup)")
            mark.write_text(self.worker)
            env = {**os.environ, "LABKIT_PROFILE": "smoke", "MPLBACKEND": "module://matplotlib_inline.backend_inline",
                   "PYTHONPATH": os.pathsep.join([os.path.dirname(__file__), os.environ.get("PYTHONPATH", "")])}
            env.pop("LABKIT_DATA_SOURCE", None)
            self._done[notebook.name] = subprocess.run(
                [sys.executable, "-m", "pytest", "--nbval-lax", "--nbval-current-env", "--nbval-cell-timeout", "300",
                 "-q", "-p", "no:cacheprovider", "-p", "nbval_keep", "--keep-executed", str(self.executed),
                 str(notebook)],
                capture_output=True, text=True, env=env, timeout=900, cwd=settings.REPO_ROOT,
            )
        return self._done[notebook.name]


@pytest.fixture(scope="session")
def nbval_runs(tmp_path_factory) -> NbvalRuns:
    """The labs' nbval runs, shared by the notebook tests and the book (which is built from their copies)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    base = tmp_path_factory.getbasetemp()
    return NbvalRuns(tmp_path_factory.mktemp("nbval_executed"), base.parent if worker != "main" else base, worker)


@pytest.hookimpl(tryfirst=True)  # before xdist's worker reads the groups
def pytest_collection_modifyitems(items):
    """For ``--dist loadgroup``: each file's tests stay on one worker (its module fixtures are made once),
    and the notebook tests share theirs with the book, which is built from the same nbval runs."""
    for item in items:
        module = item.path.stem
        item.add_marker(pytest.mark.xdist_group("labs" if module in ("test_notebooks", "test_book") else module))


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch, tmp_path):
    """Each test starts with no course environment variables and an empty keras cache, downloads off."""
    for name in ("LABKIT_PROFILE", "LABKIT_DATA_DIR", "LABKIT_DATA_SOURCE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.setenv("LABKIT_ALLOW_DOWNLOAD", "0")
    from labkit import results

    monkeypatch.setattr(results, "_context", dict.fromkeys(results._context))  # no lab or data from other tests
    monkeypatch.setattr(results, "_recorded", {})


def write_fake_mnist(path, n_train=40, n_test=20, seed=0):
    """A tiny npz in the keras MNIST layout with a recognisable pixel pattern."""
    rng = np.random.default_rng(seed)
    np.savez(
        path,
        x_train=rng.integers(0, 256, size=(n_train, 28, 28), dtype=np.uint8),
        y_train=np.arange(n_train, dtype=np.uint8) % 10,
        x_test=rng.integers(0, 256, size=(n_test, 28, 28), dtype=np.uint8),
        y_test=np.arange(n_test, dtype=np.uint8) % 10,
    )
    return path
