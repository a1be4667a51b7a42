"""One call at the top of every lab: seeds, quiet TensorFlow, profile and an environment stamp."""

from __future__ import annotations

import contextlib
import os
import platform
import random
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from labkit import results, settings


@dataclass(frozen=True)
class Lab:
    """The settings a lab runs with, after parameters and environment are combined."""

    name: str
    profile: str
    seed: int
    data_source: str
    data_dir: Path | None

    @property
    def smoke(self) -> bool:
        return self.profile == "smoke"


@contextlib.contextmanager
def quiet_stderr():
    """Send file descriptor 2 to /dev/null (TensorFlow's C++ start-up lines bypass Python)."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def import_tensorflow():
    """Import TensorFlow without its start-up noise on stderr; returns the module."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    with quiet_stderr():
        import tensorflow as tf
        import keras  # noqa: F401  (its first import also talks to stderr)
    tf.get_logger().setLevel("ERROR")  # no retracing warnings each time a new model predicts
    return tf


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and TensorFlow, and ask TensorFlow for deterministic ops."""
    tf = import_tensorflow()
    import keras

    random.seed(seed)
    np.random.seed(seed)
    keras.utils.set_random_seed(seed)
    with contextlib.suppress(AttributeError, RuntimeError):
        tf.config.experimental.enable_op_determinism()


def resolve_profile(profile: str) -> str:
    """The profile to use: LABKIT_PROFILE if set, else the notebook's parameter."""
    chosen = settings.env_choice(settings.PROFILE_ENV, settings.PROFILES) or profile
    return settings.check_choice("PROFILE", chosen, settings.PROFILES)


def resolve_data_source(data_source: str, profile: str) -> str:
    """LABKIT_DATA_SOURCE if set; otherwise the smoke profile always uses the offline stand-in."""
    chosen = settings.env_choice(settings.DATA_SOURCE_ENV, settings.DATA_SOURCES)
    if chosen:
        return chosen
    settings.check_choice("DATA_SOURCE", data_source, settings.DATA_SOURCES)
    return "embedded" if profile == "smoke" else data_source


def _gpu_name(tf, gpu) -> str | None:
    """A GPU's model name, or None where this TensorFlow build cannot say."""
    try:
        return tf.config.experimental.get_device_details(gpu).get("device_name")
    except (AttributeError, RuntimeError, ValueError):
        return None


def describe_devices(tf) -> str:
    """The devices TensorFlow will use, each GPU by name: "CPU" or "CPU, GPU 0: NVIDIA H200"."""
    kinds = sorted({d.device_type for d in tf.config.list_physical_devices()} - {"GPU"})
    gpus = [f"GPU {i}: {_gpu_name(tf, gpu) or 'unnamed'}"
            for i, gpu in enumerate(tf.config.list_physical_devices("GPU"))]
    return ", ".join(kinds + gpus) or "none"


def environment_stamp(lab: Lab) -> str:
    """One line saying what ran where, so results can be compared."""
    tf = import_tensorflow()
    import keras

    devices = describe_devices(tf)
    intra = tf.config.threading.get_intra_op_parallelism_threads() or "auto"
    data_dir = lab.data_dir or "none"
    return (
        f"{lab.name} | Python {platform.python_version()} | TensorFlow {tf.__version__} | "
        f"Keras {keras.__version__} | devices: {devices} | CPU cores: {os.cpu_count()} "
        f"(intra-op threads: {intra})\n{lab.name} | profile: {lab.profile} | seed: {lab.seed} | "
        f"data source: {lab.data_source} (data dir: {data_dir})"
    )


def setup_lab(name: str, profile: str = "full", seed: int = 0, data_source: str = "auto",
              data_dir: str | None = None) -> Lab:
    """Seed everything, silence TensorFlow, resolve the profile and print the environment stamp."""
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise ValueError(f"SEED={seed!r} must be a whole number, for example 0.")
    profile = resolve_profile(profile)
    source = resolve_data_source(data_source, profile)
    folder = Path(data_dir).expanduser() if data_dir else settings.data_dir_from_env()
    if folder is not None and not folder.is_dir():
        raise ValueError(f"Data directory {folder} does not exist. Create it, or unset "
                         f"{settings.DATA_DIR_ENV} / DATA_DIR to use the keras cache.")
    if folder is not None:
        os.environ[settings.DATA_DIR_ENV] = str(folder)
    lab = Lab(name=name, profile=profile, seed=int(seed), data_source=source, data_dir=folder)
    seed_everything(lab.seed)
    from labkit import plots

    plots.use_course_style()
    results.set_lab(name, profile)
    print(environment_stamp(lab))
    return lab
