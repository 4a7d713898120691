"""A saved model and the rows it is applied to, for ``predict``, ``evaluate``,
``diagnose`` and ``transfer``: reading the model file with what its run saved beside
it, reading feature rows from a file as stored, and the table of cost and metrics
per split.

The model is the whole pipeline (architecture D26): its preprocessing layers and
class list are in the file, so the rows given to it are the file's values as
stored (uint8 pixels as 0..255), read the same way by ``train``, ``evaluate`` and
``predict``. A model file of format 1 (before D26) is upgraded on reading
(:func:`glassnet.persistence.upgrade_legacy_model`) and its data is read as
glassnet read it then (uint8 pixels divided by 255 by the loaders).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass
class SavedModel:
    """A model file read for the CLI: the model (the whole pipeline), the extra
    saved beside it (checked), and whether the file predates D26 (format 1)."""

    model: object
    extra: dict
    legacy: bool


def read_saved_model(path) -> SavedModel:
    """The model file ``path`` (a run folder stands for its ``model.glassnet``):
    the model, its checked extra, its format."""
    from glassnet.io import ModelFileError
    from glassnet.persistence import MODEL_FORMAT, extra_problem, read_model_file

    folder = Path(path)
    if folder.is_dir() and (folder / "model.glassnet").is_file():
        path = folder / "model.glassnet"
    model, manifest = read_model_file(path)
    extra = manifest.get("extra") or {}
    problem = extra_problem(extra, model)
    if problem:
        raise ModelFileError(f"cannot use model file {str(path)!r}: {problem}")
    return SavedModel(model, extra, manifest.get("model_format", 1) < MODEL_FORMAT)


def load_model_and_extra(path):
    """``(model, extra)`` from a model file: the network (with its preprocessing
    and classes) and what the run saved beside it (task, feature names, run
    config), checked: a malformed ``extra`` is the file's error (ModelFileError),
    like a damaged array."""
    saved = read_saved_model(path)
    return saved.model, saved.extra


def labels_for_model(y, dataset, model):
    """The labels of ``dataset``'s class codes ``y``, for a model with ``classes``
    (``model.evaluate`` looks each one up in ``model.classes``, and
    ``model.predict`` returns them, so another file's order of the same names does
    not matter); the codes unchanged for a model without classes, and values or
    multi-label rows as they are."""
    if (
        model.classes is None
        or dataset.classes is None
        or dataset.task not in ("binary", "multiclass")
    ):
        return y
    names = [dataset.classes[int(c)] for c in np.asarray(y).reshape(-1)]
    return np.asarray(
        [n.item() if isinstance(n, np.generic) else n for n in names], dtype=object
    )


def results_table(rows, *, standardized: bool = False) -> str:
    """``rows`` of (split, examples, scores) as the CLI's table, ``scores`` being
    ``model.evaluate``'s ``{"cost": J, metric: value}`` (accuracy for a
    classifier; r2, rmse, mae for a regression model). ``standardized``: the cost
    is on standardized targets (a model with a target scale, D29), and the
    header says so; the metrics are in the targets' own units. A row may also
    be (split, examples, cost, accuracy or None), the older form."""
    rows = [row if len(row) == 3 else _scores_row(*row) for row in rows]
    metrics = [k for k in rows[0][2] if k != "cost"] if rows else ["accuracy"]
    cost, width = ("cost (standardized y)", 24) if standardized else ("cost", 12)
    lines = [
        f"{'split':<8}{'examples':>10}{cost:>{width}}"
        + "".join(f"{k:>12}" for k in metrics)
    ]
    for name, examples, scores in rows:
        lines.append(
            f"{name:<8}{examples:>10}{scores['cost']:>{width}.4f}"
            + "".join(
                f"{'-':>12}" if scores[k] is None else f"{scores[k]:>12.4f}"
                for k in metrics
            )
        )
    return "\n".join(lines)


def _scores_row(name, examples, cost, accuracy):
    return name, examples, {"cost": cost, "accuracy": accuracy}


def preprocess(X, extra=None, n_x=None, *, model=None, names=None):
    """Rows ``(m, n)`` of ``X`` (image-shaped examples flattened in C order), their
    feature count checked against ``n_x``. Nothing is scaled here: the model's own
    layers do that (``extra`` is accepted for callers of the format-1 days). For
    a ``model`` with table layers (D40) ``X`` is the raw table, a
    :class:`~glassnet.data.columns.Table` of its columns ``names`` when known
    (the model takes its columns by name)."""
    if model is not None and model.table_layers():
        from glassnet.data.columns import Table

        return X if names is None else Table.from_rows(names, X)
    if getattr(X, "on_disk", False):  # rows on disk stay there (D39)
        if n_x is not None and X.shape[1] != n_x:
            raise ValueError(
                f"{X.describe()} has {X.shape[1]} features per example but the "
                f"model takes {n_x}"
            )
        return X
    X = np.asarray(X, dtype=np.float64).reshape(len(X), -1)
    if n_x is not None and X.shape[1] != n_x:
        raise ValueError(
            f"the data has {X.shape[1]} features per example but the model takes {n_x}"
        )
    return X


def columns_by_name(X, names, wanted) -> np.ndarray:
    """Rows ``X`` whose columns are ``names`` (a dataset's ``feature_names``)
    with the columns a model was trained on, ``wanted``, taken by name in its
    order when the data names them all (as ``predict`` takes a CSV or Parquet
    file's); otherwise ``X`` as it is, by position."""
    if not names or not wanted or list(names) == list(wanted):
        return X
    if not set(wanted) <= set(names) or len(set(names)) != len(names):
        return X
    index = [list(names).index(name) for name in wanted]
    return np.asarray(X)[:, index]


def read_features(
    path: str, n_x: int, extra: dict, *, legacy: bool = False
) -> np.ndarray:
    """Feature rows for a model taking ``n_x`` features, as stored, from a .npy,
    .npz (key X), .h5 (key X / x, or the course's train_set_x), .mat, CSV or
    Parquet file (columns chosen by :func:`_feature_columns`) or image folder;
    ``extra`` is the model file's (load_model_and_extra). ``legacy``: a format-1
    model, read as then (uint8 pixels of .npz, .h5 and image folders divided by
    255)."""
    file = Path(path)
    if not file.exists():
        raise FileNotFoundError(f"no such file: {path}")
    suffix = file.suffix.lower()
    if _stays_on_disk(file) and not legacy:  # read a chunk at a time (D39)
        from glassnet.data.on_disk import open_rows

        X = open_rows(file / "X.npy" if (file / "X.npy").is_file() else file)
    elif suffix in (".npy", ".npz"):
        X = _read_array(file, path, legacy)
    elif file.is_dir() or suffix in (".h5", ".hdf5", ".mat"):
        X = _read_dataset_features(file, legacy)
    else:
        label_column = (extra.get("run_config") or {}).get("label_column")
        read = _read_parquet if suffix in (".parquet", ".pq") else _read_csv
        X = read(file, n_x, extra.get("feature_names"), label_column)
    if X.shape[1] != n_x:
        raise ValueError(
            f"{path} has {X.shape[1]} feature columns but the model takes {n_x}"
        )
    return X


def _stays_on_disk(file: Path) -> bool:
    """A .npy file above the data budget's max_array_bytes, a folder of .npy
    shards, or a data folder on disk (X.npy beside y.npy): streamed, not read."""
    from glassnet.data.budgets import resolve_budget

    if file.is_dir():
        names = [p.suffix.lower() for p in file.iterdir() if p.is_file()]
        return bool(names) and set(names) <= {".npy", ".json"}
    limit = resolve_budget().max_array_bytes
    return file.suffix.lower() == ".npy" and file.stat().st_size > limit


def _read_array(file: Path, path: str, legacy: bool) -> np.ndarray:
    """The rows of a .npy file, or of key X (x) of a .npz file, checked (uint8
    pixels divided by 255 for a format-1 model, as its training read them)."""
    from glassnet.data.npy_files import read_feature_array
    from glassnet.validation import check_array

    # bounded: headers checked against the data budget, pickles refused unread
    loaded = read_feature_array(file)
    pixels = np.asarray(loaded).dtype == np.uint8
    X = check_array(loaded, name=f"features in {path}", ndim=(2, 3, 4))
    if legacy and pixels:
        X = X / 255.0
    return X.reshape(len(X), -1)


def _read_dataset_features(file: Path, legacy: bool) -> np.ndarray:
    """The feature rows of a labelled .h5 / .mat file or image folder, read by the
    data loaders as ``glassnet evaluate`` and ``train`` read them (values as
    stored); a .h5 file with features only (key X or x) is read directly."""
    from glassnet.runs import load_stored

    if file.suffix.lower() in (".h5", ".hdf5"):
        X = _h5_features_only(file)
        if X is not None:
            if legacy and X.dtype == np.uint8:
                X = X / 255.0
            return np.asarray(X, dtype=np.float64).reshape(len(X), -1)
    dataset = load_stored(file, legacy=legacy)
    if getattr(dataset.X, "on_disk", False):  # a file past the data budget (D39)
        return dataset.X
    return dataset.X.reshape(len(dataset.X), -1)


def _h5_features_only(file: Path):
    """Key X (or x) of an HDF5 file without labels, else None (the loader's)."""
    from glassnet.data.h5_files import read_unlabelled_features

    # budgeted; external storage, external links and virtual datasets refused
    return read_unlabelled_features(file)


def _feature_columns(file, header, n_columns, n_x, feature_names, label_column):
    """The indices of a table's feature columns (CSV, Parquet): the training
    features by name when the header has them all; else all n_x columns, or n_x
    + 1 without the label column where training found it."""
    from glassnet.data.csv_files import resolve_label_column

    names = header or []
    if feature_names and all(name in names for name in feature_names):
        return [names.index(name) for name in feature_names]
    if n_columns == n_x:
        return list(range(n_x))
    if n_columns == n_x + 1:
        label_index = resolve_label_column(label_column, header, n_x + 1)
        return [j for j in range(n_x + 1) if j != label_index]
    raise ValueError(
        f"{file} has {n_columns} columns but the model takes {n_x} features "
        f"(plus, optionally, the label column)"
    )


def _read_parquet(file: Path, n_x: int, feature_names, label_column) -> np.ndarray:
    """A Parquet file's feature rows, its columns chosen as a CSV file's
    (:func:`_feature_columns`); only those columns are read."""
    from glassnet.data.parquet_files import read_parquet_columns
    from glassnet.validation import check_array

    def select(names):
        columns = _feature_columns(
            file, names, len(names), n_x, feature_names, label_column
        )
        return [names[j] for j in columns]

    _, X = read_parquet_columns(file, select)
    return check_array(X, name=f"features in {file}")


def _read_csv(file: Path, n_x: int, feature_names, label_column=None) -> np.ndarray:
    """CSV rows -> features. With a header naming the training features, those
    columns are taken (the label column may be anywhere, even text); otherwise the
    file holds n_x columns, or n_x + 1 with the label column where training found
    it (``label_column``, the run's ``--label-column``; by default the column named
    label, y, target or class, else the last). Reading, header detection and line
    numbers are the data loader's (glassnet.data.csv_files)."""
    from glassnet.data.csv_files import read_rows
    from glassnet.validation import check_array

    header, body, lines = read_rows(file)
    names = header or []
    columns = _feature_columns(
        file, header, len(body[0]), n_x, feature_names, label_column
    )
    X = np.empty((len(body), len(columns)))
    for i, (row, line) in enumerate(zip(body, lines, strict=True)):
        for j, column in enumerate(columns):
            try:
                X[i, j] = float(row[column])
            except (ValueError, IndexError):
                shown = row[column] if column < len(row) else "(missing)"
                label = names[column] if names else f"column {column}"
                raise ValueError(
                    f"{file} line {line}: {label} holds {shown!r}, not a number"
                ) from None
    return check_array(X, name=f"features in {file}")
