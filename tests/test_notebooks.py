"""Every lab notebook runs under nbval in the smoke profile (checked cells must match exactly); the web
book is then built from those runs, without running the labs again, and seen in headless Chromium."""

import json
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import yaml
from matplotlib import image as mpimg

from labkit import book, notebooks, settings
from labkit.results import read_records
from tests.conftest import chromium

ROOT = settings.REPO_ROOT
LABS = notebooks.lab_paths()
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())


def test_there_are_labs():
    assert LABS, f"no lab notebooks in {settings.NOTEBOOK_DIR}"


@pytest.mark.parametrize("notebook", LABS, ids=[p.stem for p in LABS])
def test_source_notebook_is_clean(notebook):
    nb = json.loads(notebook.read_text())
    tagged = [c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, "exactly one cell must be tagged 'parameters'"
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        checked = "nbval-check-output" in cell.get("metadata", {}).get("tags", [])
        assert checked or not cell["outputs"], "only cells tagged nbval-check-output may keep outputs"


@pytest.fixture(scope="module")
def nbval_runs(tmp_path_factory):
    """Where each nbval run that passes leaves its executed notebook (tests/nbval_executed.py)."""
    return tmp_path_factory.mktemp("nbval_executed")


@pytest.mark.notebooks
@pytest.mark.parametrize("notebook", LABS, ids=[p.stem for p in LABS])
def test_notebook_runs_under_nbval_in_smoke_profile(notebook, nbval_runs):
    env = {**os.environ, "LABKIT_PROFILE": "smoke", "MPLBACKEND": "module://matplotlib_inline.backend_inline",
           "LABKIT_NBVAL_EXECUTED": str(nbval_runs)}
    env.pop("LABKIT_DATA_SOURCE", None)
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval-lax", "--nbval-current-env", "--nbval-cell-timeout", "300",
         "-q", "-p", "no:cacheprovider", "-p", "tests.nbval_executed", str(notebook)],
        capture_output=True, text=True, env=env, timeout=900, cwd=settings.REPO_ROOT,
    )
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]


# --- the book built from these runs, seen in Chromium ---------------------------------------

def _book_command(executed, site):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LABKIT_")}
    env.update(LABKIT_ALLOW_DOWNLOAD="0", KERAS_HOME=str(site.parent / "keras_home"))
    return subprocess.run([sys.executable, "-m", "labkit.cli", "book", "--profile", "smoke",
                           "--from", str(executed), "--out", str(site)],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=1800)


@pytest.fixture(scope="module")
def built(tmp_path_factory, nbval_runs):
    """The book built from the labs' nbval runs above; the last lab, and any lab nbval did not pass, run
    afresh in the smoke profile, so that the book's own way of running a missing lab is tested too."""
    folder = tmp_path_factory.mktemp("book")
    executed, site = folder / "executed", folder / "site"
    executed.mkdir()
    reused = [lab for lab in LABS[:-1] if (nbval_runs / lab.name).exists()]
    for lab in reused:
        shutil.copy(nbval_runs / lab.name, executed / lab.name)
    proc = _book_command(executed, site)
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-5000:]
    return SimpleNamespace(executed=executed, site=site, html=site / "_build" / "html", first=proc,
                           shots=folder / "screenshots", reused=reused)


@pytest.mark.notebooks
def test_book_runs_the_missing_labs_then_builds_and_prints_the_index(built):
    out = built.first.stdout
    missing = [lab for lab in LABS if lab not in built.reused]
    assert LABS[-1] in missing
    assert all(f"{lab.stem}: not executed yet; running it in the smoke profile." in out for lab in missing)
    assert not any(f"{lab.stem}: " in out for lab in built.reused), "an up-to-date nbval run was run again"
    assert f"Book: {built.html / 'index.html'}" in out


@pytest.mark.notebooks
def test_book_from_executed_labs_runs_nothing_and_reports_its_seconds(built):
    proc = _book_command(built.executed, built.site)
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-5000:]
    assert "running it in" not in proc.stdout
    seconds = float(re.search(r"Built the book from .* in ([0-9.]+) s\.", proc.stdout).group(1))
    print(f"book built from executed notebooks in {seconds:.1f} s")
    assert seconds < 300


@pytest.mark.notebooks
def test_executed_labs_show_a_static_figure_before_every_widget(built):
    widgets = 0
    for lab in LABS:
        nb = json.loads((built.executed / lab.name).read_text())
        assert book.widgets_without_figure(nb) == [], f"{lab.name}: a widget with no figure before it"
        widgets += sum(book.WIDGET_MIME in out.get("data", {}) for c in nb["cells"] for out in c.get("outputs", []))
    assert widgets, "no lab shows an interactive control any more; is this test still needed?"


@pytest.mark.notebooks
@pytest.mark.parametrize("lab", LABS, ids=[p.stem for p in LABS])
def test_lab_page_has_download_and_jupyterlab_launch_links(built, lab):
    html = (built.html / "notebooks" / f"{lab.stem}.html").read_text()
    repo = CONFIG["repository"]["url"].removeprefix("https://github.com/")
    assert f"mybinder.org/v2/gh/{repo}/main?urlpath=lab/tree/notebooks/{lab.name}" in html
    assert f"urlpath=lab/tree/{repo.split('/')[1]}/notebooks/{lab.name}" in html  # JupyterHub
    assert (built.html / "_sources" / "notebooks" / lab.name).exists()
    student = re.search(rf'href="(\.\./_downloads/[0-9a-f]+/{lab.name})"', html)
    assert student, "no download link for the student version"
    assert "BEGIN SOLUTION" not in (built.html / "notebooks" / student.group(1)).read_text()


class _Dom(HTMLParser):
    """Headings, images, tables and admonitions of a page, as text."""

    def __init__(self):
        super().__init__()
        self.h1, self.images, self.tables, self.notes, self._open = [], [], [], [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img":
            self.images.append(attrs.get("src", ""))
        grab = {"h1": self.h1, "table": self.tables}.get(tag)
        if grab is None and tag == "div" and "admonition" in (attrs.get("class") or "").split():
            grab = self.notes
        if grab is not None:
            grab.append("")
            self._open.append((tag, grab))
        elif self._open and tag == self._open[-1][0]:
            self._open.append((tag, None))

    def handle_endtag(self, tag):
        if self._open and self._open[-1][0] == tag:
            self._open.pop()

    def handle_data(self, data):
        for _, grab in self._open:
            if grab is not None:
                grab[-1] += data


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


def _render(page: Path, shot: Path) -> _Dom:
    shot.parent.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run([chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                           "--window-size=1280,4000", "--virtual-time-budget=5000", f"--screenshot={shot}",
                           "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout, proc.stderr[-3000:]
    pixels = mpimg.imread(shot)
    assert len(np.unique(pixels.reshape(-1, pixels.shape[-1])[::97], axis=0)) > 20, f"{shot} is nearly blank"
    dom = _Dom()
    dom.feed(proc.stdout)
    return dom


@pytest.mark.notebooks
def test_browser_shows_the_index_page_with_every_lab(built):
    dom = _render(built.html / "index.html", built.shots / "index.png")
    print(f"screenshots of the book's pages: {built.shots}")
    assert any("Deep learning by building it" in h for h in dom.h1), dom.h1
    labs_table = [t for t in dom.tables if "what you build" in t]
    assert labs_table and all(f"{lab.name[:2]}" in labs_table[0] for lab in LABS)


@pytest.mark.notebooks
@pytest.mark.parametrize("lab", LABS, ids=[p.stem for p in LABS])
def test_browser_shows_each_lab_title_figures_and_results_table(built, lab):
    page = built.html / "notebooks" / f"{lab.stem}.html"
    dom = _render(page, built.shots / f"{lab.stem}.png")
    title = "".join(notebooks.read_notebook(lab)["cells"][0]["source"]).splitlines()[0].lstrip("# ")
    assert any(title in h for h in dom.h1), f"title {title!r} not among {dom.h1}"
    figures = [page.parent / src for src in dom.images if "_images/" in src and src.endswith(".png")]
    assert figures, "no figure on the page"
    assert all(f.exists() and min(_png_size(f)) > 0 for f in figures)
    assert any("Where the results on this page come from" in n and "smoke" in n for n in dom.notes)
    ran_by = "with labkit run" if lab not in built.reused else "outside labkit run"
    assert any(ran_by in n for n in dom.notes), dom.notes
    names = read_records(built.executed / lab.name)
    results = [t for t in dom.tables if "result" in t and "value" in t]
    assert names and results and all(name in results[-1] for name in names), "results table incomplete"
