import json

import nbformat
import numpy as np
import pytest

from labkit import results


def _notebook_with(outputs):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("x = 1")
    cell.outputs = outputs
    nb.cells = [nbformat.v4.new_markdown_cell("text"), cell]
    return nb


def test_record_outside_a_kernel_prints_and_returns_payload(capsys):
    results.set_lab("99_test", "smoke")
    assert results.record("test_mse", np.float32(0.25)) is None  # nothing echoed below a notebook cell
    payload = results.make_record("test_mse", np.float32(0.25))
    assert payload["value"] == 0.25 and isinstance(payload["value"], float)
    assert payload["lab"] == "99_test" and payload["profile"] == "smoke"
    assert "[record] test_mse = 0.25" in capsys.readouterr().out


def test_records_carry_the_stand_in_flag(capsys):
    from labkit.data import DataSource

    results.set_data_source(DataSource("mnist", "embedded", "x", standin=True))
    results.record("acc", 0.5)
    payload = results.make_record("acc", 0.5)
    assert payload["standin"] is True and "STAND-IN" in payload["data"]
    assert "(stand-in data)" in capsys.readouterr().out


def test_record_converts_numpy_containers():
    payload = results.make_record("study", [{"size": np.int64(4), "mse": np.float64(0.1)}, np.arange(2)])
    json.dumps(payload)  # must be JSON-ready
    assert payload["value"] == [{"size": 4, "mse": 0.1}, [0, 1]]


def test_record_rejects_bad_names_and_values():
    with pytest.raises(ValueError, match="simple identifier"):
        results.record("test mse", 1.0)
    with pytest.raises(TypeError, match="Convert it first"):
        results.record("model", object())


def test_long_values_are_shortened_in_the_printed_line():
    text = results.record_text(results.make_record("study", list(range(100))))
    assert "..." in text and len(text) < 150


def test_read_records_from_notebook_outputs(tmp_path):
    rec = {"name": "test_mse", "value": 0.01, "unit": "", "standin": False}
    outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="hello"),
        nbformat.v4.new_output("display_data", data={results.MIME: rec, "text/plain": "x"}),
        nbformat.v4.new_output("display_data", data={results.MIME: {**rec, "value": 0.02}, "text/plain": "x"}),
    ]
    path = tmp_path / "run.ipynb"
    nbformat.write(_notebook_with(outputs), path)
    found = results.read_records(path)
    assert list(found) == ["test_mse"] and found["test_mse"]["value"] == 0.02  # the last one wins


def test_read_records_of_a_broken_file_is_a_clear_error(tmp_path):
    path = tmp_path / "broken.ipynb"
    path.write_text("{ not json")
    with pytest.raises(ValueError, match="not a readable notebook"):
        results.read_records(path)


def test_simulated_data_is_labelled_as_such_and_bad_kinds_refused():
    results.set_data("IMU simulated", "simulated")
    payload = results.make_record("rmse_mps", 0.1)
    assert payload["data_kind"] == "simulated" and payload["standin"] is False
    with pytest.raises(ValueError, match="not one of real, stand-in, simulated"):
        results.set_data("x", "fake")
