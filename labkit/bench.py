"""``labkit bench``: run labs in the full profile on real data and report against the targets."""

from __future__ import annotations

import datetime
import json
import os
import platform
from pathlib import Path

from labkit import notebooks, settings
from labkit.runner import configure_environment, data_label, key_results, run_labs


def _bench_report(summary: dict, checks: list[dict]) -> str:
    lines = [
        "# Benchmark report", "",
        f"- date: {datetime.datetime.now().isoformat(timespec='seconds')}",
        f"- machine: {platform.platform()}, {os.cpu_count()} CPU cores, Python {platform.python_version()}",
        f"- profile: {summary['profile']}; executed notebooks: {summary['build_dir']}", "",
        "## Labs", "", "| lab | status | seconds | data | key results |", "|---|---|---|---|---|",
    ]
    for r in summary["labs"]:
        lines.append(f"| {r['lab']} | {r['status']} | {r['seconds']:.1f} | {data_label(r['records'])} | "
                     f"{key_results(r['records'], limit=6) or r.get('error') or ''} |")
    lines += ["", "## Targets", "", "| lab | target | value | verdict | source of the threshold |",
              "|---|---|---|---|---|"]
    for c in checks:
        value = f"{c['value']:.5g}" if isinstance(c["value"], (int, float)) else str(c["value"])
        lines.append(f"| {c['lab']} | {c['target']} | {value} | {c['verdict']} | {c['why']} |")
    return "\n".join(lines) + "\n"


def cmd_bench(args) -> int:
    from labkit import targets

    out_dir = Path(args.out or settings.BUILD_DIR / "bench").resolve()
    if args.from_summary:
        summary = json.loads(Path(args.from_summary).read_text(encoding="utf-8"))
    else:
        paths = notebooks.lab_paths(args.notebooks)
        configure_environment("full", "real", args.data_dir)
        summary = run_labs(paths, out_dir, "full", {}, args.timeout or 3600)
    checks = [c for row in summary["labs"] for c in targets.evaluate(row)]
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "report.json").write_text(json.dumps({"summary": summary, "targets": checks}, indent=2))
    report = _bench_report(summary, checks)
    (out_dir / "report.md").write_text(report, encoding="utf-8")
    print()
    print(report)
    print(f"Benchmark report: {out_dir / 'report.md'} (and report.json)")
    return 1 if summary["failed"] else 0
