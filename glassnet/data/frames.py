"""pandas and polars DataFrames at the Python boundary: rows by column name.

``Sequential.fit / predict / predict_proba / evaluate`` and the estimators take a
DataFrame where they take rows ``X (m, n)``, and a Series (or a DataFrame, for
several outputs) where they take ``y``. A model fitted on a DataFrame whose column
names are all text records them (``Sequential.column_names``, saved in the model
file; the estimators' ``feature_names_in_``), and a DataFrame given later is read
by those names, in the training order:

* reordered columns are fine (the columns are picked by name);
* a missing column is refused, naming it;
* a column the model was not trained on is refused, naming it, as scikit-learn
  refuses names unseen at fit (drop it first: ``X.drop(columns=[...])``).

A DataFrame without text column names (pandas' default 0, 1, ...) is read by
position. Feature columns must hold numbers or booleans (a text, date or category
column is refused naming it; encode it first); missing values become NaN, which
the model's checks then refuse as any non-finite value.

pandas and polars are never imported here: an object is recognized by the module
its type comes from (``type(X).__module__``), so arrays cost nothing extra.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "frame_library",
    "is_frame",
    "frame_columns",
    "frame_rows",
    "ordered_frame",
    "target_values",
]

_LIBRARIES = ("pandas", "polars")


def frame_library(value) -> str | None:
    """``"pandas"`` or ``"polars"`` when ``value`` is one of their objects (a
    DataFrame or Series), else None; nothing is imported."""
    library = type(value).__module__.partition(".")[0]
    return library if library in _LIBRARIES else None


def is_frame(value) -> bool:
    """Whether ``value`` is a pandas or polars DataFrame."""
    return frame_library(value) is not None and type(value).__name__ == "DataFrame"


def frame_columns(frame) -> list[str] | None:
    """The column names of a DataFrame when all are text (None otherwise: the
    columns are then taken by position, as scikit-learn does)."""
    names = list(frame.columns)
    if names and all(isinstance(name, str) for name in names):
        return names
    return None


def _shown(names, limit: int = 8) -> str:
    names = list(names)
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(repr(n) for n in names[:limit]) + more


def _select(frame, names: list[str], wanted: list[str], name: str) -> list[str]:
    """``wanted`` checked against the frame's ``names``: none missing, none
    extra (the refusal names them)."""
    present = set(names)
    missing = [column for column in wanted if column not in present]
    if missing:
        raise ValueError(
            f"{name} is missing column(s) {_shown(missing)} that the model was "
            f"trained on; it has {_shown(names)}"
        )
    known = set(wanted)
    extra = [column for column in names if column not in known]
    if extra:
        raise ValueError(
            f"{name} has column(s) {_shown(extra)} that the model was not trained "
            f"on (refused, as scikit-learn refuses names unseen at fit; drop them "
            f"first); the model's columns: {_shown(wanted)}"
        )
    return wanted


def _numeric_pandas(frame, columns, name: str) -> np.ndarray:
    from pandas.api.types import is_bool_dtype, is_numeric_dtype

    for column in columns:
        dtype = frame[column].dtype
        if not (is_numeric_dtype(dtype) or is_bool_dtype(dtype)):
            raise ValueError(
                f"{name} column {column!r} holds {dtype} values, not numbers; "
                "encode it as numbers or drop it"
            )
    return frame[columns].to_numpy(dtype=np.float64, na_value=np.nan)


def _numeric_polars(frame, columns, name: str) -> np.ndarray:
    import polars as pl

    for column in columns:
        dtype = frame.schema[column]
        if not (dtype.is_numeric() or dtype == pl.Boolean):
            raise ValueError(
                f"{name} column {column!r} holds {dtype} values, not numbers; "
                "encode it as numbers or drop it"
            )
    selected = frame.select([pl.col(c).cast(pl.Float64) for c in columns])
    return np.ascontiguousarray(selected.to_numpy(), dtype=np.float64)


def frame_rows(X, feature_names=None, *, name: str = "X"):
    """``(rows, names)``: ``X`` unchanged and None when it is not a DataFrame;
    for a DataFrame, its values as float64 rows ``(m, n)`` and its column names
    (None when they are not all text). With ``feature_names`` (a model's) and
    text names, the columns are taken by name in that order, a missing or
    unknown column refused naming it."""
    if not is_frame(X):
        return X, None
    names = frame_columns(X)
    columns = list(X.columns)
    if feature_names is not None and names is not None:
        columns = _select(X, names, list(feature_names), name)
    numeric = _numeric_pandas if frame_library(X) == "pandas" else _numeric_polars
    rows = numeric(X, columns, name)
    return rows, (list(columns) if names is not None else None)


def ordered_frame(X, feature_names, *, name: str = "X"):
    """A DataFrame ``X`` with its columns in the order of ``feature_names`` (the
    estimators' ``feature_names_in_``), a missing or unknown column refused
    naming it; anything else, or a frame without text column names, unchanged
    (scikit-learn's own checks then warn or refuse)."""
    if feature_names is None or not is_frame(X):
        return X
    names = frame_columns(X)
    if names is None:
        return X
    wanted = _select(X, names, [str(n) for n in feature_names], name)
    if wanted == names:
        return X
    return X[wanted] if frame_library(X) == "pandas" else X.select(wanted)


def target_values(y):
    """``y`` as NumPy values when it is a pandas / polars Series (its labels or
    values; pandas' categories and text as their labels) or DataFrame (one
    column per output); anything else unchanged."""
    library = frame_library(y)
    if library is None:
        return y
    if type(y).__name__ == "DataFrame":
        return y.to_numpy()
    if library == "pandas" and str(y.dtype) == "category":
        return np.asarray(y.astype(object).to_numpy())
    return np.asarray(y.to_numpy())
