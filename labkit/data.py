"""Dataset loaders with one signature: ``load_mnist``, ``load_fashion_mnist``, ``load_cifar10``.

Where the images come from (``source``):

- ``"real"``: the real dataset, tried in this order: a data directory
  (``data_dir=`` or the LABKIT_DATA_DIR environment variable) holding files in
  the npz layout keras downloads; the keras cache (~/.keras/datasets); a keras
  download. If none works, a DataSourceError lists what was tried and how to fix it.
- ``"auto"`` (default): the same, but when no real data can be had the loader
  falls back to the stand-in and says so loudly.
- ``"embedded"``: the stand-in only (tests, the smoke profile, offline work).

Images come back as float32 in [0, 1] with a channel axis, labels as int64 of
shape (N,), and ``Dataset.source`` records what was actually used.
"""

from __future__ import annotations

import os
import weakref
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from labkit import settings, standins

FASHION_NAMES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
CIFAR10_NAMES = (
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck",
)

# Files looked for in a data directory, per dataset, in order.
DATA_DIR_FILES = {
    "mnist": ("mnist.npz",),
    "fashion_mnist": ("fashion_mnist.npz", "fashion-mnist.npz"),
    "cifar10": ("cifar10.npz", "cifar10_subset.npz"),
}
# What the keras cache holds once keras has downloaded a dataset.
KERAS_CACHE_ENTRIES = {
    "mnist": ("mnist.npz",),
    "fashion_mnist": ("fashion-mnist/t10k-labels-idx1-ubyte.gz",),
    "cifar10": ("cifar-10-batches-py-target", "cifar-10-batches-py"),
}
DISPLAY_NAMES = {"mnist": "MNIST", "fashion_mnist": "Fashion-MNIST", "cifar10": "CIFAR-10"}
STANDIN_DESCRIPTIONS = {
    "mnist": "scikit-learn's 8x8 digits resized to 28x28",
    "fashion_mnist": "scikit-learn's 8x8 digits resized to 28x28 (digits, not clothing)",
    "cifar10": "generated 32x32 colour shapes in 10 classes",
}
STANDIN_DEFAULT_SIZES = {"mnist": (6000, 1000), "fashion_mnist": (6000, 1000), "cifar10": (5000, 1000)}
_KEYS = ("x_train", "y_train", "x_test", "y_test")


class DataSourceError(RuntimeError):
    """No real data could be had where real data was required."""


class DataFileError(ValueError):
    """A dataset file exists but is truncated, corrupt or in the wrong layout."""


@dataclass(frozen=True)
class DataSource:
    """What a loader actually used, in words a student and a grader can read."""

    dataset: str
    kind: str  # "data_dir", "keras_cache", "keras_download" or "embedded"
    location: str
    standin: bool
    tried: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        name = DISPLAY_NAMES[self.dataset]
        if self.standin:
            return f"STAND-IN for {name}: {STANDIN_DESCRIPTIONS[self.dataset]} (not the real {name})"
        return f"{name} ({self.kind}: {self.location})"

    def as_record(self) -> dict:
        return {"dataset": self.dataset, "kind": self.kind, "location": self.location,
                "standin": self.standin, "label": self.label}


@dataclass
class Dataset:
    """Train and test images and labels, the class names and the source used."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...]
    source: DataSource
    notes: list[str] = field(default_factory=list)

    def __repr__(self) -> str:
        return (f"Dataset(train {self.x_train.shape}, test {self.x_test.shape}, "
                f"source={self.source.label!r})")


# ---------------------------------------------------------------- test-set guard
_test_arrays: list[weakref.ref] = []


def _register_test(*arrays: np.ndarray) -> None:
    _test_arrays[:] = [r for r in _test_arrays if r() is not None]
    _test_arrays.extend(weakref.ref(a) for a in arrays)


def is_test_data(array) -> bool:
    """True when ``array`` is (a view of) the test split of a dataset loaded by labkit."""
    if not isinstance(array, np.ndarray):
        return False
    return any(r() is not None and np.may_share_memory(array, r()) for r in _test_arrays)


# ---------------------------------------------------------------- file readers
def _read_npz(path: Path) -> tuple[np.ndarray, ...]:
    """Read x_train, y_train, x_test, y_test from a keras-layout npz, with clear errors."""
    try:
        with np.load(path, allow_pickle=False) as f:
            missing = [k for k in _KEYS if k not in f.files]
            if missing:
                raise DataFileError(
                    f"{path} has no {', '.join(missing)} (it holds {', '.join(f.files) or 'nothing'}). "
                    f"A dataset file needs the keys {', '.join(_KEYS)}, as keras' load_data() returns them."
                )
            return tuple(f[k] for k in _KEYS)
    except DataFileError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError) as err:
        raise DataFileError(
            f"{path} is truncated or corrupt and cannot be read ({type(err).__name__}: {err}). "
            f"Delete it and copy or download it again."
        ) from err


def _keras_cache_dir() -> Path:
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")).expanduser() / "datasets"


def _keras_load(dataset: str):
    """Call keras' own loader (cache first, then download)."""
    import socket

    from keras import datasets as kd

    loader = {"mnist": kd.mnist, "fashion_mnist": kd.fashion_mnist, "cifar10": kd.cifar10}[dataset]
    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(20)
    try:
        (x_train, y_train), (x_test, y_test) = loader.load_data()
    finally:
        socket.setdefaulttimeout(old)
    return x_train, y_train, x_test, y_test


def _check_arrays(dataset: str, arrays, where: str):
    x_train, y_train, x_test, y_test = arrays
    want = (32, 32, 3) if dataset == "cifar10" else (28, 28)
    for name, x, y in (("train", x_train, y_train), ("test", x_test, y_test)):
        if x.shape[1:] != want or len(x) != len(np.ravel(y)):
            raise DataFileError(
                f"{where}: {name} images have shape {x.shape} with {np.size(y)} labels; "
                f"{DISPLAY_NAMES[dataset]} needs (N, {', '.join(map(str, want))}) images and N labels."
            )


def _find_real(dataset: str, data_dir, tried: list[str]):
    """Return (arrays, kind, location) of the first real source that works, or None."""
    folders = [Path(data_dir).expanduser()] if data_dir else []
    env_dir = settings.data_dir_from_env()
    if env_dir is not None and env_dir not in folders:
        folders.append(env_dir)
    for folder in folders:
        for fname in DATA_DIR_FILES[dataset]:
            path = folder / fname
            if path.is_file():
                arrays = _read_npz(path)  # a broken file is an error, never a silent fallback
                _check_arrays(dataset, arrays, str(path))
                return arrays, "data_dir", str(path)
        tried.append(f"data directory {folder}: no {' or '.join(DATA_DIR_FILES[dataset])}")
    if not folders:
        tried.append(f"data directory: none given (data_dir= or {settings.DATA_DIR_ENV})")

    cache = _keras_cache_dir()
    cached = any((cache / entry).exists() for entry in KERAS_CACHE_ENTRIES[dataset])
    if not cached and not settings.downloads_allowed():
        tried.append(f"keras cache {cache}: empty; download disabled by {settings.DOWNLOAD_ENV}=0")
        return None
    kind = "keras_cache" if cached else "keras_download"
    try:
        arrays = _keras_load(dataset)
    except Exception as err:  # keras raises bare Exception on URL failures
        what = "keras cache" if cached else "keras download"
        tried.append(f"{what} ({cache}): {type(err).__name__}: {str(err)[:160]}")
        return None
    _check_arrays(dataset, arrays, f"keras {dataset}")
    return arrays, kind, str(cache)


def _how_to_fix(dataset: str) -> str:
    fname = DATA_DIR_FILES[dataset][0]
    return (
        f"To fix: put {fname} (keys x_train, y_train, x_test, y_test) in a folder and set "
        f"{settings.DATA_DIR_ENV}=/that/folder (or pass data_dir=), or connect to the internet once so "
        f"keras can download {DISPLAY_NAMES[dataset]} into {_keras_cache_dir()}, "
        f"or use source='embedded' for the stand-in."
    )


# ---------------------------------------------------------------- subsetting
def balanced_subset(x: np.ndarray, y: np.ndarray, n: int, seed: int = 0):
    """Pick ``n`` examples with the classes as equal in number as possible (deterministic)."""
    y = np.ravel(y)
    classes = np.unique(y)
    if n > len(y):
        raise ValueError(f"Asked for {n} examples but only {len(y)} are available; ask for at most {len(y)}.")
    rng = np.random.default_rng(seed)
    per_class = {c: rng.permutation(np.flatnonzero(y == c)) for c in classes}
    share = np.full(len(classes), n // len(classes))
    share[: n % len(classes)] += 1
    # classes too small to give their share hand the rest to the others
    counts = np.array([len(per_class[c]) for c in classes])
    while (share > counts).any():
        spare = int((share - counts).clip(min=0).sum())
        share = np.minimum(share, counts)
        room = np.flatnonzero(share < counts)
        share[room[:spare]] += 1
    picked = np.concatenate([per_class[c][:k] for c, k in zip(classes, share)])
    picked = rng.permutation(picked)
    return x[picked], y[picked]


def _prepare(dataset, arrays, n_train, n_test, seed):
    x_train, y_train, x_test, y_test = arrays
    y_train, y_test = np.ravel(y_train).astype(np.int64), np.ravel(y_test).astype(np.int64)
    if n_train is not None and n_train < len(x_train):
        x_train, y_train = balanced_subset(x_train, y_train, n_train, seed)
    if n_test is not None and n_test < len(x_test):
        x_test, y_test = balanced_subset(x_test, y_test, n_test, seed)

    def scale(x):
        x = np.asarray(x)
        x = x.astype(np.float32) / 255.0 if x.dtype == np.uint8 else x.astype(np.float32)
        return x[..., None] if x.ndim == 3 else x

    return scale(x_train), y_train, scale(x_test), y_test


def _load(dataset, source, data_dir, n_train, n_test, seed, verbose):
    source = settings.check_choice("source", source, settings.DATA_SOURCES)
    for name, value in (("n_train", n_train), ("n_test", n_test)):
        if value is not None and (not isinstance(value, (int, np.integer)) or value < 1):
            raise ValueError(f"{name}={value!r} must be a positive whole number or None (all).")
    tried: list[str] = []
    found = None if source == "embedded" else _find_real(dataset, data_dir, tried)
    if found is None and source == "real":
        raise DataSourceError(
            f"No real {DISPLAY_NAMES[dataset]} could be loaded. Tried:\n  - " + "\n  - ".join(tried)
            + "\n" + _how_to_fix(dataset)
        )
    if found is not None:
        arrays, kind, location = found
        src = DataSource(dataset, kind, location, standin=False, tried=tuple(tried))
        names = {"mnist": standins.DIGIT_NAMES, "fashion_mnist": FASHION_NAMES, "cifar10": CIFAR10_NAMES}[dataset]
    else:
        default_train, default_test = STANDIN_DEFAULT_SIZES[dataset]
        make = standins.embedded_shapes if dataset == "cifar10" else standins.embedded_digits
        arrays = make(n_train or default_train, n_test or default_test, seed=seed)
        src = DataSource(dataset, "embedded", "labkit.standins", standin=True, tried=tuple(tried))
        names = standins.SHAPE_NAMES if dataset == "cifar10" else standins.DIGIT_NAMES
    x_train, y_train, x_test, y_test = _prepare(dataset, arrays, n_train, n_test, seed)
    _register_test(x_test, y_test)
    data = Dataset(x_train, y_train, x_test, y_test, names, src)
    if src.standin and source == "auto":
        data.notes.append("No real data could be had, so the stand-in is used. Tried: " + "; ".join(tried))
    if verbose:
        _announce(data)
    from labkit import results

    results.set_data_source(src)
    return data


def _announce(data: Dataset) -> None:
    src = data.source
    line = f"Data: {src.label}; train {data.x_train.shape}, test {data.x_test.shape}"
    if src.standin:
        bar = "!" * 78
        print(f"{bar}\n{line}\nResults below are NOT {DISPLAY_NAMES[src.dataset]} results.")
        for note in data.notes:
            print(note)
        print(bar)
    else:
        print(line)


def load_mnist(source: str = "auto", data_dir=None, n_train: int | None = None,
               n_test: int | None = None, seed: int = 0, verbose: bool = True) -> Dataset:
    """MNIST digits (LeCun, Cortes and Burges): images (N, 28, 28, 1) float32 in [0, 1]."""
    return _load("mnist", source, data_dir, n_train, n_test, seed, verbose)


def load_fashion_mnist(source: str = "auto", data_dir=None, n_train: int | None = None,
                       n_test: int | None = None, seed: int = 0, verbose: bool = True) -> Dataset:
    """Fashion-MNIST (Xiao, Rasul and Vollgraf, 2017): images (N, 28, 28, 1) float32 in [0, 1]."""
    return _load("fashion_mnist", source, data_dir, n_train, n_test, seed, verbose)


def load_cifar10(source: str = "auto", data_dir=None, n_train: int | None = None,
                 n_test: int | None = None, seed: int = 0, verbose: bool = True) -> Dataset:
    """CIFAR-10 (Krizhevsky, 2009): images (N, 32, 32, 3) float32 in [0, 1]."""
    return _load("cifar10", source, data_dir, n_train, n_test, seed, verbose)
