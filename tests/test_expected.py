"""Expected-result bands: verdicts, strictness in the smoke profile, and rubric partial credit."""

import pytest

from labkit import expected, notebooks, results
from labkit.checks import LabCheckError


def _records(kind="real", **values):
    return {k: {**results.make_record(k, v), "data_kind": kind, "standin": kind == "stand-in"}
            for k, v in values.items()}


def test_every_band_names_a_lab_and_both_profiles():
    labs = {p.stem for p in notebooks.lab_paths()}
    assert set(expected.BANDS) == labs
    for lab, profiles in expected.BANDS.items():
        assert set(profiles) == {"smoke", "full"}, lab
    for lab, items in expected.RUBRIC.items():
        for name in items:
            assert name in expected.bands_for(lab, "smoke") and name in expected.bands_for(lab, "full"), (lab, name)


def test_compare_gives_inside_outside_missing():
    lab = "01_cnn_autoencoder"
    rows = expected.compare(lab, "full", _records(test_mse=0.003, probe_accuracy_codes=0.5))
    assert [r["verdict"] for r in rows] == ["inside", "OUTSIDE"]
    rows = expected.compare(lab, "full", _records(test_mse="nan"))
    assert [r["verdict"] for r in rows] == ["missing", "missing"]


def test_full_bands_do_not_judge_stand_in_data():
    rows = expected.compare("01_cnn_autoencoder", "full", _records(kind="stand-in", test_mse=0.5))
    assert rows[0]["verdict"].startswith("not compared")


def test_show_expected_raises_in_smoke_and_only_prints_in_full(capsys):
    results.set_lab("01_cnn_autoencoder", "smoke")
    results.record("test_mse", 0.5)
    results.record("probe_accuracy_codes", 0.9)
    with pytest.raises(LabCheckError, match="test_mse"):
        expected.show_expected()
    results.set_lab("01_cnn_autoencoder", "full")
    results.set_data("MNIST", "real")
    results.record("test_mse", 0.5)
    rows = expected.show_expected()
    assert "OUTSIDE" in capsys.readouterr().out and rows[0]["verdict"] == "OUTSIDE"
    results.set_lab(None, None)


def test_show_expected_needs_setup():
    results.set_lab(None, None)
    with pytest.raises(LabCheckError, match="setup_lab"):
        expected.show_expected()
