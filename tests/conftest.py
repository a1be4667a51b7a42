"""Shared fixtures. Tests never need the network or ../shared: real-data paths are faked with tmp files."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest


# The test files that take longest (seconds in a CI run on two cores), run first: with
# `pytest -n 2 --dist loadfile --no-loadscope-reorder` each core takes the next file as it gets free,
# so the long ones must not be left for the end. Files not named here follow in their usual order.
LONGEST_FIRST = (
    "test_exercise_variants.py",  # about 650 s: every lab's mutants
    "test_notebooks.py",          # about 650 s: every lab under nbval, then the book
    "test_nbgrader.py",           # about 190 s
    "test_grading_labs.py",       # about 120 s
    "test_grading_attacks.py",    # about 110 s
    "test_cli.py",                # about 90 s
    "test_release.py",            # about 80 s
    "test_jupyterlab.py",         # about 65 s
)


def pytest_collection_modifyitems(items):
    rank = {name: k for k, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # a stable sort: each file keeps its order


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
