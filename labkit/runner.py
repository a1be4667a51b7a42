"""Execute lab notebooks headless with papermill and summarise what they recorded."""

from __future__ import annotations

import ast
import datetime
import json
import os
import time
from pathlib import Path

from labkit import expected, notebooks, settings
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

    from labkit.kernels import IPCKernelManager

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
            execution_timeout=timeout, log_output=False, kernel_manager_class=IPCKernelManager,
        )
        row["status"] = "ok"
    except Exception as err:  # one lab failing must not stop the others
        row["error"] = _error_summary(err)
    row["seconds"] = round(time.perf_counter() - start, 1)
    if row["output"] and Path(row["output"]).exists():
        try:
            row["records"] = read_records(row["output"])
            row["sections"] = notebooks.seconds_by_section(notebooks.read_notebook(row["output"]), row["seconds"])
        except ValueError as err:
            row["error"] = row["error"] or str(err)
    return row


def key_results(records: dict, limit: int = 3, lab: str | None = None) -> str:
    """The first numeric records, the lab's headline figures (its rubric's records) before the rest."""
    headline = [name for name in expected.RUBRIC.get(lab, ()) if name in records]
    shown = []
    for name in headline + [name for name in records if name not in headline]:
        value = records[name].get("value")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        shown.append(f"{name}={value:.4g}")
        if len(shown) == limit:
            break
    return ", ".join(shown)


def data_label(records: dict) -> str:
    """STAND-IN if any record came from a stand-in, else the kinds of data the records name."""
    if any(rec.get("standin") for rec in records.values()):
        return "STAND-IN"
    kinds = sorted({rec.get("data_kind") or ("real" if rec.get("standin") is False else None)
                    for rec in records.values()} - {None})
    return "+".join(kinds) or "-"


def format_table(rows: list[dict]) -> str:
    header = ("lab", "status", "seconds", "data", "key results")
    lines = [(r["lab"], r["status"], f"{r['seconds']:.1f}", data_label(r["records"]),
              key_results(r["records"], lab=r["lab"]) or (r["error"] or "")[:70]) for r in rows]
    widths = [max(len(str(x)) for x in col) for col in zip(header, *lines)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join([fmt.format(*header), fmt.format(*("-" * w for w in widths))]
                     + [fmt.format(*line) for line in lines])


def parse_params(pairs) -> dict:
    params = {}
    for name, value in pairs or []:
        if not name.isidentifier():
            raise ValueError(f"-p {name} is not a parameter name (use NAME VALUE, e.g. -p EPOCHS 3)")
        params[name] = _value(value)
    return params


def configure_environment(profile, data_source=None, data_dir=None) -> None:
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
    merge_into_folder_summary(out_dir, summary)
    print()
    print(format_table(rows))
    for row in rows:
        if row.get("sections"):
            print()
            print(notebooks.format_sections(row["lab"], row["sections"]))
    return summary


def merge_into_folder_summary(out_dir: Path, summary: dict) -> None:
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
