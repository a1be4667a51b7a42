"""Benchmark targets and summary merging (no lab is executed)."""

import json

from labkit import cli, notebooks, runner, targets


def _row(lab, status="ok", seconds=100.0, standin=False, **values):
    records = {k: {"name": k, "value": v, "standin": standin} for k, v in values.items()}
    return {"lab": lab, "status": status, "seconds": seconds, "records": records, "error": None}


def test_targets_met_missed_and_missing():
    row = _row("01_cnn_autoencoder", seconds=300, test_mse=0.004, code_size=128)
    verdicts = {c["target"].split()[0]: c["verdict"] for c in targets.evaluate(row)}
    assert verdicts == {"test_mse": "met", "code_size": "MISSED", "lab_seconds": "MISSED"}
    row = _row("01_cnn_autoencoder", test_mse=0.004)
    assert {c["verdict"] for c in targets.evaluate(row) if c["target"].startswith("code_size")} == {"missing"}


def test_stand_in_results_never_meet_a_quality_target():
    row = _row("01_cnn_autoencoder", standin=True, test_mse=0.001, code_size=98)
    verdicts = [c["verdict"] for c in targets.evaluate(row) if not c["target"].startswith("lab_seconds")]
    assert verdicts and all(v.startswith("stand-in") for v in verdicts)


def test_every_target_names_a_lab_that_exists():
    labs = {p.stem for p in notebooks.lab_paths()}
    assert set(targets.TARGETS) <= labs


def test_bench_from_summary_writes_report(tmp_path, capsys):
    summary = {"profile": "full", "build_dir": "b", "failed": 0,
               "labs": [_row("01_cnn_autoencoder", seconds=200, test_mse=0.003, code_size=98)]}
    (tmp_path / "summary.json").write_text(json.dumps(summary))
    code = cli.main(["bench", "--from-summary", str(tmp_path / "summary.json"), "--no-baselines", "--grading", "0",
                     "--out", str(tmp_path / "out")])
    report = (tmp_path / "out" / "report.md").read_text()
    assert code == 0 and "| 01_cnn_autoencoder | test_mse <= 0.0056 | 0.003 | met |" in report
    assert json.loads((tmp_path / "out" / "report.json").read_text())["targets"][0]["verdict"] == "met"


def _timed_cell(seconds):
    return {"cell_type": "code", "metadata": {"papermill": {"duration": seconds}}, "source": "", "outputs": []}


def test_seconds_by_section_sums_cells_under_their_heading_and_keeps_the_labs_order():
    nb = {"cells": [
        _timed_cell(0.5),
        {"cell_type": "markdown", "metadata": {}, "source": ["# Lab 9\n", "intro"]},
        _timed_cell(1.0),
        {"cell_type": "markdown", "metadata": {}, "source": "## 2. Study\n### Exercise 1: not a section"},
        _timed_cell(30.0), _timed_cell(12.25),
        {"cell_type": "markdown", "metadata": {}, "source": "Text without a heading."},
        _timed_cell(2.0),
        {"cell_type": "markdown", "metadata": {}, "source": "## 3. Plots"},
        {"cell_type": "code", "metadata": {}, "source": "x = 1", "outputs": []},  # never ran: no duration
        _timed_cell(4.0),
    ]}
    sections = notebooks.seconds_by_section(nb, total_seconds=60.0)
    assert sections == [("(before the first heading)", 0.5), ("Lab 9", 1.0), ("2. Study", 44.2),
                        ("3. Plots", 4.0), (notebooks.OUTSIDE_CELLS, 10.2)]
    text = notebooks.format_sections("09_lab", sections)
    assert text.splitlines()[0] == "09_lab: seconds by section" and "2. Study" in text and "74 %" in text
    assert notebooks.seconds_by_section(nb)[-1] == ("3. Plots", 4.0)  # no total: nothing outside the cells


def test_bench_report_names_the_largest_sections_of_each_lab(tmp_path):
    row = _row("01_cnn_autoencoder", seconds=200, test_mse=0.003, code_size=98)
    row["sections"] = [["1. Data", 3.0], ["2. Model", 1.0], ["3. Train", 150.0], ["4. Study", 40.0]]
    summary = {"profile": "full", "build_dir": "b", "failed": 0, "labs": [row]}
    (tmp_path / "summary.json").write_text(json.dumps(summary))
    assert cli.main(["bench", "--from-summary", str(tmp_path / "summary.json"), "--no-baselines", "--grading", "0",
                     "--out", str(tmp_path / "out")]) == 0
    report = (tmp_path / "out" / "report.md").read_text()
    assert "| 01_cnn_autoencoder | 200.0 | 3. Train 150.0 s; 4. Study 40.0 s; 1. Data 3.0 s |" in report


def test_summary_of_a_folder_keeps_labs_run_earlier(tmp_path):
    runner.merge_into_folder_summary(tmp_path, {"profile": "full", "labs": [_row("01_a"), _row("02_b")]})
    runner.merge_into_folder_summary(tmp_path, {"profile": "full", "labs": [_row("02_b", status="failed")]})
    merged = json.loads((tmp_path / "summary.json").read_text())
    assert [r["lab"] for r in merged["labs"]] == ["01_a", "02_b"]
    assert merged["labs"][1]["status"] == "failed" and merged["failed"] == 1


# ---------------------------------------------------------------- side by side with the baselines
from labkit import bench  # noqa: E402


def _baseline(figures, seconds=300.0, capped=False, estimated=None, status="ok"):
    return {"status": status, "description": "d", "data": "MNIST", "figures": figures, "seconds": seconds,
            "capped": capped, "estimated_full_seconds": estimated, "epochs": {"m": 5}, "source_epochs": {"m": 5},
            "date": "2026-01-01T00:00:00", "load_start": 1.0, "load_end": 1.5, "lab_seconds_given": 100.0}


def test_compare_figure_follows_the_direction_of_each_figure():
    assert bench.compare_figure(0.003, 0.005, "lower")["verdict"] == "at or better"
    assert bench.compare_figure(0.006, 0.005, "lower")["verdict"] == "WORSE"
    assert bench.compare_figure(0.70, 0.65, "higher")["verdict"] == "at or better"
    assert bench.compare_figure(0.60, 0.65, "higher")["verdict"] == "WORSE"
    assert bench.compare_figure(0.005, 0.005, "lower")["verdict"] == "at or better"  # equal counts
    assert abs(bench.compare_figure(0.003, 0.006, "lower")["ratio"] - 0.5) < 1e-12
    assert bench.compare_figure(None, 0.005, "lower")["verdict"] == "missing"


def test_compare_figure_refuses_an_unknown_direction():
    import pytest

    with pytest.raises(ValueError, match="lower"):
        bench.compare_figure(1.0, 2.0, "smaller")


def test_time_ratio_uses_the_estimate_of_a_capped_baseline():
    row = _row("03_denoising_autoencoder", seconds=200.0, test_mse_w32_sd3=0.004)
    plain = bench.compare_lab(row, _baseline({"test_mse_w32_sd3": {"value": 0.01, "better": "lower"}}, seconds=600))
    assert plain["time_ratio"] == 3.0 and plain["quality_ok"]
    capped = bench.compare_lab(row, _baseline({"test_mse_w32_sd3": {"value": 0.003, "better": "lower"}},
                                              seconds=210, capped=True, estimated=2000.0))
    assert capped["source_seconds"] == 2000.0 and capped["time_ratio"] == 10.0
    assert not capped["quality_ok"]


def test_totals_give_the_45_minute_and_3x_verdicts():
    rows = [_row("01_a", seconds=600.0, f=0.1), _row("02_b", seconds=400.0, g=0.9)]
    good = [bench.compare_lab(rows[0], _baseline({"f": {"value": 0.2, "better": "lower"}}, seconds=2000)),
            bench.compare_lab(rows[1], _baseline({"g": {"value": 0.8, "better": "higher"}}, seconds=1000))]
    t = bench.totals(rows, good)
    assert t["course_verdict"] == "met" and t["speedup"] == 3.0 and t["speedup_verdict"] == "met"
    slow = [bench.compare_lab(rows[0], _baseline({"f": {"value": 0.2, "better": "lower"}}, seconds=1900)), good[1]]
    assert bench.totals(rows, slow)["speedup_verdict"] == "MISSED"
    worse = [good[0], bench.compare_lab(rows[1], _baseline({"g": {"value": 0.95, "better": "higher"}}, seconds=9000))]
    assert bench.totals(rows, worse)["speedup_verdict"] == "MISSED"
    long_rows = [_row("01_a", seconds=2000.0), _row("02_b", seconds=800.0)]
    assert bench.totals(long_rows, [])["course_verdict"] == "MISSED"
    failed = [_row("01_a", seconds=100.0), _row("02_b", status="failed", seconds=10.0)]
    assert bench.totals(failed, [])["course_verdict"].startswith("incomplete")


def test_a_lab_without_a_baseline_means_the_3x_check_is_not_met():
    rows = [_row("01_a", seconds=100.0, f=0.1), _row("02_b", seconds=100.0)]
    comparisons = [bench.compare_lab(rows[0], _baseline({"f": {"value": 0.2, "better": "lower"}}, seconds=900)),
                   bench.compare_lab(rows[1], None)]
    t = bench.totals(rows, comparisons)
    assert t["speedup"] == 9.0 and t["not_compared"] == ["02_b"] and t["speedup_verdict"] == "MISSED"


def test_baselines_round_trip_through_json_and_merge(tmp_path):
    path = tmp_path / "b" / "baselines.json"
    first = {"01_cnn_autoencoder": _baseline({"test_mse": {"value": 0.005, "better": "lower"}})}
    bench.save_baselines(path, first)
    bench.save_baselines(path, {"06_cifar10_pooling": _baseline({"test_accuracy": {"value": 0.6, "better": "higher"}})})
    loaded = bench.load_baselines(path)
    assert set(loaded) == {"01_cnn_autoencoder", "06_cifar10_pooling"}
    assert loaded["01_cnn_autoencoder"] == first["01_cnn_autoencoder"]


def test_load_baselines_says_what_is_wrong(tmp_path):
    import pytest

    bad = tmp_path / "x.json"
    bad.write_text(json.dumps({"labs": []}))
    with pytest.raises(ValueError, match="not a baselines file"):
        bench.load_baselines(bad)
    with pytest.raises(ValueError, match="Cannot read"):
        bench.load_baselines(tmp_path / "missing.json")


def test_smoke_time_sums_a_smoke_summary_and_refuses_a_full_one(tmp_path):
    import pytest

    path = tmp_path / "summary.json"
    path.write_text(json.dumps({"profile": "smoke", "labs": [_row("01_a", seconds=20.5), _row("02_b", seconds=30)]}))
    assert bench.smoke_time(path)["seconds"] == 50.5
    assert bench.smoke_time(tmp_path / "none.json") is None
    path.write_text(json.dumps({"profile": "full", "labs": []}))
    with pytest.raises(ValueError, match="not a smoke"):
        bench.smoke_time(path)


def test_bench_combines_a_summary_with_saved_baselines(tmp_path):
    summary = {"profile": "full", "build_dir": "b", "failed": 0,
               "labs": [_row("01_cnn_autoencoder", seconds=100, test_mse=0.003, code_size=98, train_seconds=50),
                        _row("06_cifar10_pooling", seconds=500, test_accuracy=0.70, study_seconds=300,
                             train_seconds=100)]}
    (tmp_path / "summary.json").write_text(json.dumps(summary))
    bench.save_baselines(tmp_path / "baselines.json", {
        "01_cnn_autoencoder": _baseline({"test_mse": {"value": 0.0047, "better": "lower"}}, seconds=400),
        "06_cifar10_pooling": _baseline({"test_accuracy": {"value": 0.62, "better": "higher"}}, seconds=200,
                                        capped=True, estimated=1600.0)})
    (tmp_path / "smoke.json").write_text(json.dumps({"profile": "smoke", "labs": [_row("01_a", seconds=30)]}))
    code = cli.main(["bench", "--from-summary", str(tmp_path / "summary.json"), "--baselines-from",
                     str(tmp_path / "baselines.json"), "--smoke-summary", str(tmp_path / "smoke.json"),
                     "--out", str(tmp_path / "out"), "--grading", "0"])
    assert code == 0
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["totals"]["speedup"] == 2000 / 600 and report["totals"]["speedup_verdict"] == "met"
    assert report["totals"]["course_verdict"] == "met" and report["smoke"]["seconds"] == 30
    text = (tmp_path / "out" / "report.md").read_text()
    assert report["totals"]["model_speedup"] == 2000 / 450 and report["totals"]["model_speedup_verdict"] == "met"
    assert ("| 01_cnn_autoencoder | 100 | 50 | 400 | 400 | 4.00x / 8.00x | test_mse | 0.003 | 0.0047 | lower | "
            "at or better |") in text
    assert "1600 (estimated; capped run)" in text and "CAPPED" in text


def test_model_time_needs_every_record_it_names():
    row = _row("03_denoising_autoencoder", train_seconds_32=10.0, train_seconds_64=30.0)
    assert bench.model_seconds(row) == 40.0
    assert bench.model_seconds(_row("03_denoising_autoencoder", train_seconds_32=10.0)) is None
    assert bench.model_seconds(_row("99_unknown", train_seconds=5.0)) is None


def test_bench_exits_non_zero_when_a_lab_failed(tmp_path):
    summary = {"profile": "full", "labs": [_row("01_cnn_autoencoder", status="failed", seconds=5)]}
    (tmp_path / "summary.json").write_text(json.dumps(summary))
    code = cli.main(["bench", "--from-summary", str(tmp_path / "summary.json"), "--no-baselines", "--grading", "0",
                     "--out", str(tmp_path / "out")])
    assert code == 1 and "not run (--no-baselines)" in (tmp_path / "out" / "report.md").read_text()


def test_machine_stamp_finds_a_package_under_any_of_its_names():
    from importlib import metadata

    assert bench._version("no-such-package-here", "pytest") == metadata.version("pytest")
    assert bench._version("no-such-package-here") == "not installed"
    assert set(bench.machine_stamp()) == {"platform", "cpu_cores", "python", "tensorflow", "keras"}


def test_key_results_put_the_lab_s_headline_figures_before_what_it_recorded_first():
    records = _row("06_cifar10_pooling", study_seconds=88.0, train_size=5e4, test_accuracy=0.712)["records"]
    records["pooling_verdicts"] = {"name": "pooling_verdicts", "value": {"L2": "no clear difference"}}
    assert runner.key_results(records, lab="06_cifar10_pooling") == (
        "test_accuracy=0.712, study_seconds=88, train_size=5e+04")
    assert runner.key_results(records).startswith("study_seconds=88")  # no lab: in recorded order
    table = runner.format_table([_row("06_cifar10_pooling", study_seconds=88.0, test_accuracy=0.712)])
    assert "test_accuracy=0.712, study_seconds=88" in table
