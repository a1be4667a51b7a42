"""``labkit book``: build the course web book (Jupyter Book 1) from executed notebooks.

A lab page is the lab's executed copy from ``labkit run``. A copy that is missing, failed,
ran in another profile, or whose source cells changed since it ran is run again first.
Each lab page gets a note saying which profile and data its results came from, a link to
the lab's student version, and a table of the results it recorded.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

from labkit import notebooks, runner, settings
from labkit.release import BEGIN_HIDDEN, ReleaseError, student_cell, student_version
from labkit.results import read_records

INJECTED_TAG = "injected-parameters"  # the cell papermill adds with the parameters it was given
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
DOWNLOADS = "downloads"  # folder of the site holding the student versions of the labs


def _text(source) -> str:
    return "".join(source) if isinstance(source, list) else source or ""


def run_inputs(nb: dict) -> list[tuple]:
    """What a run depends on: each cell's type, text and tags (papermill's injected cell left out)."""
    cells = []
    for cell in nb.get("cells", []):
        tags = cell.get("metadata", {}).get("tags", [])
        if INJECTED_TAG not in tags:
            cells.append((cell.get("cell_type"), _text(cell.get("source")), sorted(tags)))
    return cells


def run_profile(nb: dict) -> str | None:
    """The profile an executed notebook ran in: from its records, else from papermill's parameters."""
    profiles = sorted({r.get("profile") for r in read_records(nb).values()} - {None})
    if profiles:
        return "+".join(profiles)
    return nb.get("metadata", {}).get("papermill", {}).get("parameters", {}).get("PROFILE")


def why_stale(source: Path, executed: Path, profile: str) -> str | None:
    """Why the executed copy of a lab must be run again, or None when it is up to date."""
    if not executed.exists():
        return "not executed yet"
    try:
        ran = json.loads(executed.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "its executed copy is not a readable notebook"
    if ran.get("metadata", {}).get("papermill", {}).get("exception"):
        return "it failed when it last ran"
    ran_in = run_profile(ran)
    if ran_in != profile:
        return f"it ran in the {ran_in or 'unknown'} profile, not {profile}"
    if run_inputs(notebooks.read_notebook(source)) != run_inputs(ran):
        return "its source changed since it ran"
    return None


def widgets_without_figure(nb: dict) -> list[int]:
    """Cells showing an interactive control with no image output since the last heading or control.

    A page without a live kernel shows no control, so each one needs a static figure before it.
    """
    bad, have_figure = [], False
    for k, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") == "markdown":
            if any(line.startswith("#") for line in _text(cell.get("source")).splitlines()):
                have_figure = False
            continue
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if WIDGET_MIME in data:
                if not have_figure:
                    bad.append(k)
                have_figure = False
            elif any(mime.startswith("image/") for mime in data):
                have_figure = True
    return bad


def _data_kind(rec: dict) -> str:
    if rec.get("data_kind"):
        return rec["data_kind"]
    return {True: "stand-in", False: "real"}.get(rec.get("standin"), "not stated")


def _rounded(value):
    if isinstance(value, float):
        return float(f"{value:.4g}")
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    return value


def _shown(value) -> str:
    """A recorded value for a table cell: 4 significant digits, at most 60 characters."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{value:.4g}" if isinstance(value, float) else str(value)
    text = str(value) if isinstance(value, (bool, str)) or value is None else json.dumps(_rounded(value))
    text = " ".join(text.split()).replace("`", "'").replace("|", "\\|")
    return f"`{text if len(text) <= 60 else text[:57] + '...'}`"


def provenance_note(nb: dict, lab: str) -> str:
    """The note at the top of a lab page: profile, data, changed parameters, download link."""
    records = read_records(nb).values()
    sources = sorted({(r["data"], _data_kind(r)) for r in records if r.get("data")})
    data = "; ".join(f"**{label}** ({kind})" for label, kind in sources) or "none stated"
    unlabelled = sum(not r.get("data") for r in records)
    if unlabelled:
        data += f"; not stated for {unlabelled} of the {len(records)} recorded results"
    if not records:
        data = "no recorded results"
    params = nb.get("metadata", {}).get("papermill", {}).get("parameters", {})
    changed = ", ".join(f"`{k} = {v!r}`" for k, v in params.items() if k != "PROFILE")
    standin = any(kind == "stand-in" for _, kind in sources)
    how = "with `labkit run`" if "papermill" in nb.get("metadata", {}) else "outside `labkit run` (by nbval or by hand)"
    lines = [
        ":::{admonition} Where the results on this page come from",
        f":class: {'warning' if standin else 'note'}",
        f"Executed {how} in the **{run_profile(nb) or 'unknown'}** profile. Data: {data}.",
    ]
    if standin:
        lines.append("Stand-in data checks that the code runs; its numbers are not those of the real dataset.")
    if changed:
        lines.append(f"Parameters set for this run: {changed}.")
    lines.append(f"{{download}}`Download the student version </{DOWNLOADS}/{lab}.ipynb>` (exercises to fill in, "
                 f"no outputs). All recorded results are in the {{ref}}`table at the end <results-{lab}>`.")
    return "\n".join(lines + [":::"])


def results_table(nb: dict, lab: str) -> str:
    """A Markdown section listing every result the lab recorded."""
    lines = [f"(results-{lab})=", "## Recorded results", "",
             "Every value this run stored with `labkit.record` (`labkit records` prints them as JSON).", ""]
    records = read_records(nb)
    if not records:
        return "\n".join(lines + ["This run recorded no results."])
    lines += ["| result | value | unit | data |", "|---|---|---|---|"]
    lines += [f"| `{name}` | {_shown(r.get('value'))} | {r.get('unit') or ''} | {_data_kind(r)} |"
              for name, r in records.items()]
    return "\n".join(lines)


def _markdown(cell_id: str, text: str) -> dict:
    return {"cell_type": "markdown", "id": cell_id, "metadata": {}, "source": text}


def lab_page(nb: dict, lab: str, solutions: bool = False) -> dict:
    """The executed notebook with the provenance note under its title and the results table last.

    Unless ``solutions``, the page shows the exercises as students get them (solution regions
    stubbed, hidden tests removed) while keeping the outputs the reference run produced.
    """
    note = _markdown("labkit-provenance", provenance_note(nb, lab))
    table = _markdown("labkit-results", results_table(nb, lab))
    cells = list(nb["cells"]) if solutions else [
        student_cell(c, f"{lab}, cell {k}", keep_outputs=BEGIN_HIDDEN not in _text(c.get("source")))
        for k, c in enumerate(nb["cells"])]  # hidden tests' outputs (warnings, prints) quote what students may not see
    head = [] if not cells or cells[0].get("cell_type") != "markdown" else [cells.pop(0)]
    if head:  # split "# Title" from the text under it, so the note comes right after the title
        title, _, rest = _text(head[0].get("source")).partition("\n")
        if title.startswith("# ") and rest.strip():
            head = [{**head[0], "source": title}, _markdown("labkit-intro", rest)]
    return {**nb, "cells": head[:1] + [note] + head[1:] + cells + [table]}


def toc_pages(root: Path) -> list[str]:
    """Every page _toc.yml names, the root first, without extensions."""
    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    return [toc["root"]] + [c["file"] for part in toc.get("parts", []) for c in part.get("chapters", [])]


def assemble(site: Path, executed: Path, labs: list[Path], solutions: bool = False) -> list[str]:
    """Write the book's sources into ``site``; return the problems found (empty when all is well)."""
    root, by_page = settings.REPO_ROOT, {f"notebooks/{lab.stem}": lab for lab in labs}
    problems = []
    if site.exists():
        shutil.rmtree(site)
    (site / DOWNLOADS).mkdir(parents=True)
    for name in ("_toc.yml", "_config.yml"):
        shutil.copy(root / name, site / name)
    for page in toc_pages(root):
        target = site / page
        target.parent.mkdir(parents=True, exist_ok=True)
        if page in by_page:
            lab = by_page.pop(page)
            ran = json.loads((executed / lab.name).read_text(encoding="utf-8"))
            problems += [f"{lab.stem}: cell {k} of {executed / lab.name} shows an interactive control with no "
                         f"figure before it; draw the figure first (labkit.widgets.static_then_interactive does)"
                         for k in widgets_without_figure(ran)]
            page_nb = lab_page(ran, lab.stem, solutions)
            target.with_suffix(".ipynb").write_text(json.dumps(page_nb, indent=1), encoding="utf-8")
            try:
                student = student_version(notebooks.read_notebook(lab), lab.name)
            except ReleaseError as err:
                problems.append(f"{lab.stem}: no student version to download ({err})")
                continue
            (site / DOWNLOADS / lab.name).write_text(json.dumps(student, indent=1), encoding="utf-8")
        elif (root / f"{page}.md").exists():
            shutil.copy(root / f"{page}.md", target.with_suffix(".md"))
        else:
            problems.append(f"_toc.yml names {page}, but there is no {page}.md or lab notebook {page}.ipynb")
    problems += [f"_toc.yml does not list the lab {lab.name}; add `- file: {page}`" for page, lab in by_page.items()]
    return problems


def why_not_wiped(site: Path, executed: Path) -> str | None:
    """Why the book folder must not be deleted and rebuilt, or None when it may."""
    if site == executed or site in executed.parents:
        return "it holds the executed notebooks"
    if site == settings.REPO_ROOT or site in settings.REPO_ROOT.parents:
        return "it holds the repository"
    if site.exists() and any(site.iterdir()) and not (site / "_toc.yml").exists():
        return "it is neither empty nor an earlier book"
    return None


def jupyter_book() -> str | None:
    return shutil.which("jupyter-book", path=str(Path(sys.executable).parent)) or shutil.which("jupyter-book")


def refresh(labs: list[Path], executed: Path, profile: str, timeout: int) -> bool:
    """Run the labs whose executed copy is missing or stale; False when one of them fails."""
    stale = {lab: why for lab in labs if (why := why_stale(lab, executed / lab.name, profile))}
    for lab, why in stale.items():
        print(f"{lab.stem}: {why}; running it in the {profile} profile.")
    if not stale:
        return True
    runner.configure_environment(profile)
    summary = runner.run_labs(list(stale), executed, profile, {}, timeout)
    print()
    return summary["failed"] == 0


def cmd_book(args) -> int:
    """Run missing or stale labs, then build the book with warnings as errors; print the index page."""
    builder = jupyter_book()
    if builder is None:
        print('error: jupyter-book is not installed; install it with: pip install -e ".[book]"', file=sys.stderr)
        return 2
    executed = Path(args.source or settings.BUILD_DIR / args.profile).resolve()
    site = Path(args.out or settings.BUILD_DIR / "book").resolve()
    if executed.exists() and not executed.is_dir():
        print(f"error: --from {executed} is a file; give the folder of executed notebooks.", file=sys.stderr)
        return 2
    why = why_not_wiped(site, executed)
    if why:
        print(f"error: --out {site} is rebuilt from scratch, but {why}; give a folder of its own such as "
              f"build/book.", file=sys.stderr)
        return 2
    labs = notebooks.lab_paths()
    if not refresh(labs, executed, args.profile, args.timeout or (600 if args.profile == "smoke" else 3600)):
        print(f"error: a lab failed, so the book was not built; open its executed copy in {executed} "
              f"to see the error in place.", file=sys.stderr)
        return 1
    start = time.perf_counter()
    problems = assemble(site, executed, labs, solutions=getattr(args, "solutions", False))
    if problems:
        print("error: the book was not built:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 1
    proc = subprocess.run([builder, "build", str(site), "--path-output", str(site), "-W", "--keep-going", "-q"])
    index = site / "_build" / "html" / "index.html"
    if proc.returncode != 0 or not index.exists():
        print("error: the book did not build (warnings count as errors); see the messages above.", file=sys.stderr)
        return 1
    print(f"Built the book from {executed} in {time.perf_counter() - start:.1f} s.")
    print(f"Book: {index}")
    return 0
