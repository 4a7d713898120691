"""Read datasets from files, examples as rows.

* ``.h5``/``.hdf5``: the course's cat format (``train_set_x``, ``train_set_y``,
  ``list_classes``; or ``test_set_x``/``test_set_y``), where ``train_X.h5`` next to a
  ``test_X.h5`` fills ``X_test``/``y_test`` too; or generic keys ``x``/``X``,
  ``y``/``Y`` (optional ``x_test``/``X_test``, ``y_test``/``Y_test``, ``classes``).
* ``.mat``: MATLAB files (versions 4 to 7) read with :func:`scipy.io.loadmat`:
  ``X``, ``y`` and, for a test set, ``Xval``/``yval`` (the course's football
  ``data.mat``), ``Xtest``/``ytest`` or ``X_test``/``y_test``.
* ``.npz``: keys ``X``/``x`` and ``y``/``Y`` (optional ``X_test``/``y_test``,
  ``classes``, ``feature_names``); pickles are refused unread.
* ``.csv``/``.csv.gz``: one example per line, a label column and numeric features;
  the header line is detected (or forced with ``header=True/False``).
* ``.parquet``/``.pq``: one example per row, the label column chosen as for CSV,
  numeric feature columns whose names are kept (pyarrow:
  :func:`glassnet.data.parquet_files.load_parquet`).
* a folder: images (:func:`glassnet.data.images.load_image_folder`).

Image arrays (3-D or 4-D) are flattened in C order to rows ``(m, h*w*c)`` with
``flatten=True`` (``Dataset.image_shape`` remembers ``(h, w, c)``); ``flatten=False``
keeps ``(m, h, w, c)``. ``scale=True`` divides ``uint8`` pixel data by 255 (the
course's ``X / 255.``); other dtypes are kept as stored. Labels stored as byte
strings (``.npz``, HDF5) are read as text.

Every loader takes ``budget=`` and reads only what it uses, within the data budget
(:mod:`glassnet.data.budgets`): each array is checked from what the file declares
before anything is allocated; HDF5 external storage, external links and virtual
datasets are refused.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import numpy as np

from glassnet.data.budgets import Meter
from glassnet.data.csv_files import _stem, _suffix, load_csv
from glassnet.data.datasets import Dataset
from glassnet.data.h5_files import H5Reader
from glassnet.data.mat_files import check_variables, scan_mat
from glassnet.data.npy_files import open_npz
from glassnet.data.parquet_files import load_parquet
from glassnet.data.registry import _call_loader

__all__ = ["load_file", "load_h5", "load_mat", "load_npz", "load_csv", "load_parquet"]

EXTENSIONS = (".h5", ".hdf5", ".mat", ".npz", ".csv", ".csv.gz", ".parquet", ".pq")


def load_file(path, **options) -> Dataset:
    """Read ``path`` with the loader its extension names (a folder: images)."""
    path = Path(path)
    if path.is_dir():
        from glassnet.data.images import load_image_folder

        return _call_loader(
            f"load_image_folder({str(path)!r})", _bind(load_image_folder, path), options
        )
    loaders = {
        ".h5": load_h5,
        ".hdf5": load_h5,
        ".mat": load_mat,
        ".npz": load_npz,
        ".csv": load_csv,
        ".csv.gz": load_csv,
        ".parquet": load_parquet,
        ".pq": load_parquet,
    }
    suffix = _suffix(path)
    if suffix not in loaders:
        raise ValueError(
            f"cannot read {str(path)!r}: unknown file type {suffix or '(none)'!r}; "
            f"supported: {', '.join(EXTENSIONS)} or a folder of PNG/JPEG images"
        )
    loader = loaders[suffix]
    return _call_loader(
        f"{loader.__name__}({str(path)!r})", _bind(loader, path), options
    )


def _bind(loader, path):
    def bound(**options):
        return loader(path, **options)

    signature = inspect.signature(loader)
    bound.__signature__ = signature.replace(
        parameters=[p for name, p in signature.parameters.items() if name != "path"]
    )
    return bound


# ------------------------------------------------------------------ shared helpers


def _finish_images(X, *, flatten: bool, scale: bool, name: str = "X"):
    """Scale uint8 pixels by 1/255 and flatten images to rows; return (X, shape)."""
    X = np.asarray(X)
    if X.dtype.kind not in "biuf":
        raise ValueError(f"{name} must be numeric; received dtype {X.dtype}")
    image_shape = None
    if X.ndim == 3:
        X = X[..., np.newaxis]
    if X.ndim == 4:
        image_shape = tuple(int(d) for d in X.shape[1:])
    elif X.ndim != 2:
        raise ValueError(
            f"{name} must be (m, n) rows or (m, h, w[, c]) images; received shape "
            f"{X.shape}"
        )
    if scale and X.dtype == np.uint8:
        X = X / 255.0
    else:
        X = X.astype(np.float64)
    if X.ndim == 4 and flatten:
        X = X.reshape(len(X), -1)
    return X, image_shape


def _match_labels(y, m: int, name: str = "y") -> np.ndarray:
    """Labels stored as ``(1, m)`` (the course layout) or ``(m, 1)`` become ``(m,)``."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[0] == 1 and y.shape[1] == m and m != 1:
        y = y[0]
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if len(y) != m:
        raise ValueError(
            f"{name} has {len(y)} labels (shape {y.shape}) but the features have "
            f"{m} examples"
        )
    return y


def _decode(values) -> list:
    out = []
    for value in np.asarray(values).ravel().tolist():
        out.append(value.decode("utf-8") if isinstance(value, bytes) else value)
    return out


def _first_key(keys, candidates):
    for key in candidates:
        if key in keys:
            return key
    return None


def _images_dataset(
    path, X, y, X_test, y_test, *, flatten, scale, task, classes, **fields
):
    X, image_shape = _finish_images(X, flatten=flatten, scale=scale)
    y = _match_labels(y, len(X))
    if X_test is not None:
        X_test, _ = _finish_images(X_test, flatten=flatten, scale=scale, name="X_test")
        y_test = _match_labels(y_test, len(X_test), "y_test")
    fields.setdefault("name", _stem(path))
    fields.setdefault("description", f"read from {path}")
    return Dataset.from_arrays(
        X,
        y,
        X_test=X_test,
        y_test=y_test,
        task=task,
        classes=classes,
        image_shape=image_shape,
        **fields,
    )


# ------------------------------------------------------------------------ HDF5


_COURSE_KEY = re.compile(r"^(train|test)_set_x$")


def _course_keys(reader, prefix) -> dict:
    y_key = f"{prefix}_set_y"
    if y_key not in reader.keys:
        raise ValueError(f"{reader.filename} has {prefix}_set_x but no {y_key}")
    keys = {f"{prefix}_set_x": False, y_key: True}
    if "list_classes" in reader.keys:
        keys["list_classes"] = True
    return keys


def _generic_keys(reader, path) -> dict:
    keys = reader.keys
    x_key = _first_key(keys, ("X", "x"))
    y_key = _first_key(keys, ("y", "Y"))
    if x_key is None or y_key is None:
        raise ValueError(
            f"{path} has datasets {sorted(keys)}; expected the course keys "
            "train_set_x/train_set_y (or test_set_x/test_set_y) or generic "
            "x/X and y/Y"
        )
    wanted = {"X": (x_key, False), "y": (y_key, True)}
    xt_key = _first_key(keys, ("X_test", "x_test"))
    yt_key = _first_key(keys, ("y_test", "Y_test"))
    if (xt_key is None) != (yt_key is None):
        raise ValueError(f"{path} must hold both X_test and y_test or neither")
    if xt_key is not None:
        wanted.update(X_test=(xt_key, False), y_test=(yt_key, True))
    c_key = _first_key(keys, ("classes", "list_classes"))
    if c_key is not None:
        wanted["classes"] = (c_key, True)
    return wanted


def _read_h5_sibling(path: Path, meter: Meter):
    """The course's ``test_X.h5`` beside ``train_X.h5``: ``(X, y)`` or None."""
    sibling = path.with_name("test" + path.name[len("train") :])
    if not (path.name.lower().startswith("train") and sibling.is_file()):
        return None
    other_meter = Meter(sibling, meter.budget)
    other_meter.total_bytes = meter.total_bytes
    with H5Reader(sibling, other_meter) as other:
        if "test_set_x" not in other.keys:
            return None
        arrays = other.read_all(_course_keys(other, "test"))
    return sibling, arrays["test_set_x"], arrays["test_set_y"]


def _read_h5_file(path: Path, meter: Meter):
    """``(fields, description)`` of an HDF5 file: X, y, X_test, y_test, classes."""
    with H5Reader(path, meter) as reader:
        course = sorted(
            k[: -len("_set_x")] for k in reader.keys if _COURSE_KEY.match(k)
        )
        if not course:
            wanted = _generic_keys(reader, path)
            arrays = reader.read_all(dict(wanted.values()))
            fields = {field: arrays[key] for field, (key, _) in wanted.items()}
            return fields, f"read from {path}", None
        prefix = "train" if "train" in course else course[0]
        keys = _course_keys(reader, prefix)
        if prefix == "train" and "test" in course:
            keys.update(_course_keys(reader, "test"))
        arrays = reader.read_all(keys)
    fields = {
        "X": arrays[f"{prefix}_set_x"],
        "y": arrays[f"{prefix}_set_y"],
        "classes": arrays.get("list_classes"),
    }
    if "test_set_x" in arrays and prefix == "train":
        fields.update(X_test=arrays["test_set_x"], y_test=arrays["test_set_y"])
    return fields, f"course cat format ({prefix}_set_x) read from {path}", prefix


def load_h5(
    path,
    *,
    flatten: bool = True,
    scale: bool = True,
    task: str | None = None,
    budget=None,
) -> Dataset:
    """Read an HDF5 file in the course cat format or with generic ``x``/``y`` keys.

    Cat pictures ``(m, 64, 64, 3)`` uint8 become rows ``(m, 12288)`` in C order
    divided by 255; ``train_catvnoncat.h5`` also loads ``test_catvnoncat.h5`` beside
    it into ``X_test``/``y_test``. String labels and class names are read as text.
    Only the datasets used are read, each checked against the data ``budget``
    (:mod:`glassnet.data.budgets`) first; external storage, external links,
    virtual datasets and plugin filters are refused.
    """
    path = Path(path)
    meter = Meter(path, budget)
    fields, description, prefix = _read_h5_file(path, meter)
    if prefix == "train" and "X_test" not in fields:
        found = _read_h5_sibling(path, meter)
        if found is not None:
            sibling, fields["X_test"], fields["y_test"] = found
            description += f" with the test set from {sibling}"
    classes = fields.get("classes")
    return _images_dataset(
        path,
        fields["X"],
        fields["y"],
        fields.get("X_test"),
        fields.get("y_test"),
        flatten=flatten,
        scale=scale,
        task=task,
        classes=None if classes is None else _decode(classes),
        description=description,
    )


# ---------------------------------------------------------------------- MATLAB


def _mat_features(value, name: str, meter: Meter) -> np.ndarray:
    import scipy.sparse

    if scipy.sparse.issparse(value):
        meter.array(f"variable {name!r} (sparse, made dense)", value.shape, "f8")
        value = value.toarray()
    value = np.asarray(value)
    if value.dtype.kind not in "biuf":
        raise meter.error(
            f"variable {name!r} holds {value.dtype} values; features must be numbers"
        )
    return value.astype(np.float64)


def _mat_labels(value, m: int, name: str, meter: Meter) -> np.ndarray:
    """Numbers, a char matrix (one label a row) or a cell array of strings."""
    import scipy.sparse

    if scipy.sparse.issparse(value):
        return _mat_features(value, name, meter)
    value = np.asarray(value)
    if value.dtype.kind == "U":
        return _match_labels(np.char.strip(value), m, name)
    if value.dtype.kind != "O":
        return _match_labels(value, m, name)
    labels = []
    for index, cell in enumerate(value.ravel(order="F").tolist()):
        cell = np.asarray(cell)
        if cell.size != 1 or cell.dtype.kind not in "biufU":
            raise meter.error(
                f"cell {index + 1} of variable {name!r} holds a {cell.dtype} array "
                f"of shape {cell.shape}; a cell array of labels holds one string or "
                "number per cell"
            )
        item = cell.item()
        labels.append(item.strip() if isinstance(item, str) else item)
    return _match_labels(np.array(labels), m, name)


def _mat_keys(variables, path):
    keys = {variable.name for variable in variables}
    x_key = _first_key(keys, ("X", "x"))
    y_key = _first_key(keys, ("y", "Y"))
    if x_key is None or y_key is None:
        raise ValueError(
            f"{path} holds variables {sorted(keys)}; expected X and y (and "
            "optionally Xval/yval, Xtest/ytest or X_test/y_test)"
        )
    for xt, yt in (("Xval", "yval"), ("Xtest", "ytest"), ("X_test", "y_test")):
        if xt in keys and yt in keys:
            return x_key, y_key, (xt, yt)
    return x_key, y_key, None


def load_mat(path, *, task: str | None = None, budget=None) -> Dataset:
    """Read a MATLAB ``.mat`` file: ``X``, ``y`` and ``Xval``/``yval`` as the test set
    (the course's football ``data.mat``: X (211, 2), X_test (200, 2)).

    Labels may be numbers, a char matrix or a cell array of strings. The file's
    variables are listed from their headers and only those used are read, each
    checked against the data ``budget`` (:mod:`glassnet.data.budgets`) and, when
    compressed, against the size its shape needs, before SciPy reads it.
    """
    import scipy.io

    path = Path(path)
    meter = Meter(path, budget)
    variables = scan_mat(path, meter)
    x_key, y_key, test = _mat_keys(variables, path)
    names = [x_key, y_key, *(test or ())]
    labels = {y_key, test[1] if test else y_key}
    used = [variable for variable in variables if variable.name in names]
    check_variables(path, used, meter, labels=labels)
    try:
        contents = scipy.io.loadmat(path, variable_names=names)
    except (ValueError, OSError, TypeError, NotImplementedError) as error:
        raise meter.error(f"it is a damaged MATLAB file ({error})") from None
    X = _mat_features(contents[x_key], x_key, meter)
    y = _mat_labels(contents[y_key], len(X), y_key, meter)
    X_test = y_test = None
    if test is not None:
        X_test = _mat_features(contents[test[0]], test[0], meter)
        y_test = _mat_labels(contents[test[1]], len(X_test), test[1], meter)
    return Dataset.from_arrays(
        X,
        y,
        X_test=X_test,
        y_test=y_test,
        task=task,
        name=_stem(path),
        description=f"read from {path}"
        + (f" (test set from {test[0]}/{test[1]})" if test else ""),
    )


# ------------------------------------------------------------------------- NPZ


def load_npz(
    path,
    *,
    flatten: bool = True,
    scale: bool = True,
    task: str | None = None,
    budget=None,
) -> Dataset:
    """Read a ``.npz`` archive with ``X``/``x`` and ``y``/``Y`` (optional ``X_test``,
    ``y_test``, ``classes``, ``feature_names``). Only those arrays are read, each
    ``.npy`` header checked against the data ``budget``
    (:mod:`glassnet.data.budgets`) and the zip directory first; pickles (object
    arrays) are refused unread; byte strings are read as text."""
    path = Path(path)
    meter = Meter(path, budget)
    with open_npz(path, meter) as archive:
        keys = set(archive.members)
        x_key = _first_key(keys, ("X", "x"))
        y_key = _first_key(keys, ("y", "Y"))
        if x_key is None or y_key is None:
            raise ValueError(
                f"{path} holds arrays {sorted(keys)}; expected X (or x) and y (or Y)"
            )
        xt_key = _first_key(keys, ("X_test", "x_test"))
        yt_key = _first_key(keys, ("y_test", "Y_test"))
        if (xt_key is None) != (yt_key is None):
            raise ValueError(f"{path} must hold both X_test and y_test or neither")
        wanted = [x_key, y_key, xt_key, yt_key, "classes", "feature_names"]
        arrays = archive.read_all([k for k in wanted if k in keys])
    classes = arrays["classes"].tolist() if "classes" in arrays else None
    names = arrays["feature_names"].tolist() if "feature_names" in arrays else None
    return _images_dataset(
        path,
        arrays[x_key],
        arrays[y_key],
        None if xt_key is None else arrays[xt_key],
        None if yt_key is None else arrays[yt_key],
        flatten=flatten,
        scale=scale,
        task=task,
        classes=classes,
        feature_names=names,
    )
