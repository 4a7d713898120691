"""A saved model and the rows it is applied to, for ``predict``, ``evaluate``,
``diagnose`` and ``transfer``: reading the model file with what its run saved beside
it, reading feature rows from a file, scaling them the run's way, and the table of
cost and accuracy per split."""

from __future__ import annotations

import math
import reprlib
from pathlib import Path

import numpy as np


def load_model_and_extra(path):
    """``(model, extra)`` from a model file: the network and what the run saved
    beside it (classes, feature names, standardizer, run config), checked: a
    malformed ``extra`` is the file's error (ModelFileError), like a damaged array."""
    from glassnet.persistence import read_model_file

    model, manifest = read_model_file(path)
    extra = manifest.get("extra") or {}
    problem = _extra_problem(extra, model)
    if problem:
        from glassnet.io import ModelFileError

        raise ModelFileError(f"cannot use model file {str(path)!r}: {problem}")
    return model, extra


def _is_list_of(value, types) -> bool:
    return isinstance(value, list) and all(isinstance(v, types) for v in value)


# what each entry of a model file's extra may hold (None: not saved)
_EXTRA_ENTRIES = {
    "task": ("a task name", lambda v: isinstance(v, str)),
    "classes": (
        "a list of class labels",
        lambda v: _is_list_of(v, (str, int, float)) and len(v) > 0,
    ),
    "feature_names": ("a list of column names", lambda v: _is_list_of(v, str)),
    "run_config": ("an object of run settings", lambda v: isinstance(v, dict)),
    "standardizer": (
        "an object with lists mean and std",
        lambda v: (
            isinstance(v, dict)
            and _is_list_of(v.get("mean"), (int, float))
            and _is_list_of(v.get("std"), (int, float))
        ),
    ),
}


def _extra_problem(extra, model) -> str | None:
    """What is wrong with a model file's ``extra`` for ``model``, or None."""
    if not isinstance(extra, dict):
        return f"its extra must be an object; received a {type(extra).__name__}"
    for key, (kind, test) in _EXTRA_ENTRIES.items():
        value = extra.get(key)
        if value is not None and not test(value):
            return f"its extra {key!r} must be {kind}; received {reprlib.repr(value)}"
    scaler = extra.get("standardizer")
    if scaler:
        sizes = {len(scaler["mean"]), len(scaler["std"])}
        if sizes != {model.n_x}:
            return (
                f"its standardizer has {sorted(sizes)} values but the model takes "
                f"{model.n_x} features"
            )
        if not all(math.isfinite(s) and s > 0 for s in scaler["std"]):
            return "its standardizer's std must be finite and positive"
    return _classes_problem(extra.get("classes"), model)


def _classes_problem(classes, model) -> str | None:
    """The class names must be one per softmax unit, or two for one sigmoid unit."""
    activation = model.output_activation
    if not classes or activation not in ("softmax", "sigmoid"):
        return None
    expected = model.n_out if activation == "softmax" else 2
    if activation == "sigmoid" and model.n_out > 1:
        return None  # multi-label outputs: one column per label
    if len(classes) != expected:
        return (
            f"it names {len(classes)} classes but its {activation} output gives "
            f"{expected}"
        )
    return None


def results_table(rows) -> str:
    """``rows`` of (split, examples, cost, accuracy or None) as the CLI's table."""
    lines = [f"{'split':<8}{'examples':>10}{'cost':>12}{'accuracy':>12}"]
    for name, examples, cost, accuracy in rows:
        shown = f"{accuracy:>12.4f}" if accuracy is not None else f"{'-':>12}"
        lines.append(f"{name:<8}{examples:>10}{cost:>12.4f}{shown}")
    return "\n".join(lines)


def preprocess(X, extra, n_x=None):
    """Flatten rows, check the feature count, apply the saved standardization."""
    X = np.asarray(X, dtype=np.float64).reshape(len(X), -1)
    if n_x is not None and X.shape[1] != n_x:
        raise ValueError(
            f"the data has {X.shape[1]} features per example but the model takes {n_x}"
        )
    scaler = extra.get("standardizer")
    if scaler:
        X = (X - np.asarray(scaler["mean"])) / np.asarray(scaler["std"])
    return X


def read_features(path: str, n_x: int, extra: dict) -> np.ndarray:
    """Feature rows for a model taking ``n_x`` features from a .npy, .npz (key X) or
    CSV file (see _read_csv); ``extra`` is the model file's (load_model_and_extra)."""
    import zipfile

    from glassnet.validation import check_array

    file = Path(path)
    if not file.exists():
        raise FileNotFoundError(f"no such file: {path}")
    if file.suffix in (".npy", ".npz"):
        try:
            loaded = np.load(file, allow_pickle=False)
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
            raise ValueError(f"cannot read {path}: {error}") from None
        if isinstance(loaded, np.lib.npyio.NpzFile):
            with loaded:
                key = next((k for k in ("X", "x") if k in loaded.files), None)
                if key is None:
                    raise ValueError(
                        f"{path} has no array named X; found {loaded.files}"
                    )
                loaded = loaded[key]
        X = check_array(loaded, name=f"features in {path}", ndim=(2, 3, 4))
        X = X.reshape(len(X), -1)
    else:
        label_column = (extra.get("run_config") or {}).get("label_column")
        X = _read_csv(file, n_x, extra.get("feature_names"), label_column)
    if X.shape[1] != n_x:
        raise ValueError(
            f"{path} has {X.shape[1]} feature columns but the model takes {n_x}"
        )
    return X


def _read_csv(file: Path, n_x: int, feature_names, label_column=None) -> np.ndarray:
    """CSV rows -> features. With a header naming the training features, those
    columns are taken (the label column may be anywhere, even text); otherwise the
    file holds n_x columns, or n_x + 1 with the label column where training found
    it (``label_column``, the run's ``--label-column``; by default the column named
    label, y, target or class, else the last). Reading, header detection and line
    numbers are the data loader's (glassnet.data.csv_files)."""
    from glassnet.data.csv_files import read_rows, resolve_label_column
    from glassnet.validation import check_array

    header, body, lines = read_rows(file)
    names = header or []
    if feature_names and all(name in names for name in feature_names):
        columns = [names.index(name) for name in feature_names]
    elif len(body[0]) == n_x:
        columns = list(range(n_x))
    elif len(body[0]) == n_x + 1:
        label_index = resolve_label_column(label_column, header, n_x + 1)
        columns = [j for j in range(n_x + 1) if j != label_index]
    else:
        raise ValueError(
            f"{file} has {len(body[0])} columns but the model takes {n_x} features "
            f"(plus, optionally, the label column)"
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
