"""The book's table of contents and configuration."""

import yaml

from labkit import notebooks, settings


def test_book_contents_list_every_lab_and_only_existing_pages():
    toc = yaml.safe_load((settings.REPO_ROOT / "_toc.yml").read_text())
    files = [c["file"] for part in toc["parts"] for c in part["chapters"]]
    labs = {f"notebooks/{p.stem}" for p in notebooks.lab_paths()}
    assert labs <= set(files), f"labs missing from _toc.yml: {labs - set(files)}"
    for f in files + [toc["root"]]:
        assert any((settings.REPO_ROOT / f"{f}{ext}").exists() for ext in (".md", ".ipynb")), f
    config = yaml.safe_load((settings.REPO_ROOT / "_config.yml").read_text())
    assert config["execute"]["execute_notebooks"] == "off"
