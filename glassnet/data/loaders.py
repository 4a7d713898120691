"""Read datasets from files, examples as rows.

* ``.h5``/``.hdf5``: the course's cat format (``train_set_x``, ``train_set_y``,
  ``list_classes``; or ``test_set_x``/``test_set_y``), where ``train_X.h5`` next to a
  ``test_X.h5`` fills ``X_test``/``y_test`` too; or generic keys ``x``/``X``,
  ``y``/``Y`` (optional ``x_test``/``X_test``, ``y_test``/``Y_test``, ``classes``).
* ``.mat``: MATLAB files read with :func:`scipy.io.loadmat`: ``X``, ``y`` and, for a
  test set, ``Xval``/``yval`` (the course's football ``data.mat``), ``Xtest``/``ytest``
  or ``X_test``/``y_test``.
* ``.npz``: keys ``X``/``x`` and ``y``/``Y`` (optional ``X_test``/``y_test``,
  ``classes``, ``feature_names``), read with ``allow_pickle=False``.
* ``.csv``/``.csv.gz``: one example per line, a label column and numeric features;
  the header line is detected (or forced with ``header=True/False``).
* a folder: images (:func:`glassnet.data.images.load_image_folder`).

Image arrays (3-D or 4-D) are flattened in C order to rows ``(m, h*w*c)`` with
``flatten=True`` (``Dataset.image_shape`` remembers ``(h, w, c)``); ``flatten=False``
keeps ``(m, h, w, c)``. ``scale=True`` divides ``uint8`` pixel data by 255 (the
course's ``X / 255.``); other dtypes are kept as stored.
"""

from __future__ import annotations

import inspect
import re
import zipfile
from pathlib import Path

import numpy as np

from glassnet.data.csv_files import _stem, _suffix, load_csv
from glassnet.data.datasets import Dataset
from glassnet.data.registry import _call_loader

__all__ = ["load_file", "load_h5", "load_mat", "load_npz", "load_csv"]

EXTENSIONS = (".h5", ".hdf5", ".mat", ".npz", ".csv", ".csv.gz")


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


def _read_h5_course(handle, prefix):
    X = np.asarray(handle[f"{prefix}_set_x"][()])
    y_key = f"{prefix}_set_y"
    if y_key not in handle:
        raise ValueError(f"{handle.filename} has {prefix}_set_x but no {y_key}")
    y = np.asarray(handle[y_key][()])
    classes = _decode(handle["list_classes"][()]) if "list_classes" in handle else None
    return X, y, classes


def load_h5(
    path, *, flatten: bool = True, scale: bool = True, task: str | None = None
) -> Dataset:
    """Read an HDF5 file in the course cat format or with generic ``x``/``y`` keys.

    Cat pictures ``(m, 64, 64, 3)`` uint8 become rows ``(m, 12288)`` in C order
    divided by 255; ``train_catvnoncat.h5`` also loads ``test_catvnoncat.h5`` beside
    it into ``X_test``/``y_test``.
    """
    import h5py

    path = Path(path)
    try:
        handle = h5py.File(path, "r")
    except OSError as error:
        raise ValueError(f"cannot read {path} as HDF5: {error}") from None
    with handle:
        keys = set(handle.keys())
        X_test = y_test = None
        course = sorted(k[: -len("_set_x")] for k in keys if _COURSE_KEY.match(k))
        if course:
            prefix = "train" if "train" in course else course[0]
            X, y, classes = _read_h5_course(handle, prefix)
            if prefix == "train" and "test" in course:
                X_test, y_test, _ = _read_h5_course(handle, "test")
            description = f"course cat format ({prefix}_set_x) read from {path}"
        else:
            x_key = _first_key(keys, ("X", "x"))
            y_key = _first_key(keys, ("y", "Y"))
            if x_key is None or y_key is None:
                raise ValueError(
                    f"{path} has datasets {sorted(keys)}; expected the course keys "
                    "train_set_x/train_set_y (or test_set_x/test_set_y) or generic "
                    "x/X and y/Y"
                )
            X, y = handle[x_key][()], handle[y_key][()]
            xt_key = _first_key(keys, ("X_test", "x_test"))
            yt_key = _first_key(keys, ("y_test", "Y_test"))
            if (xt_key is None) != (yt_key is None):
                raise ValueError(f"{path} must hold both X_test and y_test or neither")
            if xt_key is not None:
                X_test, y_test = handle[xt_key][()], handle[yt_key][()]
            c_key = _first_key(keys, ("classes", "list_classes"))
            classes = _decode(handle[c_key][()]) if c_key else None
            description = f"read from {path}"
    if course and prefix == "train" and X_test is None:
        sibling = path.with_name("test" + path.name[len("train") :])
        if path.name.lower().startswith("train") and sibling.is_file():
            with h5py.File(sibling, "r") as other:
                if "test_set_x" in other:
                    X_test, y_test, _ = _read_h5_course(other, "test")
                    description += f" with the test set from {sibling}"
    return _images_dataset(
        path,
        X,
        y,
        X_test,
        y_test,
        flatten=flatten,
        scale=scale,
        task=task,
        classes=classes,
        description=description,
    )


# ---------------------------------------------------------------------- MATLAB


def load_mat(path, *, task: str | None = None) -> Dataset:
    """Read a MATLAB ``.mat`` file: ``X``, ``y`` and ``Xval``/``yval`` as the test set
    (the course's football ``data.mat``: X (211, 2), X_test (200, 2))."""
    import scipy.io

    path = Path(path)
    try:
        contents = scipy.io.loadmat(path)
    except NotImplementedError:
        raise ValueError(
            f"{path} is a MATLAB v7.3 file (HDF5 inside); save it with "
            "-v7 or read it with h5py"
        ) from None
    except (ValueError, OSError, TypeError) as error:
        raise ValueError(f"cannot read {path} as a MATLAB file: {error}") from None
    keys = {k for k in contents if not k.startswith("__")}
    x_key = _first_key(keys, ("X", "x"))
    y_key = _first_key(keys, ("y", "Y"))
    if x_key is None or y_key is None:
        raise ValueError(
            f"{path} holds variables {sorted(keys)}; expected X and y (and "
            "optionally Xval/yval, Xtest/ytest or X_test/y_test)"
        )
    X = np.asarray(contents[x_key], dtype=np.float64)
    y = _match_labels(contents[y_key], len(X))
    X_test = y_test = None
    for xt, yt in (("Xval", "yval"), ("Xtest", "ytest"), ("X_test", "y_test")):
        if xt in keys and yt in keys:
            X_test = np.asarray(contents[xt], dtype=np.float64)
            y_test = _match_labels(contents[yt], len(X_test), yt)
            break
    return Dataset.from_arrays(
        X,
        y,
        X_test=X_test,
        y_test=y_test,
        task=task,
        name=_stem(path),
        description=f"read from {path}"
        + (f" (test set from {xt}/{yt})" if X_test is not None else ""),
    )


# ------------------------------------------------------------------------- NPZ


def load_npz(
    path, *, flatten: bool = True, scale: bool = True, task: str | None = None
) -> Dataset:
    """Read a ``.npz`` archive with ``X``/``x`` and ``y``/``Y`` (optional ``X_test``,
    ``y_test``, ``classes``, ``feature_names``); pickles are refused."""
    path = Path(path)
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise ValueError(f"cannot read {path} as .npz: {error}") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ValueError(f"{path} is a single .npy array, not an .npz archive")
    with archive:
        keys = set(archive.files)
        x_key = _first_key(keys, ("X", "x"))
        y_key = _first_key(keys, ("y", "Y"))
        if x_key is None or y_key is None:
            raise ValueError(
                f"{path} holds arrays {sorted(keys)}; expected X (or x) and y (or Y)"
            )
        try:
            arrays = {key: archive[key] for key in keys}
        except ValueError as error:
            raise ValueError(
                f"{path} holds object arrays, which glassnet does not load "
                f"(allow_pickle=False): {error}"
            ) from None
    xt_key = _first_key(keys, ("X_test", "x_test"))
    yt_key = _first_key(keys, ("y_test", "Y_test"))
    if (xt_key is None) != (yt_key is None):
        raise ValueError(f"{path} must hold both X_test and y_test or neither")
    classes = arrays["classes"].tolist() if "classes" in keys else None
    names = arrays["feature_names"].tolist() if "feature_names" in keys else None
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
