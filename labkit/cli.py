"""The ``labkit`` command: run labs headless, read their results, benchmark them, build the book.

    labkit run [NOTEBOOK ...] --profile smoke|full [-p NAME VALUE ...]
    labkit records EXECUTED_NOTEBOOK ...
    labkit bench [NOTEBOOK ...] [--from-summary build/full/summary.json]
    labkit book [--from build/full]
    labkit refresh-checks NOTEBOOK ...
"""

from __future__ import annotations

import argparse
import ast
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

from labkit import notebooks, settings
from labkit.results import read_records


def _value(text: str):
    """Turn a command-line value into a Python literal where it looks like one ('3' -> 3)."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _error_summary(err: BaseException) -> str:
    name = getattr(err, "ename", type(err).__name__)
    value = getattr(err, "evalue", str(err))
    text = " ".join(f"{name}: {value}".split())  # one line, for the progress line and the table
    return text if len(text) <= 300 else text[:297] + "..."


def run_lab(path: Path, out_dir: Path, profile: str, params: dict, timeout: int) -> dict:
    """Execute one lab with papermill; never raises, returns a result row."""
    import papermill

    row = {"lab": path.stem, "notebook": str(path), "status": "failed", "seconds": 0.0,
           "output": None, "error": None, "records": {}}
    start = time.perf_counter()
    try:
        declared = notebooks.parameters(notebooks.read_notebook(path))
        unknown = sorted(set(params) - set(declared))
        if unknown:
            raise ValueError(f"{path.name} has no parameter {', '.join(unknown)}; "
                             f"its parameters are {', '.join(declared) or 'none'}.")
        out_dir.mkdir(parents=True, exist_ok=True)
        output = out_dir / path.name
        row["output"] = str(output)
        papermill.execute_notebook(
            str(path), str(output), parameters={"PROFILE": profile, **params},
            kernel_name="python3", cwd=str(path.parent), progress_bar=False,
            execution_timeout=timeout, log_output=False,
        )
        row["status"] = "ok"
    except Exception as err:  # one lab failing must not stop the others
        row["error"] = _error_summary(err)
    row["seconds"] = round(time.perf_counter() - start, 1)
    if row["output"] and Path(row["output"]).exists():
        try:
            row["records"] = read_records(row["output"])
        except ValueError as err:
            row["error"] = row["error"] or str(err)
    return row


def _key_results(records: dict, limit: int = 3) -> str:
    shown = []
    for name, rec in records.items():
        value = rec.get("value")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        shown.append(f"{name}={value:.4g}")
        if len(shown) == limit:
            break
    return ", ".join(shown)


def _data_label(records: dict) -> str:
    """STAND-IN if any record came from a stand-in, else the kinds of data the records name."""
    if any(rec.get("standin") for rec in records.values()):
        return "STAND-IN"
    kinds = sorted({rec.get("data_kind") or ("real" if rec.get("standin") is False else None)
                    for rec in records.values()} - {None})
    return "+".join(kinds) or "-"


def format_table(rows: list[dict]) -> str:
    header = ("lab", "status", "seconds", "data", "key results")
    lines = [(r["lab"], r["status"], f"{r['seconds']:.1f}", _data_label(r["records"]),
              _key_results(r["records"]) or (r["error"] or "")[:70]) for r in rows]
    widths = [max(len(str(x)) for x in col) for col in zip(header, *lines)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join([fmt.format(*header), fmt.format(*("-" * w for w in widths))]
                     + [fmt.format(*line) for line in lines])


def _parse_params(pairs) -> dict:
    params = {}
    for name, value in pairs or []:
        if not name.isidentifier():
            raise ValueError(f"-p {name} is not a parameter name (use NAME VALUE, e.g. -p EPOCHS 3)")
        params[name] = _value(value)
    return params


def _configure_environment(profile, data_source=None, data_dir=None) -> None:
    """Environment variables the lab kernels inherit."""
    os.environ[settings.PROFILE_ENV] = profile
    if data_source:
        os.environ[settings.DATA_SOURCE_ENV] = data_source
    if data_dir:
        os.environ[settings.DATA_DIR_ENV] = str(Path(data_dir).expanduser().resolve())


def run_labs(paths, out_dir: Path, profile: str, params: dict, timeout: int) -> dict:
    """Run labs one after another with a progress line each; write and return the summary."""
    print(f"Running {len(paths)} lab(s), profile {profile}, into {out_dir}", flush=True)
    rows = []
    for k, path in enumerate(paths, 1):
        print(f"[{k}/{len(paths)}] {path.stem} ...", end=" ", flush=True)
        row = run_lab(path, out_dir, profile, params, timeout)
        rows.append(row)
        tail = f" ({row['error']})" if row["error"] else ""
        print(f"{row['status']} in {row['seconds']:.1f} s{tail}", flush=True)
    summary = {"profile": profile, "build_dir": str(out_dir), "parameters": params,
               "failed": sum(r["status"] != "ok" for r in rows), "labs": rows}
    out_dir.mkdir(parents=True, exist_ok=True)
    _merge_into_folder_summary(out_dir, summary)
    print()
    print(format_table(rows))
    return summary


def _merge_into_folder_summary(out_dir: Path, summary: dict) -> None:
    """Write summary.json for the folder: this run's labs replace their earlier rows, others stay."""
    path = out_dir / "summary.json"
    stamp = datetime.datetime.now().isoformat(timespec="seconds")
    for row in summary["labs"]:
        row["finished_at"] = stamp
    rows = {}
    try:
        earlier = json.loads(path.read_text(encoding="utf-8"))
        if earlier.get("profile") == summary["profile"]:
            rows = {r["lab"]: r for r in earlier.get("labs", [])}
    except (OSError, ValueError, AttributeError):
        pass  # no earlier summary, or an unreadable one: start afresh
    rows.update({r["lab"]: r for r in summary["labs"]})
    merged = {**summary, "labs": [rows[k] for k in sorted(rows)]}
    merged["failed"] = sum(r["status"] != "ok" for r in merged["labs"])
    path.write_text(json.dumps(merged, indent=2), encoding="utf-8")


def cmd_run(args) -> int:
    try:
        params = _parse_params(args.param)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    paths = notebooks.lab_paths(args.notebooks)
    if not paths:
        print(f"error: no lab notebooks found in {settings.NOTEBOOK_DIR}", file=sys.stderr)
        return 2
    out_dir = Path(args.build_dir or settings.BUILD_DIR / args.profile).resolve()
    _configure_environment(args.profile, args.data_source, args.data_dir)
    summary = run_labs(paths, out_dir, args.profile, params, args.timeout or (600 if args.profile == "smoke" else 3600))
    print()
    print(f"Executed notebooks: {out_dir}")
    print(f"Results summary:    {out_dir / 'summary.json'}")
    if summary["failed"]:
        print(f"{summary['failed']} lab(s) failed; open the executed notebook to see the error in place.")
    return 1 if summary["failed"] else 0


def _bench_report(summary: dict, checks: list[dict]) -> str:
    lines = [
        "# Benchmark report", "",
        f"- date: {datetime.datetime.now().isoformat(timespec='seconds')}",
        f"- machine: {platform.platform()}, {os.cpu_count()} CPU cores, Python {platform.python_version()}",
        f"- profile: {summary['profile']}; executed notebooks: {summary['build_dir']}", "",
        "## Labs", "", "| lab | status | seconds | data | key results |", "|---|---|---|---|---|",
    ]
    for r in summary["labs"]:
        lines.append(f"| {r['lab']} | {r['status']} | {r['seconds']:.1f} | {_data_label(r['records'])} | "
                     f"{_key_results(r['records'], limit=6) or r.get('error') or ''} |")
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
        _configure_environment("full", "real", args.data_dir)
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


def cmd_book(args) -> int:
    """Copy the book's pages (executed notebooks where they exist) into build/book and build it."""
    executed = Path(args.source).resolve()
    site = Path(args.out or settings.BUILD_DIR / "book").resolve()
    root = settings.REPO_ROOT
    if site.exists():
        shutil.rmtree(site)
    (site / "notebooks").mkdir(parents=True)
    (site / "data").mkdir()
    for name in ("_toc.yml", "_config.yml", "README.md"):
        shutil.copy(root / name, site / name)
    shutil.copy(root / "data" / "README.md", site / "data" / "README.md")
    missing = []
    for lab in notebooks.lab_paths():
        ran = executed / lab.name
        if not ran.exists():
            missing.append(lab.name)
        shutil.copy(ran if ran.exists() else lab, site / "notebooks" / lab.name)
    if missing:
        print(f"warning: no executed copy in {executed} of {', '.join(missing)}; "
              f"those pages show the code without results (run `labkit run` first).")
    builder = shutil.which("jupyter-book", path=str(Path(sys.executable).parent)) or shutil.which("jupyter-book")
    if builder is None:
        print('error: jupyter-book is not installed; install it with: pip install -e ".[book]"', file=sys.stderr)
        return 2
    proc = subprocess.run([builder, "build", str(site), "--path-output", str(site)], text=True)
    index = site / "_build" / "html" / "index.html"
    if proc.returncode == 0 and index.exists():
        print(f"Book: {index}")
        return 0
    print("error: the book did not build; see the messages above.", file=sys.stderr)
    return 1


def cmd_records(args) -> int:
    status = 0
    for path in args.notebooks:
        try:
            records = read_records(path)
        except ValueError as err:
            print(f"error: {err}", file=sys.stderr)
            status = 1
            continue
        print(json.dumps({"notebook": path, "records": records}, indent=2))
    return status


CHECK_TAG = "nbval-check-output"


def refresh_checked_outputs(source: Path, executed: Path) -> int:
    """Copy the outputs of cells tagged nbval-check-output from an executed copy into the source.

    Every other cell is left without outputs. Checked cells get an execution count, which nbval
    needs to compare them. Returns the number of checked cells.
    """
    import nbformat

    nb = nbformat.read(source, as_version=4)
    ran = {cell.get("id"): cell for cell in nbformat.read(executed, as_version=4).cells}
    count = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        cell.outputs, cell.execution_count = [], None
        if CHECK_TAG in cell.metadata.get("tags", []):
            count += 1
            cell.outputs = [o for o in ran[cell.get("id")].outputs if o.get("output_type") != "error"]
            cell.execution_count = count
            for out in cell.outputs:
                if "execution_count" in out:
                    out["execution_count"] = count
    nbformat.write(nb, source)
    return count


def cmd_refresh_checks(args) -> int:
    """Run labs in the smoke profile and store their checked cells' outputs in the source notebooks."""
    _configure_environment("smoke")
    os.environ.pop(settings.DATA_SOURCE_ENV, None)
    out_dir = Path(args.build_dir or settings.BUILD_DIR / "smoke").resolve()
    status = 0
    for path in notebooks.lab_paths(args.notebooks):
        row = run_lab(path, out_dir, "smoke", {}, args.timeout)
        if row["status"] != "ok":
            print(f"{path.name}: not refreshed, the smoke run failed ({row['error']})")
            status = 1
            continue
        print(f"{path.name}: {refresh_checked_outputs(path, Path(row['output']))} checked cell(s) refreshed")
    return status


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="labkit", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="execute labs headless into the build folder")
    run.add_argument("notebooks", nargs="*", help="lab notebooks or numbers (default: all labs)")
    run.add_argument("--profile", choices=settings.PROFILES, default="full")
    run.add_argument("-p", "--param", nargs=2, action="append", metavar=("NAME", "VALUE"),
                     help="set a lab parameter, e.g. -p EPOCHS 3 (repeatable)")
    run.add_argument("--data-source", choices=settings.DATA_SOURCES,
                     help="auto (real data, else the stand-in), real (fail without it) or embedded")
    run.add_argument("--data-dir", help=f"folder with mnist.npz etc. (sets {settings.DATA_DIR_ENV})")
    run.add_argument("--build-dir", help="where executed notebooks go (default build/PROFILE)")
    run.add_argument("--timeout", type=int, help="seconds any one cell may run")
    run.set_defaults(func=cmd_run)

    rec = sub.add_parser("records", help="print the recorded results of executed notebooks as JSON")
    rec.add_argument("notebooks", nargs="+")
    rec.set_defaults(func=cmd_records)

    bench = sub.add_parser("bench", help="run labs in the full profile on real data and check the targets")
    bench.add_argument("notebooks", nargs="*", help="lab notebooks or numbers (default: all labs)")
    bench.add_argument("--data-dir", help=f"folder with mnist.npz etc. (sets {settings.DATA_DIR_ENV})")
    bench.add_argument("--from-summary", help="check an existing summary.json instead of running the labs")
    bench.add_argument("--out", help="where the report goes (default build/bench)")
    bench.add_argument("--timeout", type=int, help="seconds any one cell may run")
    bench.set_defaults(func=cmd_bench)

    book = sub.add_parser("book", help="build the web book (Jupyter Book 1) from executed notebooks")
    book.add_argument("--from", dest="source", default=str(settings.BUILD_DIR / "full"),
                      help="folder of executed notebooks (default build/full)")
    book.add_argument("--out", help="where the book is built (default build/book)")
    book.set_defaults(func=cmd_book)

    checks = sub.add_parser("refresh-checks", help="after a deliberate architecture change: store the new "
                            "outputs of the cells nbval checks (runs the labs in the smoke profile)")
    checks.add_argument("notebooks", nargs="+", help="lab notebooks or numbers")
    checks.add_argument("--build-dir", help="where the smoke runs go (default build/smoke)")
    checks.add_argument("--timeout", type=int, default=600, help="seconds any one cell may run")
    checks.set_defaults(func=cmd_refresh_checks)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
