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


def test_environment_installs_the_project_with_its_extras():
    project = _pyproject()["project"]
    installs = [l for l in _environment_lines() if "-e" in l]
    assert len(installs) == 1, "environment.yml should install the course with pip: - -e .[extras]"
    extras = re.search(r"\[([^\]]*)\]", installs[0]).group(1).split(",")
    assert set(extras) <= set(project["optional-dependencies"]), "environment.yml names an extra pyproject lacks"
    assert "test" in extras


def test_python_versions_agree():
    project = _pyproject()["project"]
    python = [l for l in _environment_lines() if l.startswith("- python")]
    assert python == ["- python=3.11"]
    assert project["requires-python"] == ">=3.11,<3.12"


def test_conda_packages_are_all_in_pyproject():
    names = {re.split(r"[<>=!~; \[]", d)[0].lower() for d in _pyproject()["project"]["dependencies"]}
    conda = [l[2:].split("=")[0].strip().lower() for l in _environment_lines()
             if not l.startswith("- pip") and not l.startswith("- -e") and not l.startswith("- python")]
    assert set(conda) <= names, f"conda-only packages: {set(conda) - names}"


def test_pyproject_has_the_course_dependencies_and_command():
    project = _pyproject()["project"]
    names = {re.split(r"[<>=!~; \[]", d)[0].lower() for d in project["dependencies"]}
    assert {"tensorflow-cpu", "tensorflow", "numpy", "matplotlib", "scikit-learn", "jupyterlab",
            "nbval", "papermill", "ipywidgets"} <= names
    assert project["scripts"]["labkit"] == "labkit.cli:main"
