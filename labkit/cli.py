"""The ``labkit`` command: run labs headless, read their results, benchmark them, build the book.

    labkit run [NOTEBOOK ...] --profile smoke|full [-p NAME VALUE ...]
    labkit records EXECUTED_NOTEBOOK ...
    labkit bench [NOTEBOOK ...] [--from-summary build/full/summary.json]
    labkit book [--from build/full]
    labkit refresh-checks NOTEBOOK ...
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from labkit import bench, book, notebooks, runner, settings
from labkit.results import read_records


def cmd_run(args) -> int:
    try:
        params = runner.parse_params(args.param)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    paths = notebooks.lab_paths(args.notebooks)
    if not paths:
        print(f"error: no lab notebooks found in {settings.NOTEBOOK_DIR}", file=sys.stderr)
        return 2
    out_dir = Path(args.build_dir or settings.BUILD_DIR / args.profile).resolve()
    runner.configure_environment(args.profile, args.data_source, args.data_dir)
    summary = runner.run_labs(paths, out_dir, args.profile, params, args.timeout or (600 if args.profile == "smoke" else 3600))
    print()
    print(f"Executed notebooks: {out_dir}")
    print(f"Results summary:    {out_dir / 'summary.json'}")
    if summary["failed"]:
        print(f"{summary['failed']} lab(s) failed; open the executed notebook to see the error in place.")
    return 1 if summary["failed"] else 0


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
    runner.configure_environment("smoke")
    os.environ.pop(settings.DATA_SOURCE_ENV, None)
    out_dir = Path(args.build_dir or settings.BUILD_DIR / "smoke").resolve()
    status = 0
    for path in notebooks.lab_paths(args.notebooks):
        row = runner.run_lab(path, out_dir, "smoke", {}, args.timeout)
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

    bench_cmd = sub.add_parser("bench", help="run labs in the full profile on real data and check the targets")
    bench_cmd.add_argument("notebooks", nargs="*", help="lab notebooks or numbers (default: all labs)")
    bench_cmd.add_argument("--data-dir", help=f"folder with mnist.npz etc. (sets {settings.DATA_DIR_ENV})")
    bench_cmd.add_argument("--from-summary", help="check an existing summary.json instead of running the labs")
    bench_cmd.add_argument("--out", help="where the report goes (default build/bench)")
    bench_cmd.add_argument("--timeout", type=int, help="seconds any one cell may run")
    bench_cmd.set_defaults(func=bench.cmd_bench)

    book_cmd = sub.add_parser("book", help="build the web book (Jupyter Book 1) from executed notebooks")
    book_cmd.add_argument("--from", dest="source", default=str(settings.BUILD_DIR / "full"),
                      help="folder of executed notebooks (default build/full)")
    book_cmd.add_argument("--out", help="where the book is built (default build/book)")
    book_cmd.set_defaults(func=book.cmd_book)

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
