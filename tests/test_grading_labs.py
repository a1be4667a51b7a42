"""A real lab graded end to end in the sandbox, smoke profile: the reference solution scores full
marks, an unanswered student version scores nothing, and the recorded results are shown."""

import json

import pytest

from labkit import gradebook, grading, settings
from labkit.release import student_version

pytestmark = [pytest.mark.notebooks, pytest.mark.sandbox]
LAB = "03_denoising_autoencoder"  # the quickest lab in the smoke profile


def test_the_reference_scores_full_marks_and_a_blank_release_scores_zero(tmp_path):
    source = settings.NOTEBOOK_DIR / f"{LAB}.ipynb"
    nb = json.loads(source.read_text(encoding="utf-8"))
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "reference.ipynb").write_text(json.dumps(nb))
    (subs / "blank.ipynb").write_text(json.dumps(student_version(nb, LAB)))
    opts = grading.Options(lab=LAB, profile="smoke", timeout=600, cell_timeout=300, memory_mb=4096)
    found = grading.collect_submissions([subs], LAB)
    results = {r["student"]: r for r in grading.grade_batch(found, source, tmp_path / "out", opts, workers=2,
                                                            progress=lambda line: None)}
    gradebook.write_gradebook(tmp_path / "out")
    full, blank = results["reference"], results["blank"]
    assert full["status"] == "graded" and full["score"] == full["max_score"] > 0, full["questions"]
    assert blank["status"] == "graded" and blank["score"] == 0.0 and blank["max_score"] == full["max_score"]
    assert full["records"] and all("inside the band" in r["note"] for r in full["records"]), full["records"]
    assert full["kernel_start_seconds"] < 30
