"""The benchmark's measurement of the grader's own seconds per submission (labkit.grading_speed)."""

import json

import pytest
from grading_fixture import LAB, write_source

from labkit import cli, grading_speed


def _result(seconds, execution, start=1.0, score=3.0, status="graded"):
    return {"seconds": seconds, "execution_seconds": execution, "kernel_start_seconds": start, "score": score,
            "max_score": 3.0, "status": status}


def test_the_grader_s_own_seconds_are_what_a_submission_took_beyond_its_execution():
    m = grading_speed.summarize([_result(10.5, 10.0), _result(10.9, 10.0, start=2.0)], wall_seconds=12.0,
                                workers=2, lab=LAB)
    assert m["grader_seconds_mean"] == pytest.approx(0.7) and m["grader_seconds_max"] == pytest.approx(0.9)
    assert m["execution_seconds_mean"] == 10.0 and m["kernel_start_seconds_mean"] == 1.5
    assert m["wall_beyond_execution_per_submission"] == pytest.approx((12.0 * 2 - 20.0) / 2)
    assert m["full_marks"] == 2 and m["verdict"] == "met"


def test_a_slow_grader_misses_the_target_and_a_lost_point_voids_the_measurement():
    slow = grading_speed.summarize([_result(12.0, 10.0), _result(10.2, 10.0)], 12.0, 2, LAB)
    assert slow["grader_seconds_mean"] == pytest.approx(1.1) and slow["verdict"] == "MISSED"
    broken = grading_speed.summarize([_result(10.1, 10.0), _result(3.0, 2.9, score=0.0, status="kernel-died")],
                                     12.0, 2, LAB)
    assert broken["full_marks"] == 1 and broken["verdict"].startswith("invalid (1 of 2")


def test_report_lines_say_the_verdict_or_that_nothing_was_measured():
    m = grading_speed.summarize([_result(10.5, 10.0)], 11.0, 1, LAB)
    text = "\n".join(grading_speed.report_lines(m))
    assert "**met**" in text and "0.500 s" in text and "1 of 1 full marks" in text
    assert "not measured" in "\n".join(grading_speed.report_lines(None))
    assert "cannot run here (no bwrap)" in "\n".join(grading_speed.report_lines({"skipped": "no bwrap"}))


def test_bench_without_a_sandbox_says_so_instead_of_grading(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("labkit.sandbox.sandbox_problem", lambda: "bwrap is not installed")
    (tmp_path / "summary.json").write_text(json.dumps({"profile": "full", "build_dir": "b", "failed": 0,
                                                       "labs": []}))
    code = cli.main(["bench", "--from-summary", str(tmp_path / "summary.json"), "--no-baselines",
                     "--out", str(tmp_path / "out")])
    assert code == 0 and "Install bubblewrap, or pass --grading 0" in capsys.readouterr().out
    assert "cannot run here (bwrap is not installed)" in (tmp_path / "out" / "report.md").read_text()


def test_measure_refuses_an_empty_batch(tmp_path):
    with pytest.raises(ValueError, match="at least one submission"):
        grading_speed.measure(write_source(tmp_path), LAB, tmp_path / "out", submissions=0)


@pytest.mark.sandbox
def test_bench_grades_copies_of_the_reference_in_the_sandbox_and_reports_the_split(tmp_path):
    source = tmp_path / f"{LAB}.ipynb"
    write_source(tmp_path).rename(source)
    summary = {"profile": "full", "build_dir": "b", "failed": 0, "labs": [
        {"lab": "01_cnn_autoencoder", "status": "ok", "seconds": 200.0, "records": {}, "error": None}]}
    (tmp_path / "summary.json").write_text(json.dumps(summary))
    code = cli.main(["bench", "--from-summary", str(tmp_path / "summary.json"), "--no-baselines",
                     "--out", str(tmp_path / "out"), "--grading", "3", "--grading-lab", str(source)])
    m = json.loads((tmp_path / "out" / "report.json").read_text())["grading"]
    assert code == 0 and m["lab"] == LAB and m["submissions"] == 3 and m["full_marks"] == 3, m
    assert 0 < m["kernel_start_seconds_mean"] < m["execution_seconds_mean"]
    assert 0 <= m["grader_seconds_mean"] <= m["grader_seconds_max"] and m["reference_seconds"] > 0
    results = sorted((tmp_path / "out" / "grading" / "graded" / "students").glob("*/result.json"))
    assert [p.parent.name for p in results] == ["student-001", "student-002", "student-003"]
    assert all(json.loads(p.read_text())["sandbox"] for p in results)
    assert "## Grading overhead" in (tmp_path / "out" / "report.md").read_text()
