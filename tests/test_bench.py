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
    code = cli.main(["bench", "--from-summary", str(tmp_path / "summary.json"), "--out", str(tmp_path / "out")])
    report = (tmp_path / "out" / "report.md").read_text()
    assert code == 0 and "| 01_cnn_autoencoder | test_mse <= 0.0056 | 0.003 | met |" in report
    assert json.loads((tmp_path / "out" / "report.json").read_text())["targets"][0]["verdict"] == "met"


def test_summary_of_a_folder_keeps_labs_run_earlier(tmp_path):
    runner.merge_into_folder_summary(tmp_path, {"profile": "full", "labs": [_row("01_a"), _row("02_b")]})
    runner.merge_into_folder_summary(tmp_path, {"profile": "full", "labs": [_row("02_b", status="failed")]})
    merged = json.loads((tmp_path / "summary.json").read_text())
    assert [r["lab"] for r in merged["labs"]] == ["01_a", "02_b"]
    assert merged["labs"][1]["status"] == "failed" and merged["failed"] == 1
