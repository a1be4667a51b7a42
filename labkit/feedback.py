"""A student's feedback page: their score per question, the messages, their code and its outputs.

Ready to send back: the test cells appear as the student's version shows them (hidden tests
removed), hidden checks are counted but not named, no solution and no instructors' key appears (the
answer cells are the student's own, every other cell is shown as the student version has it), and
everything the submission produced is escaped text or an inline PNG/JPEG, under a content security
policy that lets the page run and fetch nothing. The grader names no hidden check, but a student's
own outputs show whatever their code printed, which may be the source of a hidden test that ran
before it (the kernel runs that source; only the expected values stay out of it).
"""

from __future__ import annotations

import base64
import binascii
import html
from pathlib import Path

from labkit.exercise import OBSERVATION_MIME
from labkit.release import ReleaseError, cell_source, student_cell
from labkit.results import MIME as RECORD_MIME
from labkit.submissions import is_answer

FEEDBACK_FILE = "feedback.html"
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
MAX_TEXT = 20_000


def _text(value) -> str:
    text = "".join(value) if isinstance(value, list) else str(value)
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + "\n[...]"


def _image(mime: str, value) -> str:
    data = "".join(value) if isinstance(value, list) else str(value)
    try:
        base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return ""
    return f'<img alt="figure" src="data:{mime};base64,{data}">'


def _outputs(cell: dict) -> str:
    parts = []
    for out in cell.get("outputs", []):
        kind = out.get("output_type")
        if kind == "stream":
            parts.append(f'<pre class="out">{html.escape(_text(out.get("text", "")))}</pre>')
        elif kind == "error":
            parts.append(f'<pre class="err">{html.escape(str(out.get("ename", "")))}: '
                         f'{html.escape(_text(out.get("evalue", "")))}</pre>')
        elif kind in ("display_data", "execute_result"):
            data = out.get("data", {})
            if OBSERVATION_MIME in data or RECORD_MIME in data:
                continue
            image = next((m for m in ("image/png", "image/jpeg") if m in data), None)
            if image:
                parts.append(_image(image, data[image]))
            elif "text/plain" in data:
                parts.append(f'<pre class="out">{html.escape(_text(data["text/plain"]))}</pre>')
    return "".join(parts)


def _question(row: dict) -> str:
    hidden = [c for c in row.get("checks", []) if c.get("hidden")]
    counted = (f" Hidden checks: {sum(c['passed'] for c in hidden)} of {len(hidden)} passed." if hidden else "")
    message = row.get("message", "")
    visible_message = "; ".join(p for p in message.split("; ") if not p.startswith("a hidden check failed"))
    return (f"<tr><td>{html.escape(row['grade_id'])}</td><td>{row['score']:g} / {row['points']:g}</td>"
            f"<td>{html.escape(row.get('outcome', ''))}</td>"
            f"<td>{html.escape(visible_message)}{html.escape(counted)}</td></tr>")


def feedback_html(result: dict, executed: dict | None, source: dict) -> str:
    """The page for one result (``executed``: the notebook that ran, or None when nothing ran)."""
    rows = "".join(_question(q) for q in result.get("questions", []))
    notes = "".join(f"<li>{html.escape(m)}</li>" for m in result.get("messages", []))
    records = "".join(f"<li>{html.escape(r['note'])}</li>" for r in result.get("records", []))
    cells = []
    for cell in (executed or {}).get("cells", []):
        meta = cell.get("metadata", {})
        if meta.get("labkit", {}).get("grader"):
            continue
        gid = meta.get("nbgrader", {}).get("grade_id") or "cell"
        # the student's own answers as they are; every other cell as students get it (no hidden
        # test, no instructors' key: the notebook that ran is the instructor's, answers pasted in)
        try:
            text = cell_source(cell) if is_answer(cell) else cell_source(student_cell(cell, gid))
        except ReleaseError:  # broken markers: nothing of the cell is safe to show
            text = "[this cell of the lab is not shown]"
        if cell.get("cell_type") == "markdown":
            cells.append(f'<div class="md"><pre>{html.escape(_text(text))}</pre></div>')
        elif cell.get("cell_type") == "code":
            shown = "" if meta.get("nbgrader", {}).get("grade") else _outputs(cell)
            cells.append(f'<div class="code"><pre class="src">{html.escape(_text(text))}</pre>{shown}</div>')
    student = html.escape(str(result.get("student", "")))
    lab = html.escape(str(result.get("lab", "")))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<title>Feedback: {lab}, {student}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; max-width: 60em; }}
table {{ border-collapse: collapse; }} td, th {{ border: 1px solid #ccc; padding: 4px 8px; vertical-align: top; }}
pre {{ white-space: pre-wrap; margin: 0.3em 0; }} .src {{ background: #f6f8fa; padding: 0.5em; }}
.err {{ color: #b42318; }} .md pre {{ font-family: inherit; }} img {{ max-width: 100%; }}
</style></head><body>
<h1>Feedback: {lab}</h1>
<p>Student: {student}. Status: {html.escape(str(result.get("status", "")))}.
Score: <strong>{result.get("score", 0):g} of {result.get("max_score", 0):g}</strong>.</p>
<table><tr><th>question</th><th>score</th><th>outcome</th><th>what to look at</th></tr>{rows}</table>
{"<h2>Notes</h2><ul>" + notes + "</ul>" if notes else ""}
{"<h2>Your recorded results (for information, no points)</h2><ul>" + records + "</ul>" if records else ""}
<h2>Your notebook as it ran</h2>
{"".join(cells) or "<p>Nothing ran.</p>"}
</body></html>
"""


def write_feedback(folder: Path, result: dict, executed: dict | None, source: dict) -> Path:
    path = Path(folder) / FEEDBACK_FILE
    path.write_text(feedback_html(result, executed, source), encoding="utf-8")
    return path
