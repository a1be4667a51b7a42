import os
import random

import numpy as np
import pytest

import labkit
from labkit import setup


def test_profile_parameter_and_environment_override(monkeypatch):
    assert setup.resolve_profile("full") == "full"
    monkeypatch.setenv("LABKIT_PROFILE", "smoke")
    assert setup.resolve_profile("full") == "smoke"
    monkeypatch.setenv("LABKIT_PROFILE", "fast")
    with pytest.raises(ValueError, match="LABKIT_PROFILE='fast' is not one of smoke, full"):
        setup.resolve_profile("full")


def test_bad_profile_parameter_is_explained():
    with pytest.raises(ValueError, match="PROFILE='ful' is not valid"):
        setup.resolve_profile("ful")


def test_smoke_profile_uses_the_stand_in_unless_told_otherwise(monkeypatch):
    assert setup.resolve_data_source("auto", "smoke") == "embedded"
    assert setup.resolve_data_source("real", "full") == "real"
    monkeypatch.setenv("LABKIT_DATA_SOURCE", "real")
    assert setup.resolve_data_source("auto", "smoke") == "real"


def test_setup_lab_stamps_environment_and_seeds(capsys):
    lab = labkit.setup_lab("99_test", profile="smoke", seed=7)
    out = capsys.readouterr().out
    for word in ("99_test", "Python", "TensorFlow", "Keras", "devices: CPU", "profile: smoke", "seed: 7",
                 "data source: embedded"):
        assert word in out
    assert lab.smoke and lab.seed == 7
    first = (random.random(), np.random.rand())
    labkit.setup_lab("99_test", profile="smoke", seed=7)
    assert (random.random(), np.random.rand()) == first


def test_same_seed_gives_same_keras_weights():
    import keras

    def weights():
        labkit.setup_lab("99_test", profile="smoke", seed=3)
        return keras.Sequential([keras.Input((3,)), keras.layers.Dense(4)]).get_weights()[0]

    assert np.array_equal(weights(), weights())


def test_setup_lab_rejects_bad_inputs(tmp_path):
    with pytest.raises(ValueError, match="SEED='1' must be a whole number"):
        labkit.setup_lab("x", seed="1")
    with pytest.raises(ValueError, match="does not exist"):
        labkit.setup_lab("x", data_dir=tmp_path / "missing")


def test_quiet_stderr_hides_file_descriptor_output(capfd):
    with setup.quiet_stderr():
        os.write(2, b"noise from C++\n")
    os.write(2, b"visible\n")
    err = capfd.readouterr().err
    assert "noise" not in err and "visible" in err


class _Device:
    def __init__(self, kind):
        self.device_type = kind


class _FakeTensorFlow:
    """Just enough of tf.config to describe a machine with one CPU and two GPUs."""

    def __init__(self, names):
        self._devices = [_Device("CPU")] + [_Device("GPU") for _ in names]
        self._names = iter(names)
        self.config = self
        self.experimental = self

    def list_physical_devices(self, kind=None):
        return [d for d in self._devices if kind in (None, d.device_type)]

    def get_device_details(self, _gpu):
        name = next(self._names)
        if name is None:
            raise RuntimeError("no details in this build")
        return {"device_name": name}


def test_stamp_names_each_gpu_and_survives_builds_without_details():
    assert setup.describe_devices(_FakeTensorFlow([])) == "CPU"
    described = setup.describe_devices(_FakeTensorFlow(["NVIDIA H200", None]))
    assert described == "CPU, GPU 0: NVIDIA H200, GPU 1: unnamed"
