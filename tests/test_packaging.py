"""pyproject.toml and environment.yml must install the same thing."""

import re
import tomllib

import yaml

from labkit import settings

ROOT = settings.REPO_ROOT


def _pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _environment():
    return yaml.safe_load((ROOT / "environment.yml").read_text())


def _environment_lines():
    """The dependencies as '- NAME' lines, pip's own list flattened in."""
    lines = []
    for dep in _environment()["dependencies"]:
        if isinstance(dep, dict):
            lines += [f"- {d}" for d in dep.get("pip", [])]
        else:
            lines.append(f"- {dep}")
    return lines


def test_environment_installs_the_project_and_only_what_the_labs_need():
    """Binder and conda users get the course; test, book and gpu extras are for other machines."""
    installs = [line for line in _environment_lines() if "-e" in line]
    assert installs == ["- -e ."], "environment.yml should install the course with pip: - -e ."


def test_python_versions_agree():
    project = _pyproject()["project"]
    python = [line for line in _environment_lines() if line.startswith("- python")]
    assert python == ["- python=3.11"]
    assert project["requires-python"] == ">=3.11,<3.12"


def test_conda_packages_are_all_in_pyproject():
    names = {re.split(r"[<>=!~; \[]", d)[0].lower() for d in _pyproject()["project"]["dependencies"]}
    conda = [line[2:].split("=")[0].strip().lower() for line in _environment_lines()
             if not line.startswith(("- pip", "- -e", "- python"))]
    assert set(conda) <= names, f"conda-only packages: {set(conda) - names}"


def test_pyproject_has_the_course_dependencies_and_command():
    project = _pyproject()["project"]
    names = {re.split(r"[<>=!~; \[]", d)[0].lower() for d in project["dependencies"]}
    assert {"tensorflow-cpu", "tensorflow", "numpy", "matplotlib", "scikit-learn", "jupyterlab",
            "nbval", "papermill", "ipywidgets"} <= names
    assert project["scripts"]["labkit"] == "labkit.cli:main"
