"""The labkit command: argument handling in-process, and one real smoke run of lab 01."""

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from labkit import cli, notebooks, runner, settings

LAB01 = settings.NOTEBOOK_DIR / "01_cnn_autoencoder.ipynb"


def _tiny_lab(path: Path, body: str):
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('PROFILE = "full"\nVALUE = 1')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(body)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


def test_parameters_cell_is_read_from_lab_01():
    params = notebooks.parameters(notebooks.read_notebook(LAB01))
    assert params["PROFILE"] == "full" and params["CODE_SIZE"] == 98 and params["DATA_DIR"] is None


def test_lab_paths_accept_numbers_and_names():
    assert notebooks.lab_paths(["01"]) == [LAB01]
    assert LAB01 in notebooks.lab_paths()


def test_values_from_the_command_line_become_literals():
    assert runner._value("3") == 3 and runner._value("0.5") == 0.5 and runner._value("None") is None
    assert runner._value("[1, 2]") == [1, 2] and runner._value("mnist") == "mnist"


def test_unknown_parameter_fails_that_lab_with_a_clear_message(tmp_path):
    lab = _tiny_lab(tmp_path / "01_tiny.ipynb", "print(VALUE)")
    row = runner.run_lab(lab, tmp_path / "out", "smoke", {"EPOCHS": 3}, timeout=60)
    assert row["status"] == "failed"
    assert "has no parameter EPOCHS" in row["error"] and "PROFILE, VALUE" in row["error"]


def test_run_carries_on_past_a_failing_lab_and_exits_non_zero(tmp_path, capsys):
    bad = _tiny_lab(tmp_path / "01_bad.ipynb", "raise RuntimeError('student bug')")
    good = _tiny_lab(tmp_path / "02_good.ipynb",
                     "import labkit\nlabkit.results.set_lab('02_good', PROFILE)\nlabkit.record('answer', VALUE * 2)")
    code = cli.main(["run", str(bad), str(good), "--profile", "smoke", "-p", "VALUE", "21",
                     "--build-dir", str(tmp_path / "build")])
    out = capsys.readouterr().out
    assert code == 1
    assert "[1/2] 01_bad ... failed" in out and "RuntimeError: student bug" in out
    assert "[2/2] 02_good ... ok" in out
    summary = json.loads((tmp_path / "build" / "summary.json").read_text())
    rows = {r["lab"]: r for r in summary["labs"]}
    assert rows["01_bad"]["status"] == "failed" and summary["failed"] == 1
    assert rows["02_good"]["records"]["answer"]["value"] == 42
    assert (tmp_path / "build" / "01_bad.ipynb").exists()  # the failing notebook is kept, error in place
    assert f"Results summary:    {tmp_path / 'build' / 'summary.json'}" in out


def test_missing_notebook_is_reported_not_raised(tmp_path, capsys):
    code = cli.main(["run", str(tmp_path / "nope.ipynb"), "--profile", "smoke", "--build-dir", str(tmp_path)])
    assert code == 1 and "No notebook at" in capsys.readouterr().out


@pytest.mark.notebooks
def test_labkit_run_executes_lab_01_in_smoke_profile_and_records_results(tmp_path):
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.run(
        [sys.executable, "-m", "labkit.cli", "run", "01", "--profile", "smoke", "--build-dir", str(tmp_path)],
        capture_output=True, text=True, env=env, timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "01_cnn_autoencoder ... ok" in proc.stdout and "STAND-IN" in proc.stdout
    summary = json.loads((tmp_path / "summary.json").read_text())
    records = summary["labs"][0]["records"]
    assert records["code_size"]["value"] == 98 and records["compression_ratio"]["value"] == 8.0
    assert 0 < records["test_mse"]["value"] < 0.05
    assert all(r["standin"] is True and r["profile"] == "smoke" for r in records.values())
    sections = dict(summary["labs"][0]["sections"])
    assert "3. Train" in sections and sections["3. Train"] > 0, sections
    assert abs(sum(sections.values()) - summary["labs"][0]["seconds"]) <= 0.05 * len(sections) + 1e-9
    assert "01_cnn_autoencoder: seconds by section" in proc.stdout
    executed = nbformat.read(tmp_path / "01_cnn_autoencoder.ipynb", as_version=4)
    text = "".join(o.get("text", "") for c in executed.cells if c.cell_type == "code" for o in c.outputs)
    assert "\r" not in text and "oneDNN" not in text and "absl::InitializeLog" not in text


def test_refresh_checks_stores_only_checked_outputs(tmp_path, capsys):
    lab = _tiny_lab(tmp_path / "01_tiny.ipynb", "print(VALUE + 1)")
    nb = nbformat.read(lab, as_version=4)
    nb.cells[1].metadata["tags"] = ["nbval-check-output"]
    nb.cells.append(nbformat.v4.new_code_cell("print('not checked')"))
    nbformat.write(nb, lab)
    code = cli.main(["refresh-checks", str(lab), "--build-dir", str(tmp_path / "build")])
    assert code == 0 and "1 checked cell(s) refreshed" in capsys.readouterr().out
    stored = nbformat.read(lab, as_version=4)
    assert stored.cells[1].outputs[0]["text"] == "2\n" and stored.cells[1].execution_count == 1
    assert stored.cells[0].outputs == [] and stored.cells[2].outputs == []
    assert os.environ["LABKIT_PROFILE"] == "smoke"
