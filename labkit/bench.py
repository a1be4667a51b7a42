"""``labkit bench``: the labs in the full profile against the source documents' models, side by side.

It runs the chosen labs (or reads a summary.json), runs or loads the baselines of
:mod:`labkit.baselines`, and writes build/bench/report.md and report.json: per lab the wall time,
key figures, the baseline's figures and time, the ratios, the targets met or missed, the totals
(45 minutes for the course, 3x less time than the baselines) and the smoke-profile time (CI budget).
"""

from __future__ import annotations

import datetime
import json
import os
import platform
from importlib import metadata
from pathlib import Path

from labkit import grading_speed, notebooks, settings
from labkit.runner import configure_environment, data_label, key_results, run_labs

COURSE_LIMIT_SECONDS = 45 * 60   # the whole course in the full profile
SPEEDUP_TARGET = 3.0             # summed baseline time / summed lab time, at equal or better quality

#: The records that hold the training seconds of the part of each lab a baseline reproduces: the
#: baseline is one source model (or study), the lab's wall time also pays for its other sections.
MODEL_SECONDS_RECORDS = {
    "01_cnn_autoencoder": ("train_seconds",),
    "02_lstm_autoencoder": ("rows_train_seconds",),
    "03_denoising_autoencoder": ("train_seconds_32", "train_seconds_64"),
    "04_stacked_autoencoder": ("train_seconds",),
    "05_variational_autoencoder": ("train_seconds",),
    "06_cifar10_pooling": ("study_seconds", "train_seconds"),  # the source's study is L x pooling too
    "07_imu_lstm_regression": ("train_seconds",),
}


# ---------------------------------------------------------------- stamps
def now() -> str:
    return datetime.datetime.now().isoformat(timespec="seconds")


def load_average() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:  # not every platform has one
        return None


def _version(*packages: str) -> str:
    """The installed version of the first of ``packages`` found (TensorFlow has several names)."""
    for package in packages:
        try:
            return metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return "not installed"


def machine_stamp() -> dict:
    """Platform, cores, Python, TensorFlow and Keras versions (without importing TensorFlow)."""
    return {"platform": platform.platform(), "cpu_cores": os.cpu_count(), "python": platform.python_version(),
            "tensorflow": _version("tensorflow", "tensorflow-cpu", "tensorflow-intel", "tensorflow-macos"),
            "keras": _version("keras")}


# ---------------------------------------------------------------- baselines: run, save, load
def run_baselines(labs, lab_seconds: dict, source: str = "real") -> dict:
    """Run the baselines of ``labs`` one after another; a failing one is recorded, never fatal."""
    from labkit import baselines
    from labkit.setup import seed_everything

    seed_everything(baselines.SEED)  # the same deterministic ops as the labs run with
    out = {}
    for lab in labs:
        if lab not in baselines.BASELINES:
            continue
        print(f"=== baseline of {lab}", flush=True)
        stamp = {"date": now(), "load_start": load_average()}
        try:
            result = baselines.run_baseline(lab, baselines.Options(source=source, lab_seconds=lab_seconds.get(lab)))
            result["status"] = "ok"
        except Exception as err:  # one baseline failing must not stop the others
            result = {"status": "failed", "error": f"{type(err).__name__}: {err}"[:300]}
        out[lab] = {**result, **stamp, "load_end": load_average(), "lab_seconds_given": lab_seconds.get(lab),
                    "machine": machine_stamp()}
        print(f"=== {lab}: baseline {result['status']}", flush=True)
    return out


def save_baselines(path: Path, results: dict) -> dict:
    """Write baselines to JSON; labs already in the file and not run again are kept."""
    path = Path(path)
    merged = load_baselines(path) if path.exists() else {}
    merged.update(results)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"baselines": dict(sorted(merged.items()))}, indent=2), encoding="utf-8")
    return merged


def load_baselines(path) -> dict:
    """Read a baselines JSON written by :func:`save_baselines`, with a clear error when it is not one."""
    try:
        content = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ValueError(f"Cannot read baselines from {path}: {err}") from err
    if not isinstance(content, dict) or not isinstance(content.get("baselines"), dict):
        raise ValueError(f"{path} is not a baselines file: it needs a top-level 'baselines' object.")
    return content["baselines"]


# ---------------------------------------------------------------- comparison
def compare_figure(lab_value, baseline_value, better: str) -> dict:
    """Lab against baseline on one figure: the ratio lab/baseline and a verdict in the figure's direction."""
    if better not in ("lower", "higher"):
        raise ValueError(f"better={better!r}: use 'lower' (errors, losses) or 'higher' (accuracy).")
    if not isinstance(lab_value, (int, float)) or isinstance(lab_value, bool):
        return {"lab": lab_value, "baseline": baseline_value, "better": better, "ratio": None, "verdict": "missing"}
    ratio = lab_value / baseline_value if baseline_value else None
    at_least_as_good = lab_value <= baseline_value if better == "lower" else lab_value >= baseline_value
    return {"lab": lab_value, "baseline": baseline_value, "better": better, "ratio": ratio,
            "verdict": "at or better" if at_least_as_good else "WORSE"}


def source_seconds(baseline: dict) -> float:
    """The time the source's settings take: measured, or estimated from first epochs when capped."""
    return baseline["estimated_full_seconds"] if baseline.get("capped") else baseline["seconds"]


def model_seconds(row: dict) -> float | None:
    """Training seconds of the lab's own model(s) that its baseline stands against, from its records."""
    names = MODEL_SECONDS_RECORDS.get(row["lab"], ())
    values = [row.get("records", {}).get(n, {}).get("value") for n in names]
    if not names or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return None
    return float(sum(values))


def compare_lab(row: dict, baseline: dict | None) -> dict:
    """One lab's row of the side-by-side table."""
    out = {"lab": row["lab"], "lab_seconds": row.get("seconds"), "lab_status": row.get("status"),
           "data": data_label(row.get("records", {})), "baseline_status": None, "figures": {}}
    if not baseline:
        return out
    out["baseline_status"] = baseline.get("status")
    if baseline.get("status") != "ok":
        return out
    for name, fig in baseline["figures"].items():
        value = row.get("records", {}).get(name, {}).get("value")
        out["figures"][name] = compare_figure(value, fig["value"], fig["better"])
    seconds = source_seconds(baseline)
    ok = row.get("status") == "ok" and row.get("seconds")
    model = model_seconds(row)
    out.update(baseline_seconds=baseline["seconds"], capped=baseline["capped"], source_seconds=seconds,
               time_ratio=seconds / row["seconds"] if ok else None, model_seconds=model,
               model_time_ratio=seconds / model if ok and model else None,
               quality_ok=all(f["verdict"] == "at or better" for f in out["figures"].values()))
    return out


def totals(rows: list[dict], comparisons: list[dict]) -> dict:
    """The two course-level checks: 45 minutes in all, and 3x less time than the baselines."""
    lab_total = sum(r.get("seconds") or 0 for r in rows)
    complete = all(r.get("status") == "ok" for r in rows)
    compared = [c for c in comparisons if c.get("time_ratio") is not None]
    lab_sum = sum(c["lab_seconds"] for c in compared)
    source_sum = sum(c["source_seconds"] for c in compared)
    run_sum = sum(c["baseline_seconds"] for c in compared)
    quality_ok = bool(compared) and all(c["quality_ok"] for c in compared)
    ratio = source_sum / lab_sum if lab_sum else None
    missing = [c["lab"] for c in comparisons if c.get("time_ratio") is None]
    with_model = [c for c in compared if c.get("model_seconds")]
    model_sum = sum(c["model_seconds"] for c in with_model)
    model_ratio = sum(c["source_seconds"] for c in with_model) / model_sum if model_sum else None
    model_missing = [c["lab"] for c in comparisons if not c.get("model_seconds")]
    return {
        "labs": len(rows), "lab_seconds": lab_total, "course_limit_seconds": COURSE_LIMIT_SECONDS,
        "course_verdict": "met" if complete and lab_total <= COURSE_LIMIT_SECONDS else
                          ("MISSED" if complete else "incomplete (a lab failed)"),
        "compared_labs": [c["lab"] for c in compared], "not_compared": missing,
        "compared_lab_seconds": lab_sum, "baseline_run_seconds": run_sum, "baseline_source_seconds": source_sum,
        "speedup": ratio, "speedup_target": SPEEDUP_TARGET, "quality_at_or_better": quality_ok,
        "speedup_verdict": "met" if ratio is not None and ratio >= SPEEDUP_TARGET and quality_ok and not missing
                           else "MISSED",
        "model_seconds": model_sum, "model_speedup": model_ratio, "model_not_compared": model_missing,
        "model_speedup_verdict": "met" if model_ratio is not None and model_ratio >= SPEEDUP_TARGET and quality_ok
                                 and not model_missing else "MISSED",
    }


def smoke_time(path) -> dict | None:
    """The smoke profile's total time from a summary.json, or None when there is none."""
    path = Path(path)
    if not path.is_file():
        return None
    summary = json.loads(path.read_text(encoding="utf-8"))
    if summary.get("profile") != "smoke":
        raise ValueError(f"{path} is a {summary.get('profile')!r} summary, not a smoke-profile one.")
    labs = summary.get("labs", [])
    return {"path": str(path), "labs": len(labs), "seconds": round(sum(r.get("seconds") or 0 for r in labs), 1),
            "failed": sum(r.get("status") != "ok" for r in labs),
            "finished_at": max((r.get("finished_at") or "" for r in labs), default="") or None}


# ---------------------------------------------------------------- the report
def _num(value, fmt=".4g") -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "-" if value is None else str(value)
    return format(value, fmt)


def _comparison_lines(comparisons: list[dict], baselines: dict) -> list[str]:
    lines = ["| lab | lab s | lab model s | baseline s (run) | source settings s | time ratio (lab / model) | "
             "figure | lab | baseline | better | verdict |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for c in comparisons:
        if not c["figures"]:
            why = c["baseline_status"] or "no baseline"
            if c["baseline_status"] == "failed":
                why = f"baseline failed: {baselines[c['lab']].get('error', '')}"
            lines.append(f"| {c['lab']} | {_num(c['lab_seconds'], '.0f')} | | {why} | | | | | | | |")
            continue
        source = _num(c["source_seconds"], ".0f") + (" (estimated; capped run)" if c["capped"] else "")
        for k, (name, f) in enumerate(c["figures"].items()):
            head = (f"| {c['lab']} | {_num(c['lab_seconds'], '.0f')} | {_num(c.get('model_seconds'), '.0f')} | "
                    f"{_num(c['baseline_seconds'], '.0f')} | {source} | {_num(c['time_ratio'], '.2f')}x / "
                    f"{_num(c.get('model_time_ratio'), '.2f')}x |") if k == 0 else "| | | | | | |"
            lines.append(f"{head} {name} | {_num(f['lab'], '.5g')} | {_num(f['baseline'], '.5g')} | "
                         f"{f['better']} | {f['verdict']} |")
    return lines


def _baseline_lines(baselines: dict) -> list[str]:
    lines = []
    for lab, b in sorted(baselines.items()):
        if b.get("status") != "ok":
            lines.append(f"- **{lab}**: {b.get('status')} ({b.get('error', '')})")
            continue
        epochs = ", ".join(f"{name} {b['epochs'][name]}/{n}" for name, n in b["source_epochs"].items())
        cap = (f" CAPPED: the source's settings would take about {b['estimated_full_seconds']:.0f} s "
               f"(estimated from first epochs), so it trained for the lab's wall time "
               f"({_num(b.get('lab_seconds_given'), '.0f')} s); the figures are those at the cap."
               if b["capped"] else "")
        lines.append(f"- **{lab}**: {b['description']} Data: {b['data']}. Epochs run/source: {epochs}. "
                     f"{b['seconds']:.0f} s on {b['date']}, load average {b['load_start']} -> {b['load_end']}.{cap}")
    return lines


def build_report(report: dict) -> str:
    m, t, smoke = report["machine"], report["totals"], report["smoke"]
    summary = report["summary"]
    lines = [
        "# Benchmark report", "",
        f"- date: {report['date']}",
        f"- machine: {m['platform']}, {m['cpu_cores']} CPU cores, Python {m['python']}, "
        f"TensorFlow {m['tensorflow']}, Keras {m['keras']}",
        f"- load average (1 min): {report['load_start']} at start, {report['load_end']} at end",
        f"- labs: profile {summary['profile']}, from {report['labs_from']}",
        f"- baselines: {report['baselines_from']}", "",
        "## Labs", "", "| lab | status | seconds | data | key results |", "|---|---|---|---|---|",
    ]
    for r in summary["labs"]:
        lines.append(f"| {r['lab']} | {r['status']} | {r['seconds']:.1f} | {data_label(r['records'])} | "
                     f"{key_results(r['records'], limit=6, lab=r['lab']) or r.get('error') or ''} |")
    timed = [r for r in summary["labs"] if r.get("sections")]
    if timed:
        lines += ["", "## Where each lab's time goes", "",
                  "Seconds under each heading of the lab (papermill's time per cell), the largest three first.", "",
                  "| lab | seconds | largest sections |", "|---|---|---|"]
        for r in timed:
            top = sorted(r["sections"], key=lambda section: -section[1])[:3]
            lines.append(f"| {r['lab']} | {r['seconds']:.1f} | "
                         + "; ".join(f"{name} {seconds:.1f} s" for name, seconds in top) + " |")
    lines += ["", "## Against the source documents' models", "",
              "Time ratio: the source settings' time over the lab's whole wall time, then over the training "
              "time of the lab's own model(s) that the baseline reproduces (above 1: the lab is faster). The "
              "whole lab also pays for its other sections (studies, probes, plots). A capped baseline trained "
              "only as long as the lab; its source time is the estimate.", ""]
    lines += _comparison_lines(report["comparisons"], report["baselines"])
    lines += ["", "### The baselines", ""] + _baseline_lines(report["baselines"])
    lines += ["", "## Targets", "", "| lab | target | value | verdict | source of the threshold |",
              "|---|---|---|---|---|"]
    for c in report["targets"]:
        lines.append(f"| {c['lab']} | {c['target']} | {_num(c['value'], '.5g')} | {c['verdict']} | {c['why']} |")
    lines += [
        "", "## Totals", "",
        f"- whole course, full profile: {t['lab_seconds'] / 60:.1f} min over {t['labs']} labs "
        f"(limit {t['course_limit_seconds'] / 60:.0f} min): **{t['course_verdict']}**",
        f"- labs compared with a baseline ({len(t['compared_labs'])}): {t['compared_lab_seconds']:.0f} s; "
        f"the source settings: {t['baseline_source_seconds']:.0f} s ({t['baseline_run_seconds']:.0f} s actually run)",
        f"- speed-up {_num(t['speedup'], '.2f')}x (target {t['speedup_target']:g}x), every key figure at or better: "
        f"{'yes' if t['quality_at_or_better'] else 'no'}: **{t['speedup_verdict']}**"
        + (f" (not compared: {', '.join(t['not_compared'])})" if t["not_compared"] else ""),
        f"- the labs' own models against the source settings: {t['model_seconds']:.0f} s of training, speed-up "
        f"{_num(t['model_speedup'], '.2f')}x (target {t['speedup_target']:g}x): **{t['model_speedup_verdict']}**"
        + (f" (no model time recorded: {', '.join(t['model_not_compared'])})" if t["model_not_compared"] else ""),
        "", "## CI budget (smoke profile)", "",
    ]
    if smoke:
        lines.append(f"- {smoke['labs']} labs in {smoke['seconds']:.0f} s ({smoke['seconds'] / 60:.1f} min), "
                     f"{smoke['failed']} failed; from {smoke['path']} (finished {smoke['finished_at']})")
    else:
        lines.append("- no smoke-profile summary found; run `labkit run --profile smoke` first")
    lines += grading_speed.report_lines(report.get("grading"))
    return "\n".join(lines) + "\n"


def grading_overhead(args, out_dir: Path) -> dict | None:
    """The grader's own seconds per submission (:mod:`labkit.grading_speed`), or None with ``--grading 0``."""
    if not args.grading:
        return None
    from labkit.sandbox import sandbox_problem

    problem = sandbox_problem()
    if problem:
        print(f"Not timing the grader: its sandbox cannot run here ({problem}). Install bubblewrap, or pass "
              f"--grading 0.")
        return {"skipped": problem}
    lab = notebooks.lab_paths([args.grading_lab])[0]
    print(f"Grading {args.grading} copies of {lab.stem}'s reference solution ({args.grading_workers} workers) ...")
    return grading_speed.measure(lab, lab.stem, out_dir / "grading", args.grading, args.grading_workers,
                                 data_dir=args.data_dir)


def cmd_bench(args) -> int:
    from labkit import targets

    out_dir = Path(args.out or settings.BUILD_DIR / "bench").resolve()
    load_start, machine = load_average(), machine_stamp()
    if args.data_dir:
        configure_environment("full", "real", args.data_dir)
    if args.from_summary:
        summary = json.loads(Path(args.from_summary).read_text(encoding="utf-8"))
        if args.notebooks:
            wanted = {p.stem for p in notebooks.lab_paths(args.notebooks)}
            summary = {**summary, "labs": [r for r in summary["labs"] if r["lab"] in wanted]}
        labs_from = str(args.from_summary)
    else:
        paths = notebooks.lab_paths(args.notebooks)
        configure_environment("full", "real", args.data_dir)
        summary = run_labs(paths, out_dir, "full", {}, args.timeout or 3600)
        labs_from = f"this run ({out_dir})"
    rows = summary["labs"]

    if args.baselines_from:
        baselines = load_baselines(args.baselines_from)
        baselines_from = f"loaded from {args.baselines_from}"
    elif args.baselines:
        ran = run_baselines([r["lab"] for r in rows], {r["lab"]: r.get("seconds") for r in rows
                                                       if r.get("status") == "ok"})
        save_baselines(out_dir / "baselines.json", ran)
        baselines, baselines_from = ran, f"run now, saved to {out_dir / 'baselines.json'}"
    else:
        baselines, baselines_from = {}, "not run (--no-baselines)"

    comparisons = [compare_lab(r, baselines.get(r["lab"])) for r in rows]
    report = {
        "date": now(), "machine": machine, "load_start": load_start, "load_end": load_average(),
        "labs_from": labs_from, "baselines_from": baselines_from, "summary": summary,
        "targets": [c for row in rows for c in targets.evaluate(row)],
        "baselines": baselines, "comparisons": comparisons, "totals": totals(rows, comparisons),
        "smoke": smoke_time(args.smoke_summary or settings.BUILD_DIR / "smoke" / "summary.json"),
        "grading": grading_overhead(args, out_dir),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "report.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    text = build_report(report)
    (out_dir / "report.md").write_text(text, encoding="utf-8")
    print()
    print(text)
    print(f"Benchmark report: {out_dir / 'report.md'} (and report.json)")
    failed_baselines = sum(b.get("status") != "ok" for b in baselines.values())
    failed_labs = sum(r.get("status") != "ok" for r in rows)
    graded = report["grading"] or {}
    return 1 if failed_labs or failed_baselines or graded.get("full_marks", 0) < graded.get("submissions", 0) else 0
