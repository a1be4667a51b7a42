"""The batch's gradebook: CSVs for nbgrader, Canvas and Moodle, and an HTML page for instructors.

Only results the grader signed (``labkit.grading.verify``) are believed: a result file that fails
its signature becomes a row with no score that says so, whoever wrote it.
"""

from __future__ import annotations

import csv
import html
import io
import json
import os
from pathlib import Path

from labkit.grading import RESULT_FILE, STUDENTS_DIR, signing_key, verify

#: The columns of nbgrader's CSV export, in its order; the grader's own columns follow.
NBGRADER_COLUMNS = ["assignment", "duedate", "timestamp", "student_id", "last_name", "first_name", "email",
                    "raw_score", "late_submission_penalty", "score", "max_score"]


def read_results(out_dir: Path) -> list[dict]:
    """Every signed result under ``out_dir`` (all shards that wrote there), by student id."""
    key = signing_key(out_dir)
    results = []
    for path in sorted((Path(out_dir) / STUDENTS_DIR).glob(f"*/{RESULT_FILE}")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = None
        if verify(data, key) and data.get("student") == path.parent.name:
            results.append(data)
        else:
            results.append({"student": path.parent.name, "status": "unverified", "score": 0.0, "max_score": 0.0,
                            "questions": [], "records": [],
                            "messages": [f"{path} is unreadable or not signed by this grader; "
                                         f"grade it again with --redo"]})
    return sorted(results, key=lambda r: r.get("student", ""))


def _cell(value):
    """A CSV cell that no spreadsheet runs as a formula."""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") and not _is_number(text) else value


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def gradebook_csv(results: list[dict]) -> str:
    questions = []
    for r in results:
        questions += [q["grade_id"] for q in r.get("questions", []) if q["grade_id"] not in questions]
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(NBGRADER_COLUMNS + ["status", "seconds", "messages", "records"] + questions)
    for r in results:
        scores = {q["grade_id"]: q["score"] for q in r.get("questions", [])}
        records = " | ".join(rec.get("note", "") for rec in r.get("records", []))
        writer.writerow([_cell(v) for v in
                         [r.get("lab", ""), "", r.get("submitted_at") or "", r.get("student", ""), "", "", "",
                          r.get("score", 0.0), 0.0, r.get("score", 0.0), r.get("max_score", 0.0),
                          r.get("status", ""), r.get("seconds", 0.0), " | ".join(r.get("messages", [])), records]
                         + [scores.get(q, "") for q in questions]])
    return buf.getvalue()


def canvas_csv(results: list[dict]) -> str:
    """Canvas' gradebook import: Student, ID, SIS User ID, SIS Login ID, Section, then the lab's column.

    The student id goes in SIS Login ID, which Canvas matches; a "Points Possible" row follows the header.
    """
    lab = results[0].get("lab", "lab") if results else "lab"
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["Student", "ID", "SIS User ID", "SIS Login ID", "Section", lab])
    writer.writerow(["Points Possible", "", "", "", "", max((r.get("max_score", 0) for r in results), default=0)])
    for r in results:
        writer.writerow([_cell(v) for v in [r.get("student", ""), "", "", r.get("student", ""), "", r.get("score", 0.0)]])
    return buf.getvalue()


def moodle_csv(results: list[dict]) -> str:
    """Moodle's grade import (Grades > Import > CSV): an identifier column, the grade and feedback text."""
    lab = results[0].get("lab", "lab") if results else "lab"
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["Username", lab, f"{lab} feedback"])
    for r in results:
        note = f"{r.get('score', 0):g} of {r.get('max_score', 0):g} ({r.get('status', '')})"
        writer.writerow([_cell(v) for v in [r.get("student", ""), r.get("score", 0.0), note]])
    return buf.getvalue()


def report_html(results: list[dict], out_dir: Path) -> str:
    counts: dict[str, int] = {}
    for r in results:
        counts[r.get("status", "?")] = counts.get(r.get("status", "?"), 0) + 1
    rows = []
    for r in results:
        notebook = r.get("executed_notebook")
        folder = f"{STUDENTS_DIR}/{r.get('student', '')}"
        link = (f'<a href="{html.escape(os.path.relpath(notebook, out_dir))}">notebook</a>' if notebook else "")
        link += f' <a href="{html.escape(folder)}/feedback.html">feedback</a>' if r.get("feedback") else ""
        detail = "".join(f"<li>{html.escape(q['grade_id'])}: {q['score']:g}/{q['points']:g} {html.escape(q['outcome'])}"
                         f"{' - ' + html.escape(q['message']) if q.get('message') else ''}</li>"
                         for q in r.get("questions", []))
        notes = "".join(f"<li>{html.escape(m)}</li>" for m in r.get("messages", []))
        notes += "".join(f"<li>record (no points): {html.escape(rec.get('note', ''))}</li>" for rec in r.get("records", []))
        status = html.escape(r.get("status", ""))
        rows.append(f'<tr class="{status}"><td>{html.escape(r.get("student", ""))}</td><td>{status}</td>'
                    f'<td>{r.get("score", 0):g} / {r.get("max_score", 0):g}</td><td>{r.get("seconds", 0):.1f}</td>'
                    f'<td><ul>{detail}</ul><ul class="notes">{notes}</ul></td><td>{link} '
                    f'<a href="{html.escape(folder)}/{RESULT_FILE}">result</a></td></tr>')
    summary = ", ".join(f"{n} {html.escape(s)}" for s, n in sorted(counts.items()))
    lab = html.escape(results[0].get("lab", "")) if results else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Grades: {lab}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; }}
table {{ border-collapse: collapse; }} td, th {{ border: 1px solid #ccc; padding: 4px 8px; vertical-align: top; }}
tr.graded td:nth-child(2) {{ color: #1a7f37; }} tr:not(.graded) td:nth-child(2) {{ color: #b42318; font-weight: bold; }}
ul {{ margin: 0; padding-left: 1.2em; }} .notes {{ color: #555; }} td:nth-child(3) {{ white-space: nowrap; }}
</style></head><body>
<h1>Grades: {lab}</h1>
<p>{len(results)} submission(s): {summary}.</p>
<table><tr><th>student</th><th>status</th><th>score</th><th>seconds</th><th>questions and notes</th><th>files</th></tr>
{chr(10).join(rows)}
</table></body></html>
"""


def write_gradebook(out_dir: Path) -> tuple[Path, Path]:
    """Write gradebook.csv (nbgrader's columns), gradebook-canvas.csv, gradebook-moodle.csv and
    report.html from every signed result in ``out_dir``; returns the first and the last."""
    out_dir = Path(out_dir)
    results = read_results(out_dir)
    csv_path, html_path = out_dir / "gradebook.csv", out_dir / "report.html"
    _write_atomically(csv_path, gradebook_csv(results))
    _write_atomically(out_dir / "gradebook-canvas.csv", canvas_csv(results))
    _write_atomically(out_dir / "gradebook-moodle.csv", moodle_csv(results))
    _write_atomically(html_path, report_html(results, out_dir))
    return csv_path, html_path
