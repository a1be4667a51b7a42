"""A lab run the way a student runs it: JupyterLab in a real browser, Run > Run All Cells.

A ``jupyter lab`` server (127.0.0.1, a token, a temporary root holding a copy of lab 07, the
quickest lab, and a small notebook with a labkit slider) is driven by the system Chromium through
Playwright. With LABKIT_PROFILE=smoke in the server's environment the lab runs in under a minute.
Screenshots go to the test's tmp folder (the path is printed with ``-s``).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from labkit import settings
from tests.conftest import chromium

LAB = settings.NOTEBOOK_DIR / "07_imu_lstm_regression.ipynb"
RUN_SECONDS = 480  # smoke run of lab 07 on a busy 2-core machine, with room to spare
# labkit.EpochLog's line: "epoch 2/3  loss 0.1234  rmse 0.35  val_loss 0.2  val_rmse 0.45  lr 1.00e-03  0.4 s"
EPOCH_LINE = re.compile(r"epoch +(\d+)/(\d+)(  [a-z_]+ [-+0-9.e]+(?:e[-+]\d+)?|  [a-z_]+ nan)*  \d+\.\d s")
DEBRIS = ("\r", "\x1b", "━", "ms/step", "s/step", "[==", "ETA")  # what keras progress bars leave behind

SLIDER_NOTEBOOK = '''\
import ipywidgets
import matplotlib.pyplot as plt
import numpy as np
from labkit.widgets import static_then_interactive


def wave(frequency=1.0):
    fig, ax = plt.subplots(figsize=(5, 2.5))
    t = np.linspace(0, 1, 400)
    ax.plot(t, np.sin(2 * np.pi * frequency * t))
    ax.set_title(f"frequency {frequency:.1f}")
    return fig


static_then_interactive(wave, frequency=ipywidgets.FloatSlider(value=1.0, min=0.5, max=5.0, step=0.5,
                                                               description="frequency"));
'''


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab_server(tmp_path_factory):
    """A JupyterLab server on 127.0.0.1 with a token, rooted in a temporary folder."""
    pytest.importorskip("playwright", reason='playwright is not installed (pip install -e ".[test]")')
    folder = tmp_path_factory.mktemp("jupyterlab")
    root, state = folder / "root", folder / "state"
    root.mkdir()
    shutil.copy(LAB, root / LAB.name)
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                           "language": "python"}})
    nb.cells = [nbformat.v4.new_code_cell(SLIDER_NOTEBOOK)]
    nbformat.write(nb, root / "slider.ipynb")
    # every cell in the page, not only those scrolled into view, so the test can read them all;
    # no news or update pop-up over the notebook
    for plugin, values in [("notebook-extension/tracker", {"windowingMode": "none"}),
                           ("apputils-extension/notification", {"fetchNews": "false", "checkForUpdates": False})]:
        path = state / "settings" / "@jupyterlab" / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    token, port = secrets.token_hex(16), _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LABKIT_", "JUPYTER_"))}
    env.update(LABKIT_PROFILE="smoke", LABKIT_ALLOW_DOWNLOAD="0", KERAS_HOME=str(state / "keras_home"),
               JUPYTER_CONFIG_DIR=str(state / "config"), JUPYTER_RUNTIME_DIR=str(state / "runtime"),
               IPYTHONDIR=str(state / "ipython"), MPLCONFIGDIR=str(state / "matplotlib"))
    log = (folder / "server.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
         f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
         f"--ServerApp.root_dir={root}", f"--LabApp.user_settings_dir={state / 'settings'}",
         f"--LabApp.workspaces_dir={state / 'workspaces'}", "--LabApp.news_url=None"]
        + (["--allow-root"] if os.geteuid() == 0 else []),
        stdout=log, stderr=subprocess.STDOUT, env=env, cwd=root)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"jupyter lab did not start: {(folder / 'server.log').read_text()[-3000:]}")
            time.sleep(0.5)
        yield {"base": base, "token": token, "root": root, "shots": folder / "screenshots",
               "log": folder / "server.log"}
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


@pytest.fixture(scope="module")
def browser(lab_server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=chromium(), args=["--no-sandbox"])
        yield launched
        launched.close()


def _open(browser, lab_server, name):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(60_000)
    # a workspace of its own, reset, so no tab of another test is restored beside this notebook
    workspace = Path(name).stem.replace("_", "-")
    page.goto(f"{lab_server['base']}/lab/workspaces/{workspace}/tree/{name}?reset&token={lab_server['token']}")
    page.wait_for_selector(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell", timeout=120_000)
    # the kernel is ready when the status bar says so (the toolbar's indicator is "idle" before that)
    page.wait_for_selector(".jp-StatusBar-TextItem:has-text('| Idle')", timeout=120_000)
    return page


def _run_all(page, timeout_s):
    """Run > Run All Cells, then wait until every code cell ran and the kernel is idle again."""
    page.locator(".lm-MenuBar-item", has_text="Run").first.click()
    page.locator(".lm-Menu-item[data-command='runmenu:run-all']").click()
    page.wait_for_function("""() => {
        const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
        const prompts = [...panel.querySelectorAll('.jp-CodeCell .jp-InputPrompt')];
        const status = panel.querySelector('.jp-Notebook-ExecutionIndicator');
        return prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent))
            && status && status.dataset.status === 'idle';
    }""", timeout=timeout_s * 1000, polling=1000)


def _cells(page):
    """Each code cell's source and outputs as the page shows them (an error shows as stderr, like a warning)."""
    return page.evaluate("""() => [...document.querySelectorAll(
                                       '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell')].map(c => ({
        source: c.querySelector('.jp-InputArea .cm-content')?.innerText ?? '',
        texts: [...c.querySelectorAll('.jp-OutputArea-output pre')].map(p => p.textContent),
        images: [...c.querySelectorAll('.jp-OutputArea-output img')].filter(i => i.naturalWidth > 0).length,
        stderr: [...c.querySelectorAll(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")]
                  .map(e => e.textContent.slice(0, 500)),
    }))""")


@pytest.mark.notebooks
def test_lab_07_runs_all_cells_in_jupyterlab_with_tidy_epochs_figures_and_no_error(browser, lab_server):
    shots = lab_server["shots"]
    shots.mkdir(parents=True, exist_ok=True)
    page = _open(browser, lab_server, LAB.name)
    start = time.monotonic()
    _run_all(page, RUN_SECONDS)
    print(f"lab 07 ran in JupyterLab in {time.monotonic() - start:.0f} s; screenshots: {shots}")
    cells = _cells(page)
    assert len(cells) == sum(c["cell_type"] == "code" for c in nbformat.read(LAB, 4).cells)

    problems = [c["stderr"] for c in cells if c["stderr"]]
    assert not problems, f"error or warning output in the lab: {problems[:3]}"

    trained = [c for c in cells if re.search(r"^\s*epoch +1/", "".join(c["texts"]), re.MULTILINE)]
    assert len(trained) >= 2, "no training log found in the outputs"
    for cell in trained:
        text = "".join(cell["texts"])
        print(f"training log:\n{text}")
        assert not [d for d in DEBRIS if d in text], f"progress-bar debris in a training log:\n{text[:2000]}"
        epochs = [line for line in text.splitlines() if re.match(r"\s*epoch\b", line)]
        assert all(EPOCH_LINE.fullmatch(line.strip()) for line in epochs), "\n".join(epochs)
        numbers = [tuple(map(int, EPOCH_LINE.fullmatch(line.strip()).group(1, 2))) for line in epochs]
        total = numbers[0][1]
        # one line per epoch (labkit logs every epoch when EPOCHS < 10), each run counting 1..EPOCHS
        assert numbers == [(k, total) for _ in range(len(numbers) // total) for k in range(1, total + 1)], numbers
    page.locator(".jp-CodeCell", has=page.locator("pre", has_text="epoch 1/")).first.scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "07_training_log.png"))

    figures = sum(c["images"] for c in cells)
    assert figures >= 5, f"only {figures} figures rendered (decoded images in the outputs)"
    page.locator(".jp-OutputArea-output img").nth(2).scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "07_figure.png"))
    page.close()


@pytest.mark.notebooks
def test_moving_a_labkit_slider_in_jupyterlab_redraws_the_figure(browser, lab_server):
    shots = lab_server["shots"]
    shots.mkdir(parents=True, exist_ok=True)
    page = _open(browser, lab_server, "slider.ipynb")
    _run_all(page, 120)
    area = page.locator(".jp-CodeCell .jp-OutputArea").first
    static, live = area.locator(".jp-OutputArea-output img").first, area.locator(".widget-output img")
    slider = area.locator(".widget-slider")
    slider.wait_for()
    live.first.wait_for()
    assert area.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']").count() == 0
    before = live.first.get_attribute("src")
    assert static.get_attribute("src") == before, "the static figure and the first live one differ"
    page.screenshot(path=str(shots / "slider_before.png"))
    area.locator(".widget-slider .noUi-handle, .widget-slider input[type='range']").first.focus()
    for _ in range(4):
        page.keyboard.press("ArrowRight")
    page.wait_for_function("""(before) => {
        const img = document.querySelector('.jp-CodeCell .widget-output img');
        return img && img.src !== before;
    }""", arg=before, timeout=60_000)
    for _ in range(2):  # each key press is one redraw; let the kernel work through all of them
        page.wait_for_selector(".jp-StatusBar-TextItem:has-text('| Idle')", timeout=60_000)
        page.wait_for_timeout(1500)
    assert float(area.locator(".widget-readout").first.inner_text()) == 3.0  # 1.0 + 4 steps of 0.5
    assert live.count() == 1, "the redrawn figure was added instead of replacing the old one"
    page.screenshot(path=str(shots / "slider_after.png"))
    page.close()
