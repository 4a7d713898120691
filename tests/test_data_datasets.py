"""Dataset container, name registry, bundled / generated / course datasets."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest
from conftest import DATA_DIR, needs_data

import glassnet.data.registry as registry_module
from glassnet.data import (
    Dataset,
    DatasetNotFoundError,
    available_datasets,
    infer_task,
    load_dataset,
    make_circles,
    make_flower,
    make_moons,
    register_dataset,
)

# ------------------------------------------------------------------ container


def test_dataset_validates_rows_and_task():
    X = np.zeros((4, 2))
    with pytest.raises(ValueError, match="task"):
        Dataset(X=X, y=np.zeros(4, dtype=int), task="clustering")
    with pytest.raises(ValueError, match="same number of examples"):
        Dataset(X=X, y=np.zeros(3, dtype=int), task="binary")
    with pytest.raises(ValueError, match="X_test and y_test"):
        Dataset(X=X, y=np.zeros(4, dtype=int), task="binary", X_test=X)
    with pytest.raises(ValueError, match="codes must be in"):
        Dataset(X=X, y=np.array([0, 1, 2, 0]), task="binary", classes=["a", "b"])
    with pytest.raises(ValueError, match="feature_names has 3"):
        Dataset(
            X=X,
            y=np.zeros(4, dtype=int),
            task="binary",
            feature_names=["a", "b", "c"],
        )
    with pytest.raises(ValueError, match="X_test examples have shape"):
        Dataset(
            X=X,
            y=np.zeros(4, dtype=int),
            task="binary",
            X_test=np.zeros((2, 3)),
            y_test=np.zeros(2, dtype=int),
        )


def test_from_arrays_encodes_text_labels_and_infers_task():
    X = np.arange(12.0).reshape(6, 2)
    data = Dataset.from_arrays(X, np.array(["dog", "cat", "dog", "cow", "cat", "cow"]))
    assert data.task == "multiclass"
    assert data.classes == ["cat", "cow", "dog"]
    np.testing.assert_array_equal(data.y, [2, 0, 2, 1, 0, 1])
    # labels 1/2 become codes 0/1 with the original labels as classes
    data = Dataset.from_arrays(
        X[:4], [1, 2, 2, 1], X_test=X[4:], y_test=np.array([[2], [1]])
    )
    assert (data.task, data.classes) == ("binary", [1, 2])
    np.testing.assert_array_equal(data.y_test, [1, 0])
    # given class names with integer codes keep the codes
    data = Dataset.from_arrays(X[:2], [1, 0], classes=["non-cat", "cat"])
    np.testing.assert_array_equal(data.y, [1, 0])
    assert data.classes == ["non-cat", "cat"]
    assert Dataset.from_arrays(X, np.linspace(0, 1, 6)).task == "regression"
    multi = Dataset.from_arrays(X[:3], np.array([[0, 1], [1, 1], [0, 0]]))
    assert multi.task == "multilabel" and multi.classes == [0, 1]
    assert "task='multilabel'" in repr(multi)


def test_infer_task_rules():
    assert infer_task(np.array([0.0, 1.0, 1.0])) == "binary"
    assert infer_task(np.arange(5)) == "multiclass"
    assert infer_task(np.arange(50.0)) == "regression"  # many whole-number floats
    assert infer_task(np.array([0.5, 1.0])) == "regression"
    assert infer_task(np.array([[0.0, 2.0], [1.0, 3.0]])) == "regression"


# ---------------------------------------------------------------- registry


def test_registry_lists_names_and_rejects_unknown_options():
    names = available_datasets()
    for expected in ("digits", "breast_cancer", "iris", "wine", "diabetes"):
        assert expected in names
    for expected in ("moons", "circles", "flower", "mnist", "catvnoncat"):
        assert expected in names
    with pytest.raises(TypeError, match=r"unknown option\(s\) \['colour'\]"):
        load_dataset("moons", colour="red")
    with pytest.raises(ValueError, match="label_column applies to CSV"):
        load_dataset("iris", label_column="y")
    with pytest.raises(ValueError, match="already registered"):
        register_dataset("iris", lambda: None)


def test_register_custom_dataset_and_alias(monkeypatch):
    # work on copies so the global registry is unchanged after the test
    monkeypatch.setattr(registry_module, "_REGISTRY", dict(registry_module._REGISTRY))
    monkeypatch.setattr(registry_module, "_ALIASES", dict(registry_module._ALIASES))

    def tiny(*, m=3):
        return Dataset(X=np.ones((m, 1)), y=np.zeros(m, dtype=int), task="binary")

    register_dataset("tiny-test-set", tiny, aliases=("tiny_alias",), overwrite=True)
    assert load_dataset("tiny_test_set", m=5).n_examples == 5
    assert load_dataset("TINY-ALIAS").n_examples == 3
    assert "tiny_test_set" in available_datasets()


def test_missing_path_names_path_and_known_datasets(tmp_path):
    missing = tmp_path / "nothing_here.csv"
    with pytest.raises(DatasetNotFoundError) as info:
        load_dataset(str(missing))
    message = str(info.value)
    assert str(missing) in message and "digits" in message and "moons" in message
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, FileNotFoundError)
    with pytest.raises(ValueError, match="known dataset names"):
        load_dataset("no-such-dataset")


# ---------------------------------------------------------------- bundled sets


@pytest.mark.parametrize(
    ("name", "shape", "task", "n_classes"),
    [
        ("digits", (1797, 64), "multiclass", 10),
        ("breast_cancer", (569, 30), "binary", 2),
        ("iris", (150, 4), "multiclass", 3),
        ("wine", (178, 13), "multiclass", 3),
        ("diabetes", (442, 10), "regression", None),
    ],
)
def test_sklearn_bundled_sets(name, shape, task, n_classes):
    data = load_dataset(name)
    assert data.X.shape == shape and data.X.dtype == np.float64
    assert data.task == task and data.y.shape == (shape[0],)
    assert len(data.feature_names) == shape[1]
    if n_classes is None:
        assert data.classes is None and data.y.dtype == np.float64
    else:
        assert len(data.classes) == n_classes
        assert set(np.unique(data.y)) == set(range(n_classes))


def test_digits_stay_raw_and_carry_image_shape():
    data = load_dataset("digits")
    assert data.X.min() == 0 and data.X.max() == 16
    assert data.image_shape == (8, 8, 1)
    assert load_dataset("breast_cancer").classes == ["malignant", "benign"]


def test_digits_read_from_the_file_equal_scikit_learns_loader():
    from sklearn.datasets import load_digits

    bunch = load_digits()
    data = load_dataset("digits")
    np.testing.assert_array_equal(data.X, bunch.data)
    np.testing.assert_array_equal(data.y, bunch.target)
    assert data.y.dtype == np.int64 and data.X.dtype == np.float64
    assert data.feature_names == bunch.feature_names
    assert data.classes == bunch.target_names.tolist()
    # options the file reader does not handle go to scikit-learn's loader
    assert set(np.unique(load_dataset("digits", n_class=3).y)) == {0, 1, 2}


# ---------------------------------------------------------------- generated sets


def test_moons_is_the_course_draw():
    data = load_dataset("moons")
    assert data.X.shape == (300, 2) and np.bincount(data.y).tolist() == [150, 150]
    np.testing.assert_allclose(data.X[0], [-0.21687013, 1.01544937], atol=1e-8)
    from sklearn.datasets import make_moons as sk_make_moons

    X, y = sk_make_moons(n_samples=300, noise=0.2, random_state=3)
    np.testing.assert_array_equal(data.X, X)
    np.testing.assert_array_equal(data.y, y)


def test_circles_is_the_course_draw_with_its_test_set():
    data = load_dataset("circles")
    assert data.X.shape == (300, 2) and data.X_test.shape == (100, 2)
    np.testing.assert_allclose(data.X[0], [-0.07741354, 0.85260226], atol=1e-8)
    assert np.bincount(data.y).tolist() == [150, 150]
    assert np.bincount(data.y_test).tolist() == [50, 50]
    X_test, _ = make_circles(100, noise=0.05, rng=2)
    np.testing.assert_array_equal(data.X_test, X_test)


def _course_flower():
    """The course's load_planar_dataset(), with np.random.seed(1) as RandomState(1)."""
    state = np.random.RandomState(1)
    m, N, D, a = 400, 200, 2, 4
    X = np.zeros((m, D))
    Y = np.zeros((m, 1), dtype="uint8")
    for j in range(2):
        ix = range(N * j, N * (j + 1))
        t = np.linspace(j * 3.12, (j + 1) * 3.12, N) + state.randn(N) * 0.2
        r = a * np.sin(4 * t) + state.randn(N) * 0.2
        X[ix] = np.c_[r * np.sin(t), r * np.cos(t)]
        Y[ix] = j
    return X.T, Y.T


def test_flower_is_the_course_planar_data():
    data = load_dataset("flower")
    X_course, Y_course = _course_flower()
    np.testing.assert_array_equal(data.X, X_course.T)  # rows vs the course's columns
    np.testing.assert_array_equal(data.y, Y_course.ravel())
    assert load_dataset("planar").X.shape == (400, 2)


def test_generators_take_every_rng_kind_and_validate():
    a, _ = make_moons(50, rng=7)
    b, _ = make_moons(50, rng=np.random.RandomState(7))
    np.testing.assert_array_equal(a, b)
    c1, _ = make_flower(30, rng=np.random.default_rng(0))
    c2, _ = make_flower(30, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(c1, c2)
    X, y = make_flower(31, noise=0.0, rng=0)
    assert X.shape == (31, 2) and np.bincount(y).tolist() == [16, 15]
    assert load_dataset("moons", rng=5, n_samples=40).X.shape == (40, 2)
    with pytest.raises(ValueError, match=r"noise must be in \[0, inf\)"):
        make_moons(10, noise=-1)
    with pytest.raises(ValueError, match="n_samples"):
        make_circles(1)
    with pytest.raises(TypeError, match="rng must be"):
        make_flower(10, rng="seed")


# ---------------------------------------------------------------- course files
# read from conftest's DATA_DIR ($GLASSNET_DATA, else ../shared/data from the
# repository root); these tests skip, naming the path, when a file is absent


@needs_data("catvnoncat/train_catvnoncat.h5", "catvnoncat/test_catvnoncat.h5")
def test_catvnoncat_by_name_and_by_path(monkeypatch):
    monkeypatch.setenv("GLASSNET_DATA", str(DATA_DIR))
    data = load_dataset("catvnoncat")
    assert data.X.shape == (209, 12288) and data.X_test.shape == (50, 12288)
    assert data.classes == ["non-cat", "cat"] and data.task == "binary"
    assert np.bincount(data.y).tolist() == [137, 72]
    assert np.bincount(data.y_test).tolist() == [17, 33]
    np.testing.assert_array_equal(np.round(data.X[0, :5] * 255), [17, 31, 56, 22, 33])
    assert 0.0 <= data.X.min() and data.X.max() <= 1.0
    assert abs(data.X.mean() * 255 - 103.007) < 1e-3
    images = load_dataset(
        DATA_DIR / "catvnoncat" / "train_catvnoncat.h5", flatten=False
    )
    assert images.X.shape == (209, 64, 64, 3)
    np.testing.assert_array_equal(images.X.reshape(209, -1), data.X)


@needs_data("football/data.mat")
def test_football_mat_file(monkeypatch):
    monkeypatch.setenv("GLASSNET_DATA", str(DATA_DIR))
    data = load_dataset("football")
    assert data.X.shape == (211, 2) and data.X_test.shape == (200, 2)
    assert np.bincount(data.y).tolist() == [105, 106]
    assert np.bincount(data.y_test).tolist() == [113, 87]
    assert data.task == "binary"


@needs_data("mnist/mnist_5k.csv.gz")
def test_mnist_subset(monkeypatch):
    monkeypatch.setenv("GLASSNET_DATA", str(DATA_DIR))
    data = load_dataset("mnist")
    assert data.X.shape == (5000, 784) and data.y.shape == (5000,)
    assert np.bincount(data.y).tolist() == [500] * 10
    assert data.X.min() == 0 and data.X.max() == 255
    assert data.image_shape == (28, 28, 1)
    assert load_dataset("mnist", scale=True).X.max() == 1.0


def test_mnist_found_through_cwd_or_env(tmp_path, monkeypatch):
    monkeypatch.delenv("GLASSNET_DATA", raising=False)
    project = tmp_path / "project"
    project.mkdir()
    monkeypatch.chdir(project)
    with pytest.raises(DatasetNotFoundError) as info:
        load_dataset("mnist")
    message = str(info.value)
    assert "GLASSNET_DATA" in message
    expected = tmp_path / "shared" / "data" / "mnist" / "mnist_5k.csv.gz"
    assert str(expected.resolve()) in message
    # a small stand-in file in the ../shared/data layout is found from the cwd
    folder = tmp_path / "shared" / "data" / "mnist"
    folder.mkdir(parents=True)
    rows = np.hstack([np.full((20, 784), 7), np.repeat(np.arange(10), 2)[:, None]])
    with gzip.open(folder / "mnist_5k.csv.gz", "wt") as handle:
        np.savetxt(handle, rows, fmt="%d", delimiter=",")
    data = load_dataset("mnist")
    assert data.X.shape == (20, 784) and np.bincount(data.y).tolist() == [2] * 10
    # $GLASSNET_DATA pointing at a folder that holds the file directly
    flat = tmp_path / "flat"
    flat.mkdir()
    (folder / "mnist_5k.csv.gz").rename(flat / "mnist_5k.csv.gz")
    monkeypatch.setenv("GLASSNET_DATA", str(flat))
    assert load_dataset("mnist").n_examples == 20


def test_dataset_repr_is_short_and_json_friendly_classes():
    data = load_dataset("iris")
    text = repr(data)
    assert "array(150, 4)" in text and len(text) < 300
    json.dumps(data.classes)
    json.dumps(load_dataset("digits").classes)
