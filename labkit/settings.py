"""Environment variables and folders the course reads, in one place."""

from __future__ import annotations

import os
from pathlib import Path

PROFILES = ("smoke", "full")
DATA_SOURCES = ("auto", "real", "embedded")

#: Selects the profile for every lab; wins over the notebook's PROFILE parameter
#: (nbval cannot inject parameters, so this is how CI picks ``smoke``).
PROFILE_ENV = "LABKIT_PROFILE"
#: A folder holding dataset files in the layout keras downloads (mnist.npz, ...).
DATA_DIR_ENV = "LABKIT_DATA_DIR"
#: Overrides the notebook's DATA_SOURCE parameter: auto, real or embedded.
DATA_SOURCE_ENV = "LABKIT_DATA_SOURCE"
#: Set to 0 to forbid keras downloads (the loaders then stop at the cache).
DOWNLOAD_ENV = "LABKIT_ALLOW_DOWNLOAD"

REPO_ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK_DIR = REPO_ROOT / "notebooks"
BUILD_DIR = REPO_ROOT / "build"


def env_choice(name: str, allowed: tuple[str, ...]) -> str | None:
    """Return the environment variable ``name`` if set, checking it is one of ``allowed``."""
    value = os.environ.get(name, "").strip()
    if not value:
        return None
    if value not in allowed:
        raise ValueError(
            f"Environment variable {name}={value!r} is not one of {', '.join(allowed)}. "
            f"Set it to one of those or unset it."
        )
    return value


def check_choice(what: str, value: str, allowed: tuple[str, ...]) -> str:
    """Raise a clear ValueError when ``value`` is not one of ``allowed``."""
    if value not in allowed:
        raise ValueError(f"{what}={value!r} is not valid: use one of {', '.join(map(repr, allowed))}.")
    return value


def data_dir_from_env() -> Path | None:
    """The data directory named by LABKIT_DATA_DIR, or None."""
    value = os.environ.get(DATA_DIR_ENV, "").strip()
    return Path(value).expanduser() if value else None


def downloads_allowed() -> bool:
    """False when LABKIT_ALLOW_DOWNLOAD is 0/false/no."""
    return os.environ.get(DOWNLOAD_ENV, "1").strip().lower() not in ("0", "false", "no")
