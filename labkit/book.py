"""``labkit book``: build the course web book (Jupyter Book 1) from executed notebooks."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from labkit import notebooks, settings


def cmd_book(args) -> int:
    """Copy the book's pages (executed notebooks where they exist) into build/book and build it."""
    executed = Path(args.source).resolve()
    site = Path(args.out or settings.BUILD_DIR / "book").resolve()
    root = settings.REPO_ROOT
    if site.exists():
        shutil.rmtree(site)
    (site / "notebooks").mkdir(parents=True)
    (site / "data").mkdir()
    for name in ("_toc.yml", "_config.yml", "README.md"):
        shutil.copy(root / name, site / name)
    shutil.copy(root / "data" / "README.md", site / "data" / "README.md")
    missing = []
    for lab in notebooks.lab_paths():
        ran = executed / lab.name
        if not ran.exists():
            missing.append(lab.name)
        shutil.copy(ran if ran.exists() else lab, site / "notebooks" / lab.name)
    if missing:
        print(f"warning: no executed copy in {executed} of {', '.join(missing)}; "
              f"those pages show the code without results (run `labkit run` first).")
    builder = shutil.which("jupyter-book", path=str(Path(sys.executable).parent)) or shutil.which("jupyter-book")
    if builder is None:
        print('error: jupyter-book is not installed; install it with: pip install -e ".[book]"', file=sys.stderr)
        return 2
    proc = subprocess.run([builder, "build", str(site), "--path-output", str(site)], text=True)
    index = site / "_build" / "html" / "index.html"
    if proc.returncode == 0 and index.exists():
        print(f"Book: {index}")
        return 0
    print("error: the book did not build; see the messages above.", file=sys.stderr)
    return 1
