"""The ``labkit`` command: run labs headless and summarise their recorded results.

    labkit run [NOTEBOOK ...] --profile smoke|full [-p NAME VALUE ...]
    labkit records EXECUTED_NOTEBOOK
"""

from __future__ import annotations

import argparse
import ast
import json
import os
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
    return f"{name}: {value}".strip().splitlines()[0][:300]


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
    flags = {rec.get("standin") for rec in records.values()}
    if True in flags:
        return "STAND-IN"
    return "real" if False in flags else "-"


def format_table(rows: list[dict]) -> str:
    header = ("lab", "status", "seconds", "data", "key results")
    lines = [(r["lab"], r["status"], f"{r['seconds']:.1f}", _data_label(r["records"]),
              _key_results(r["records"]) or (r["error"] or "")[:70]) for r in rows]
    widths = [max(len(str(x)) for x in col) for col in zip(header, *lines)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join([fmt.format(*header), fmt.format(*("-" * w for w in widths))]
                     + [fmt.format(*line) for line in lines])


def cmd_run(args) -> int:
    params = {}
    for name, value in args.param or []:
        if not name.isidentifier():
            print(f"error: -p {name} is not a parameter name (use NAME VALUE, e.g. -p EPOCHS 3)", file=sys.stderr)
            return 2
        params[name] = _value(value)
    paths = notebooks.lab_paths(args.notebooks)
    if not paths:
        print(f"error: no lab notebooks found in {settings.NOTEBOOK_DIR}", file=sys.stderr)
        return 2
    out_dir = Path(args.build_dir or settings.BUILD_DIR / args.profile).resolve()
    timeout = args.timeout or (600 if args.profile == "smoke" else 3600)
    os.environ[settings.PROFILE_ENV] = args.profile  # the kernels inherit it
    if args.data_source:
        os.environ[settings.DATA_SOURCE_ENV] = args.data_source
    if args.data_dir:
        os.environ[settings.DATA_DIR_ENV] = str(Path(args.data_dir).expanduser().resolve())

    print(f"Running {len(paths)} lab(s), profile {args.profile}, into {out_dir}", flush=True)
    rows = []
    for k, path in enumerate(paths, 1):
        print(f"[{k}/{len(paths)}] {path.stem} ...", end=" ", flush=True)
        row = run_lab(path, out_dir, args.profile, params, timeout)
        rows.append(row)
        tail = f" ({row['error']})" if row["error"] else ""
        print(f"{row['status']} in {row['seconds']:.1f} s{tail}", flush=True)

    summary = {"profile": args.profile, "build_dir": str(out_dir), "parameters": params,
               "failed": sum(r["status"] != "ok" for r in rows), "labs": rows}
    out_dir.mkdir(parents=True, exist_ok=True)
    summary_path = out_dir / "summary.json"
    summary_path.write_text(json.dumps(summary, indent=2), encoding="utf-8")
    print()
    print(format_table(rows))
    print()
    print(f"Executed notebooks: {out_dir}")
    print(f"Results summary:    {summary_path}")
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
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
