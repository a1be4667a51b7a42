"""The ``labkit`` command: run labs headless, read their results, benchmark them, build the book.

    labkit run [NOTEBOOK ...] --profile smoke|full [-p NAME VALUE ...]
    labkit records EXECUTED_NOTEBOOK ...
    labkit bench [NOTEBOOK ...] [--from-summary S] [--baselines-from B] [--no-baselines] [--grading N]
    labkit book [--profile smoke|full] [--from build/PROFILE] [--out build/book]
    labkit refresh-checks NOTEBOOK ...
    labkit release [NOTEBOOK ...] [--out build/release]
    labkit grade SUBMISSION ... --lab NN --out DIR [--workers N] [--shard K/N]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from labkit import bench, book, grading_speed, notebooks, runner, settings
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


def cmd_release(args) -> int:
    """Write student versions: solutions stubbed, hidden tests removed, outputs cleared."""
    from labkit.release import ReleaseError, release

    paths = notebooks.lab_paths(args.notebooks)
    out_dir = Path(args.out or settings.BUILD_DIR / "release").resolve()
    try:
        written = release(paths, out_dir)
    except (ReleaseError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for path in written:
        print(f"released {path}")
    return 0


def _source_for(lab: str | None, source: str | None) -> Path:
    if source:
        return Path(source)
    matches = notebooks.lab_paths([lab]) if lab else []
    if len(matches) != 1 or not matches[0].exists():
        known = ", ".join(p.stem for p in notebooks.lab_paths())
        raise ValueError(f"--lab {lab!r} names no single lab; use a number or name from: {known}.")
    return matches[0]


NO_SANDBOX_WARNING = (
    "WARNING: --no-sandbox: each submission's kernel runs as you, on this machine, with your files and "
    "network. A submission can then read the course's solutions and hidden tests, read or change other "
    "submissions and this output folder (results stay signed, so a forged result shows as unverified), "
    "leave processes running, and use all memory. Use it only for submissions you trust.")


def cmd_grade(args) -> int:
    """Grade submissions of one lab; writes results, gradebook.csv and report.html into --out."""
    from labkit import gradebook, grading

    try:
        source = _source_for(args.lab, args.source)
        lab = notebooks.read_notebook(source).get("metadata", {}).get("labkit", {}).get("lab") or source.stem
        subs = grading.take_shard(grading.collect_submissions(args.submissions, lab), args.shard)
    except (ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if not args.no_sandbox:
        from labkit.sandbox import sandbox_problem

        problem = sandbox_problem()
        if problem:
            print(f"error: labkit grade runs every submission's kernel in a sandbox, and none is available "
                  f"here: {problem}\nRefusing to run untrusted code. Install bubblewrap, or pass --no-sandbox "
                  f"if you accept what that exposes (see --help).", file=sys.stderr)
            return 2
    else:
        print(NO_SANDBOX_WARNING, file=sys.stderr)
    data_dir = Path(args.data_dir).expanduser().resolve() if args.data_dir else settings.data_dir_from_env()
    timeout = args.timeout or (600 if args.profile == "smoke" else 3600)
    opts = grading.Options(lab=lab, profile=args.profile, timeout=timeout,
                           cell_timeout=min(timeout, args.cell_timeout or timeout), memory_mb=args.memory_mb,
                           max_processes=args.max_processes, max_output_bytes=args.max_output_kb * 1000,
                           data_dir=str(data_dir) if data_dir else None, sandbox=not args.no_sandbox,
                           redo=args.redo)
    out_dir = Path(args.out).resolve()
    print(f"Grading {len(subs)} submission(s) of {lab} ({args.profile} profile, {args.workers} worker(s)) "
          f"into {out_dir}", flush=True)
    try:
        results = grading.grade_batch(subs, source, out_dir, opts, workers=args.workers,
                                      progress=lambda line: print(line, flush=True))
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    csv_path, html_path = gradebook.write_gradebook(out_dir)
    counts = {}
    for r in results:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    print()
    print("Statuses: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
    print(f"Gradebook: {csv_path}")
    print(f"Report:    {html_path}")
    return 1 if counts.get("grader-error") else 0


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

    bench_cmd = sub.add_parser("bench", help="run labs in the full profile on real data and the source "
                               "documents' models beside them; report times, figures and targets")
    bench_cmd.add_argument("notebooks", nargs="*", help="lab notebooks or numbers (default: all labs)")
    bench_cmd.add_argument("--data-dir", help=f"folder with mnist.npz etc. (sets {settings.DATA_DIR_ENV})")
    bench_cmd.add_argument("--from-summary", help="read the labs' results from a summary.json instead of running them")
    bench_cmd.add_argument("--baselines", action=argparse.BooleanOptionalAction, default=True,
                           help="run the source documents' models too (default; saved to OUT/baselines.json)")
    bench_cmd.add_argument("--baselines-from", help="read the baselines from a baselines.json instead of running them")
    bench_cmd.add_argument("--smoke-summary", help="smoke-profile summary.json for the CI budget "
                           "(default build/smoke/summary.json)")
    bench_cmd.add_argument("--out", help="where the report goes (default build/bench)")
    bench_cmd.add_argument("--timeout", type=int, help="seconds any one cell may run")
    bench_cmd.add_argument("--grading", type=int, default=20, metavar="N",
                           help="grade N copies of a lab's reference solution to time the grader (0: skip)")
    bench_cmd.add_argument("--grading-lab", default=grading_speed.DEFAULT_LAB, help="the lab those copies are of")
    bench_cmd.add_argument("--grading-workers", type=int, default=2, help="submissions graded at a time")
    bench_cmd.set_defaults(func=bench.cmd_bench)

    book_cmd = sub.add_parser("book", help="build the web book (Jupyter Book 1) from executed notebooks")
    book_cmd.add_argument("--profile", choices=settings.PROFILES, default="full",
                          help="profile of the results shown; missing or stale labs run in it first")
    book_cmd.add_argument("--from", dest="source", help="folder of executed notebooks (default build/PROFILE)")
    book_cmd.add_argument("--out", help="where the book is built (default build/book)")
    book_cmd.add_argument("--timeout", type=int, help="seconds any one cell may run")
    book_cmd.add_argument("--solutions", action="store_true",
                          help="show the exercises' solutions and hidden tests (an instructors' edition)")
    book_cmd.set_defaults(func=book.cmd_book)

    checks = sub.add_parser("refresh-checks", help="after a deliberate architecture change: store the new "
                            "outputs of the cells nbval checks (runs the labs in the smoke profile)")
    checks.add_argument("notebooks", nargs="+", help="lab notebooks or numbers")
    checks.add_argument("--build-dir", help="where the smoke runs go (default build/smoke)")
    checks.add_argument("--timeout", type=int, default=600, help="seconds any one cell may run")
    checks.set_defaults(func=cmd_refresh_checks)

    rel = sub.add_parser("release", help="write student versions of the labs (solutions stubbed, hidden "
                         "tests removed, outputs cleared)")
    rel.add_argument("notebooks", nargs="*", help="lab notebooks or numbers (default: all labs)")
    rel.add_argument("--out", help="where the student versions go (default build/release)")
    rel.set_defaults(func=cmd_release)

    grade = sub.add_parser("grade", help="grade submitted notebooks of one lab, each in its own process")
    grade.add_argument("submissions", nargs="+", help="submitted .ipynb files or folders holding them")
    grade.add_argument("--lab", help="the lab graded, e.g. 01 (its notebook holds the instructor's tests)")
    grade.add_argument("--source", help="grade against this instructor notebook instead of --lab's")
    grade.add_argument("--out", required=True, help="folder for results, executed notebooks and the gradebook")
    grade.add_argument("--profile", choices=settings.PROFILES, default="smoke",
                       help="profile the submissions run in (default smoke)")
    grade.add_argument("--data-dir", help=f"folder with mnist.npz etc. (sets {settings.DATA_DIR_ENV})")
    grade.add_argument("--timeout", type=int, help="seconds one submission may run (default 600 smoke, 3600 full)")
    grade.add_argument("--cell-timeout", type=int, help="seconds one cell may run before it is interrupted "
                       "(it scores 0 and the next cells run; default: --timeout)")
    grade.add_argument("--memory-mb", type=int, default=4096, help="memory cap per submission, kernel included")
    grade.add_argument("--max-processes", type=int, default=256, help="cap on processes a submission may start")
    grade.add_argument("--no-sandbox", action="store_true",
                       help="run kernels without the bubblewrap sandbox (unsafe for untrusted submissions)")
    grade.add_argument("--max-output-kb", type=int, default=100, help="cap on each stored output")
    grade.add_argument("--workers", type=int, default=1, help="submissions graded at once")
    grade.add_argument("--shard", help="grade only slice K of N (K/N), e.g. for a cluster's job array")
    grade.add_argument("--redo", action="store_true", help="grade again submissions already graded")
    grade.set_defaults(func=cmd_grade)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
