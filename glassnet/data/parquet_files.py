"""Read a Parquet file (``.parquet``, ``.pq``) into a :class:`Dataset` (pyarrow).

One example per row, a label column and feature columns of numbers or text (text
and categorical columns are kept as text, as CSV's are, for the model's table
layers: architecture D40), the label column chosen exactly as for CSV
(:func:`glassnet.data.csv_files.resolve_label_column`: ``label_column`` by name
or index, else the column named ``label``, ``y``, ``target`` or ``class``, else
the last), and the same task inference for the labels. The column names are kept
in ``Dataset.feature_names`` (a model trained on them records them, and
``glassnet predict`` picks its columns by name).

The file's metadata (its schema, rows and each column chunk's uncompressed size)
is read first and checked against the data budget (:mod:`glassnet.data.budgets`)
before any column is read; only the columns used are read. A numeric feature's
missing values (nulls) become NaN with a warning, a text feature's None; a
feature column that is neither numbers nor text (dates, binary, nested values) is
refused naming it and its type.
"""

from __future__ import annotations

import os
import struct
import warnings
from pathlib import Path

import numpy as np

from glassnet.data.budgets import COPY_BYTES_PER_VALUE, DataFileError, Meter
from glassnet.data.csv_files import (
    check_unique_names,
    finish_labels,
    resolve_label_column,
)
from glassnet.data.datasets import Dataset
from glassnet.data.npy_files import open_regular_file
from glassnet.errors import require

__all__ = [
    "load_parquet",
    "read_parquet_columns",
    "read_parquet_table",
    "PARQUET_SUFFIXES",
]

PARQUET_SUFFIXES = (".parquet", ".pq")
#: bytes counted per text value beyond its characters: Arrow's offset and the
#: Python string NumPy's object array holds
TEXT_BYTES_PER_VALUE = 64


def _pyarrow():
    require("pyarrow", "reading Parquet files", "parquet")
    import pyarrow.parquet as pq

    return pq


class _ParquetFile:
    """A Parquet file opened for its metadata: ``names``, ``types`` (Arrow),
    ``rows``, and each column's declared uncompressed bytes."""

    def __init__(self, path: Path, meter: Meter):
        pq = _pyarrow()
        import pyarrow as pa

        self.path, self.meter = path, meter
        self.handle = open_regular_file(path)
        self.source = self.file = None
        try:
            self._check_footer()
            # pyarrow reads through its own file (a ParquetFile over a Python file
            # object can abort the interpreter at exit once polars is loaded); the
            # handle above made sure it is a regular file
            self.source = pa.OSFile(str(path))
            self.file = pq.ParquetFile(self.source)
            schema = self.file.schema_arrow
        except DataFileError:
            self.close()
            raise
        except (pa.ArrowException, OSError, ValueError) as error:
            self.close()
            raise DataFileError(
                f"cannot read {path} as Parquet: {str(error).splitlines()[0]}"
            ) from None
        self.names = [str(name) for name in schema.names]
        self.types = {str(f.name): f.type for f in schema}
        metadata = self.file.metadata  # rows as the file and its row groups say
        groups = range(metadata.num_row_groups)
        declared = sum(max(metadata.row_group(g).num_rows, 0) for g in groups)
        self.rows = max(int(metadata.num_rows), int(declared))

    def _check_footer(self) -> None:
        """The footer (the metadata pyarrow parses first) declares its length in
        the file's last 8 bytes: it must fit in the file and the budget."""
        size = os.fstat(self.handle.fileno()).st_size
        if size >= 8:
            self.handle.seek(size - 8)
            length = struct.unpack("<I", self.handle.read(4))[0]
            self.handle.seek(0)
            if length > size:
                raise OSError(f"its footer declares {length} bytes in a file of {size}")
            self.meter.add_bytes(f"its metadata ({length} bytes)", 4 * length)

    def close(self) -> None:
        self.file = None
        if self.source is not None:
            self.source.close()
        self.handle.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def declared_bytes(self, name: str) -> int:
        """The uncompressed bytes the file declares for column ``name``."""
        metadata = self.file.metadata
        index = metadata.schema.to_arrow_schema().get_field_index(name)
        total = 0
        for group in range(metadata.num_row_groups):
            row_group = metadata.row_group(group)
            if index < row_group.num_columns:
                total += max(int(row_group.column(index).total_uncompressed_size), 0)
        return total

    def count(self, name: str, *, numeric: bool) -> None:
        """Count column ``name`` against the budget before it is read: its
        decoded values (at least the declared bytes) and the float64 copy the
        Dataset holds, or, for text, its characters, offsets and Python
        strings."""
        import pyarrow as pa

        kind = self.types[name]
        declared = self.declared_bytes(name)
        if numeric:
            stored = np.float64  # decimals: read as float64
            if pa.types.is_primitive(kind):
                stored = np.dtype(kind.to_pandas_dtype())
            self.meter.array(f"column {name!r}", (self.rows,), stored, copy=True)
            self.meter.add_bytes(f"column {name!r} as stored", declared)
            return
        self.meter.add_bytes(
            f"column {name!r} ({kind})",
            declared + (TEXT_BYTES_PER_VALUE + COPY_BYTES_PER_VALUE) * self.rows,
        )

    def read(self, names: list[str]):
        import pyarrow as pa

        try:
            return self.file.read(columns=names, use_threads=False)
        except (pa.ArrowException, OSError, ValueError) as error:
            raise DataFileError(
                f"cannot read {self.path} as Parquet: {str(error).splitlines()[0]}"
            ) from None


def _is_numeric(kind) -> bool:
    import pyarrow as pa

    return (
        pa.types.is_integer(kind)
        or pa.types.is_floating(kind)
        or pa.types.is_boolean(kind)
        or pa.types.is_decimal(kind)
    )


def _is_text(kind) -> bool:
    """Text, or categories of text (pandas' category, polars' Categorical)."""
    import pyarrow as pa

    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    return pa.types.is_string(kind) or pa.types.is_large_string(kind)


def _check_features(parquet: _ParquetFile, names: list[str], text: bool) -> None:
    """Every feature column holds numbers (or, with ``text``, text): a clear
    error naming the first that does not, with its type."""
    for name in names:
        kind = parquet.types[name]
        if not (_is_numeric(kind) or (text and _is_text(kind))):
            index = parquet.names.index(name)
            allowed = "numbers or text" if text else "numbers"
            raise DataFileError(
                f"{parquet.path}: feature column {name!r} (index {index}) holds "
                f"{kind} values; a feature holds {allowed}: encode it, drop it, "
                "or choose it as the label_column"
            )


def _feature_values(column, name: str) -> np.ndarray:
    """An Arrow column of numbers as float64 (nulls as NaN, with a warning), or
    of text as an object array of stripped text (nulls and empty cells None,
    :func:`glassnet.data.columns.text_values`)."""
    if _is_text(column.type):
        from glassnet.data.columns import text_values

        return text_values(np.asarray(column.to_pylist(), dtype=object))
    missing = column.null_count
    values = column.to_numpy(zero_copy_only=False)
    values = np.asarray(values, dtype=np.float64)
    if missing:
        warnings.warn(
            f"feature column {name!r} has {missing} missing value(s), read as NaN",
            stacklevel=4,
        )
    return values


def _label_values(column, name: str, path: Path, task) -> np.ndarray:
    """The label column as numbers (float64, booleans as 0 / 1) or text."""
    import pyarrow as pa

    if column.null_count:
        row = int(np.flatnonzero(column.is_null().to_numpy(zero_copy_only=False))[0])
        raise DataFileError(
            f"{path}: label column {name!r} is empty on row {row} (counting from "
            "0); every example needs a label"
        )
    kind = column.type
    if pa.types.is_dictionary(kind):
        column = column.cast(kind.value_type)
        kind = column.type
    if _is_numeric(kind):
        return np.asarray(column.to_numpy(zero_copy_only=False), dtype=np.float64)
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        raise DataFileError(
            f"{path}: label column {name!r} holds {kind} values; labels are numbers "
            "or text"
        )
    labels = [str(v) for v in column.to_pylist()]
    if task == "regression":
        raise ValueError(
            f"task 'regression' needs numeric targets but label column {name!r} "
            f"holds text such as {labels[0]!r}"
        )
    return np.array(labels, dtype=str)


def _rows(table, names: list[str]) -> np.ndarray:
    """``(m, n)`` rows of an Arrow table's columns ``names``: float64 when all
    hold numbers, else objects (text columns as text, D40)."""
    from glassnet.data.columns import Table

    columns = [_feature_values(table.column(name), name) for name in names]
    if all(column.dtype.kind == "f" for column in columns):
        X = np.empty((table.num_rows, len(names)))
        for j, column in enumerate(columns):
            X[:, j] = column
        return X
    return Table(names, columns).to_rows()


def load_parquet(
    path,
    *,
    label_column: str | int | None = None,
    task: str | None = None,
    budget=None,
) -> Dataset:
    """Read a Parquet file, one example per row (module docstring).

    ``label_column`` is a column name or index (text that reads as an integer is
    an index when no column has that name); by default the column named
    ``label``, ``y``, ``target`` or ``class`` (any case), else the last column.
    Every other column must hold numbers (integers, floats, booleans, decimals)
    or text (kept as text, for the table layers); ``Dataset.feature_names`` keeps
    their names. Numeric labels with few whole
    values, or text labels, make a classification set (``classes`` holds the
    original labels); pass ``task`` to decide explicitly. The rows and columns
    the metadata declares are checked against the data ``budget`` first.
    Needs pyarrow (``pip install "glassnet[parquet]"``).
    """
    path = Path(path)
    meter = Meter(path, budget)
    with _ParquetFile(path, meter) as parquet:
        names = parquet.names
        check_unique_names(names, path)
        if len(names) < 2:
            raise DataFileError(
                f"{path} has {len(names)} column; need features and a label column"
            )
        if parquet.rows == 0:
            raise DataFileError(f"{path} has no rows")
        label_index = resolve_label_column(label_column, names, len(names))
        label = names[label_index]
        features = [name for name in names if name != label]
        _check_features(parquet, features, text=True)
        for name in [*features, label]:
            parquet.count(name, numeric=_is_numeric(parquet.types[name]))
        table = parquet.read([*features, label])
    X = _rows(table, features)
    y = _label_values(table.column(label), label, path, task)
    y, task = finish_labels(y, task)
    return Dataset.from_arrays(
        X,
        y,
        task=task,
        feature_names=features,
        name=path.name[: -len(path.suffix)] if path.suffix else path.name,
        description=f"read from {path} (label column {label!r} (index {label_index}))",
    )


def read_parquet_columns(path, select, *, budget=None):
    """``(names, X)`` for readers that pick columns themselves (``glassnet
    predict`` for a model of numeric columns): the file's column names, and the
    float64 rows of the columns ``select(names)`` returns (a list of names), each
    checked numeric and within the data ``budget`` before it is read."""
    path = Path(path)
    meter = Meter(path, budget)
    with _ParquetFile(path, meter) as parquet:
        check_unique_names(parquet.names, path)
        chosen = select(parquet.names)
        _check_features(parquet, chosen, text=False)
        for name in chosen:
            parquet.count(name, numeric=True)
        table = parquet.read(chosen)
    X = np.empty((parquet.rows, len(chosen)))
    for j, name in enumerate(chosen):
        X[:, j] = _feature_values(table.column(name), name)
    return parquet.names, X


def read_parquet_table(path, *, budget=None):
    """The raw table of a Parquet file, every column by its name (a
    :class:`~glassnet.data.columns.Table`: numbers float64, text as text), for a
    model with table layers (D40), which takes its columns by name; numbers and
    text only, within the data ``budget``."""
    from glassnet.data.columns import Table

    path = Path(path)
    meter = Meter(path, budget)
    with _ParquetFile(path, meter) as parquet:
        check_unique_names(parquet.names, path)
        _check_features(parquet, parquet.names, text=True)
        for name in parquet.names:
            parquet.count(name, numeric=_is_numeric(parquet.types[name]))
        table = parquet.read(parquet.names)
    names = parquet.names
    return Table(names, [_feature_values(table.column(n), n) for n in names])
