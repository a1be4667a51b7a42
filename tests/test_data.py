import numpy as np
import pytest

import labkit
from labkit.data import DataFileError, DataSourceError, balanced_subset, is_test_data
from tests.conftest import write_fake_mnist


def test_embedded_mnist_is_labelled_stand_in_and_normalised(capsys):
    data = labkit.load_mnist(source="embedded", n_train=300, n_test=100)
    assert data.x_train.shape == (300, 28, 28, 1) and data.x_test.shape == (100, 28, 28, 1)
    assert data.x_train.dtype == np.float32 and 0 <= data.x_train.min() and data.x_train.max() <= 1
    assert data.y_train.dtype == np.int64 and data.y_train.shape == (300,)
    assert data.source.standin and data.source.kind == "embedded"
    assert "STAND-IN" in data.source.label and "not the real MNIST" in data.source.label
    assert "STAND-IN" in capsys.readouterr().out


def test_embedded_digits_train_and_test_come_from_different_images():
    data = labkit.load_mnist(source="embedded", n_train=1400, n_test=300)
    train = {x.tobytes() for x in data.x_train}
    assert not any(x.tobytes() in train for x in data.x_test)


def test_embedded_digits_are_recognisable_by_a_simple_classifier():
    from sklearn.linear_model import LogisticRegression

    data = labkit.load_mnist(source="embedded", n_train=1000, n_test=300)
    clf = LogisticRegression(max_iter=300).fit(data.x_train.reshape(1000, -1), data.y_train)
    assert clf.score(data.x_test.reshape(300, -1), data.y_test) > 0.8


def test_embedded_cifar_shapes_are_learnable_colour_images():
    from sklearn.linear_model import LogisticRegression

    data = labkit.load_cifar10(source="embedded", n_train=1000, n_test=300)
    assert data.x_train.shape == (1000, 32, 32, 3) and len(data.class_names) == 10
    assert np.bincount(data.y_train).tolist() == [100] * 10
    grey = lambda x: x.mean(axis=-1)[:, ::2, ::2].reshape(len(x), -1)  # noqa: E731
    clf = LogisticRegression(max_iter=100).fit(grey(data.x_train), data.y_train)
    score = clf.score(grey(data.x_test), data.y_test)
    assert score > 0.3  # chance is 0.1; a linear model on pixels already finds structure


def test_stand_in_is_deterministic_for_a_seed():
    a = labkit.load_mnist(source="embedded", n_train=200, n_test=50, seed=3, verbose=False)
    b = labkit.load_mnist(source="embedded", n_train=200, n_test=50, seed=3, verbose=False)
    c = labkit.load_mnist(source="embedded", n_train=200, n_test=50, seed=4, verbose=False)
    assert np.array_equal(a.x_train, b.x_train) and not np.array_equal(a.x_train, c.x_train)


def test_data_dir_is_used_first(tmp_path):
    write_fake_mnist(tmp_path / "mnist.npz")
    data = labkit.load_mnist(source="real", data_dir=tmp_path, verbose=False)
    assert data.source.kind == "data_dir" and not data.source.standin
    assert data.x_train.shape == (40, 28, 28, 1)
    raw = np.load(tmp_path / "mnist.npz")["x_train"]
    assert np.allclose(data.x_train[..., 0], raw / 255.0)


def test_data_dir_from_environment_variable(tmp_path, monkeypatch):
    write_fake_mnist(tmp_path / "mnist.npz")
    monkeypatch.setenv("LABKIT_DATA_DIR", str(tmp_path))
    assert labkit.load_mnist(source="real", verbose=False).source.location == str(tmp_path / "mnist.npz")


def test_real_only_fails_with_what_was_tried_and_how_to_fix(tmp_path):
    with pytest.raises(DataSourceError) as err:
        labkit.load_mnist(source="real", data_dir=tmp_path, verbose=False)
    message = str(err.value)
    assert str(tmp_path) in message and "no mnist.npz" in message
    assert "keras cache" in message and "LABKIT_DATA_DIR" in message and "embedded" in message


def test_auto_falls_back_to_stand_in_and_says_why(tmp_path, capsys):
    data = labkit.load_mnist(source="auto", data_dir=tmp_path, n_train=100, n_test=20)
    assert data.source.standin
    out = capsys.readouterr().out
    assert "No real data could be had" in out and str(tmp_path) in out


def test_truncated_file_names_the_file(tmp_path):
    good = write_fake_mnist(tmp_path / "good.npz")
    (tmp_path / "mnist.npz").write_bytes(good.read_bytes()[:300])
    with pytest.raises(DataFileError, match=r"mnist\.npz is truncated or corrupt"):
        labkit.load_mnist(source="auto", data_dir=tmp_path, verbose=False)


def test_file_with_wrong_keys_says_which_are_missing(tmp_path):
    np.savez(tmp_path / "mnist.npz", images=np.zeros((2, 28, 28), np.uint8))
    with pytest.raises(DataFileError, match="has no x_train, y_train, x_test, y_test"):
        labkit.load_mnist(source="real", data_dir=tmp_path, verbose=False)


def test_file_with_wrong_image_shape_is_rejected(tmp_path):
    np.savez(tmp_path / "mnist.npz", x_train=np.zeros((4, 32, 32), np.uint8), y_train=np.zeros(4),
             x_test=np.zeros((2, 32, 32), np.uint8), y_test=np.zeros(2))
    with pytest.raises(DataFileError, match=r"needs \(N, 28, 28\)"):
        labkit.load_mnist(source="real", data_dir=tmp_path, verbose=False)


def test_bad_parameters_are_explained():
    with pytest.raises(ValueError, match="source='mnist' is not valid"):
        labkit.load_mnist(source="mnist")
    with pytest.raises(ValueError, match="n_train=0 must be a positive whole number"):
        labkit.load_mnist(source="embedded", n_train=0)


def test_balanced_subset_is_balanced_and_deterministic():
    y = np.repeat(np.arange(10), [50, 5, 50, 50, 50, 50, 50, 50, 50, 50])
    x = np.arange(len(y))
    xs, ys = balanced_subset(x, y, 100, seed=1)
    counts = np.bincount(ys, minlength=10)
    assert len(ys) == 100 and counts[1] == 5 and counts.max() - counts[counts != 5].min() <= 1
    assert np.array_equal(y[xs], ys)
    assert np.array_equal(balanced_subset(x, y, 100, seed=1)[0], xs)
    with pytest.raises(ValueError, match="only 455 are available"):
        balanced_subset(x, y, 1000)


def test_subsetting_real_data_keeps_classes_balanced(tmp_path):
    write_fake_mnist(tmp_path / "mnist.npz", n_train=100)
    data = labkit.load_mnist(source="real", data_dir=tmp_path, n_train=30, verbose=False)
    assert np.bincount(data.y_train).tolist() == [3] * 10


def test_test_split_is_known_to_the_guard():
    data = labkit.load_mnist(source="embedded", n_train=100, n_test=50, verbose=False)
    assert is_test_data(data.x_test) and is_test_data(data.x_test[:10])
    assert not is_test_data(data.x_train) and not is_test_data(data.x_test.copy())
