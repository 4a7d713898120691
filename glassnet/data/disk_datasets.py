"""Data sets that stay on disk, for ``glassnet train``, ``evaluate`` and the runs.

A *data folder on disk* is a folder holding the features and the labels as
NumPy saves them:

    data/
      X.npy          rows (m, n) or image-shaped (m, h, w[, c]); or
      X/             a folder of .npy shards (part-00000.npy, ...)
      y.npy          the labels (m,): codes, numbers or text; one value an example
      classes.json   optional: the class names the codes 0..C-1 stand for

and an HDF5 file (datasets ``X`` and ``y``, or the course's ``train_set_x`` and
``train_set_y``; optional ``classes`` / ``list_classes``) or a Parquet file or
folder of files is read from disk when it is larger than the data budget allows
one array in memory (``max_array_bytes``; :mod:`glassnet.data.budgets`): the
loaders refuse such a file, the on-disk path streams it. ``glassnet train --data
data/`` then

* keeps the features on disk (:mod:`glassnet.data.on_disk`,
  :mod:`glassnet.data.streams`) and the labels in memory;
* splits train / dev / test *by index* with the split seed (the same examples
  as the in-memory split of the same data: :func:`glassnet.data.splits`'
  indices), each split a :class:`~glassnet.data.on_disk.RowSubset` in the
  file's order, nothing copied (Parquet rows are streamed and not split: its
  dev and test sets are separate files, ``--dev-data``, ``--test-data``);
* fits the input layers in one streaming pass over the training rows: uint8
  pixels get ``Rescaling(1/255)``; other rows ``Standardization`` (mean and
  spread streamed, :class:`~glassnet.layers.preprocessing.RunningMoments`).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from glassnet.data.budgets import DataFileError, resolve_budget

__all__ = ["is_disk_dataset", "load_disk_dataset", "prepare_disk_data"]

_PARQUET = (".parquet", ".pq")
_HDF5 = (".h5", ".hdf5")


def _features_path(folder: Path) -> Path | None:
    for candidate in (folder / "X.npy", folder / "X"):
        if candidate.exists():
            return candidate
    return None


def _parquet_bytes(path: Path) -> int:
    files = [path] if path.is_file() else sorted(path.glob("*.parquet"))
    return sum(f.stat().st_size for f in files)


def is_disk_dataset(source) -> bool:
    """True for a data folder on disk (``X.npy`` or ``X/`` beside ``y.npy``), or a
    Parquet file or folder larger than the data budget's ``max_array_bytes``."""
    if not isinstance(source, (str, Path)):
        return False
    path = Path(source).expanduser()
    if path.is_dir() and (path / "y.npy").is_file():
        return _features_path(path) is not None
    is_parquet = path.suffix.lower() in _PARQUET or (
        path.is_dir() and any(path.glob("*.parquet"))
    )
    if is_parquet and path.exists():
        return _parquet_bytes(path) > resolve_budget().max_array_bytes
    if path.suffix.lower() in _HDF5 and path.is_file():
        return path.stat().st_size > resolve_budget().max_array_bytes
    return False


def _h5_parts(path: Path):
    """``(features, labels, classes)`` of a large HDF5 file: the features as
    :class:`~glassnet.data.on_disk.H5Rows`, the labels (and class names) read
    with the HDF5 loader's checks."""
    from glassnet.data.budgets import Meter
    from glassnet.data.h5_files import H5Reader
    from glassnet.data.on_disk import H5Rows

    with H5Reader(path, Meter(path)) as reader:
        keys = reader.keys
        pairs = (("X", "y"), ("x", "y"), ("X", "Y"), ("train_set_x", "train_set_y"))
        found = next(((x, y) for x, y in pairs if x in keys and y in keys), None)
        if found is None:
            raise DataFileError(
                f"{path} has datasets {sorted(keys)}; a data set on disk holds X "
                "and y (or the course's train_set_x and train_set_y)"
            )
        wanted = {found[1]: True}
        names = next((k for k in ("classes", "list_classes") if k in keys), None)
        if names is not None:
            wanted[names] = True
        arrays = reader.read_all(wanted)
    y = np.asarray(arrays[found[1]])
    if y.ndim == 2 and 1 in y.shape:
        y = y.reshape(-1)
    classes = None if names is None else list(arrays[names])
    return H5Rows(path, found[0]), y, classes


def _read_classes(folder: Path):
    path = folder / "classes.json"
    if not path.is_file():
        return None
    try:
        classes = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise DataFileError(f"cannot read {path}: {error}") from None
    if not isinstance(classes, list):
        raise DataFileError(f"{path} must hold a JSON list of class names")
    return classes


def load_disk_dataset(source, *, label_column=None, task=None):
    """A :class:`~glassnet.data.Dataset` whose ``X`` is a row source on disk and
    whose labels ``y`` are in memory, coded as every loader codes them."""
    from glassnet.data.datasets import Dataset
    from glassnet.data.npy_files import read_npy
    from glassnet.data.on_disk import open_rows

    path = Path(source).expanduser()
    if path.suffix.lower() in _HDF5:
        X, y, classes = _h5_parts(path)
    elif path.suffix.lower() in _PARQUET or not (path / "y.npy").is_file():
        from glassnet.data.streams import ParquetRows

        X = ParquetRows(path, label_column=label_column)
        y, classes = X.labels(), None
    else:
        from glassnet.data.budgets import Meter

        X = open_rows(_features_path(path))
        y, classes = read_npy(path / "y.npy", Meter(path / "y.npy")), None
        classes = _read_classes(path)
    if len(y) != len(X):
        raise DataFileError(
            f"{path}: the labels hold {len(y)} examples but the features hold "
            f"{len(X)} ({X.describe()})"
        )
    stand_in = np.empty((len(y), 0))  # the labels coded as for arrays; X stays
    dataset = Dataset.from_arrays(
        stand_in,
        y,
        task=task,
        classes=classes,
        name=path.stem,
        description=f"read from {path} (rows on disk: {X.describe()})",
    )
    dataset.X = X
    if len(X.example_shape) > 1:  # pictures: kept as rows, Flatten in the model
        shape = X.example_shape
        dataset.image_shape = shape if len(shape) == 3 else (*shape, 1)
    return dataset


def _input_layers(X_train, image_shape, standardize: bool) -> list:
    """Flatten for pictures, then Rescaling(1/255) for uint8 pixels or a
    Standardization adapted in one streaming pass (:mod:`glassnet.networks`'
    choice, made from the file's dtype, not a pass over the values)."""
    from glassnet.layers import Flatten, Rescaling, Standardization

    layers = [] if image_shape is None else [Flatten(image_shape)]
    if not standardize:
        return layers
    if X_train.dtype == np.uint8:
        layers.append(Rescaling(1.0 / 255.0))
    else:
        layers.append(Standardization().adapt(X_train))
    return layers


def _separate_part(path, name: str, dataset, config):
    """``(X, y)`` of ``--dev-data`` / ``--test-data``: on disk when it is a data
    set on disk, else loaded as ``glassnet train`` loads it; the training data's
    number of features, labels coded in the training data's classes."""
    from glassnet.runs import load_stored, separate_labels

    other = load_stored(path, label_column=config.label_column)
    X = other.X
    if not getattr(X, "on_disk", False):
        X = np.ascontiguousarray(X.reshape(len(X), -1), dtype=config.dtype)
    if X.shape[1] != dataset.X.shape[1]:
        raise ValueError(
            f"{path} (--{name}-data) has {X.shape[1]} features per example but "
            f"{config.data} has {dataset.X.shape[1]}; the {name} set needs the same "
            "inputs"
        )
    return X, separate_labels(other, dataset, path, name, config)


def prepare_disk_data(config) -> dict:
    """:func:`glassnet.runs.prepare_data` for a data set on disk (module
    docstring): the same dictionary, with row sources for the splits."""
    from glassnet.backend import resolve_rng
    from glassnet.data.splits import _split_indices, recommend_ratios

    dataset = load_disk_dataset(config.data, label_column=config.label_column)
    X, y = dataset.X, dataset.y
    separate = {
        name: _separate_part(path, name, dataset, config)
        for name, path in (("dev", config.dev_data), ("test", config.test_data))
        if path is not None
    }
    streamed = getattr(X, "streamed", False)
    if streamed:  # Parquet: no split by index
        train, dev, test = np.arange(len(X)), np.arange(0), np.arange(0)
        ratios = (1.0, 0.0, 0.0)
    else:
        from glassnet.runs import _split_ratios

        given = {
            name: (None, None, getattr(config, f"{name}_data"))
            if name in separate
            else None
            for name in ("dev", "test")
        }
        ratios = _split_ratios(config, given) or recommend_ratios(max(len(X), 1))
        generator = resolve_rng(config.split_seed)
        train, dev, test = _split_indices(len(X), ratios, generator, None)
    parts = {"train": (X if streamed else X.rows(train), y[np.sort(train)])}
    for name, index in (("dev", dev), ("test", test)):
        if name in separate:
            parts[name] = separate[name]
        elif len(index):
            parts[name] = (X.rows(index), y[np.sort(index)])
    preprocessing = _input_layers(
        parts["train"][0], dataset.image_shape, config.standardize
    )
    sources = dict.fromkeys(("train", "dev", "test"), str(config.data))
    for name in separate:
        sources[name] = str(getattr(config, f"{name}_data"))
    split = {
        "sizes": {
            name: len(parts[name][0]) if name in parts else 0
            for name in ("train", "dev", "test")
        },
        "sources": sources,
        "ratios": list(ratios),
        "data": str(config.data),
        "split_seed": config.split_seed,
    }
    return {
        "splits": parts,
        "dataset": dataset,
        "preprocessing": preprocessing,
        "split": split,
    }
