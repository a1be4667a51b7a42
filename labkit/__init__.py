"""labkit: the helpers every lab notebook of the course shares.

The lab notebooks build and train their models in plain sight; labkit holds
what would otherwise be copied from lab to lab: data loading, seeding and the
environment stamp, tidy training logs, plots, metrics, self-checks, recorded
results and the ``labkit`` command.
"""

from labkit import checks, discussion, expected, metrics, plots, widgets
from labkit.data import (
    DataSourceError,
    Dataset,
    balanced_subset,
    load_cifar10,
    load_fashion_mnist,
    load_mnist,
)
from labkit.exercise import Checks
from labkit.expected import show_expected
from labkit.results import read_records, record
from labkit.setup import Lab, setup_lab

__version__ = "0.1.0"


def __getattr__(name):
    # fit and split_validation live in labkit.training, which imports TensorFlow: load it on first use
    # so that `import labkit` stays fast for code that never trains (the IMU simulator, the CLI).
    if name in ("fit", "split_validation"):
        import importlib

        return getattr(importlib.import_module("labkit.training"), name)
    raise AttributeError(f"module 'labkit' has no attribute {name!r}")

__all__ = [
    "Checks",
    "checks",
    "discussion",
    "expected",
    "metrics",
    "plots",
    "widgets",
    "DataSourceError",
    "Dataset",
    "Lab",
    "balanced_subset",
    "fit",
    "load_cifar10",
    "load_fashion_mnist",
    "load_mnist",
    "read_records",
    "record",
    "setup_lab",
    "show_expected",
    "split_validation",
]
