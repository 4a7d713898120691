"""Read a CSV file (or a gzip-compressed ``.csv.gz``) into a :class:`Dataset`.

One example per line, a label column and numeric features; the header line is
detected (or forced with ``header=True/False``). :func:`load_csv` is re-exported by
:mod:`glassnet.data.loaders`, which picks it for ``.csv``/``.csv.gz`` paths.
"""

from __future__ import annotations

import csv
import gzip
import io
import warnings
from pathlib import Path

import numpy as np

from glassnet.data.datasets import CLASSIFICATION_TASKS, Dataset, infer_task

__all__ = ["load_csv", "read_rows"]

LABEL_COLUMN_NAMES = ("label", "y", "target", "class")


# File-name helpers, shared with glassnet.data.loaders: ``.csv.gz`` is one suffix.


def _suffix(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(".csv.gz"):
        return ".csv.gz"
    return path.suffix.lower()


def _stem(path: Path) -> str:
    name = path.name
    suffix = _suffix(path)
    return name[: -len(suffix)] if suffix else name


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _looks_like_header(rows) -> bool:
    first = rows[0]
    text = [bool(f.strip()) and not _is_number(f) for f in first]
    if not any(text):
        return False
    if len(rows) == 1 or all(text):
        return True
    second = rows[1]
    return any(t and _is_number(v) for t, v in zip(text, second, strict=False))


def _read_csv_text(path: Path) -> str:
    opener = gzip.open if _suffix(path) == ".csv.gz" else open
    try:
        with opener(path, "rt", newline="", encoding="utf-8-sig") as handle:
            return handle.read()
    except (OSError, UnicodeDecodeError, EOFError) as error:
        raise ValueError(f"cannot read {path} as CSV: {error}") from None


def _csv_rows(text: str, delimiter: str, limit: int | None = None):
    """Non-blank rows and the line number each one ends on."""
    rows, lines = [], []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        for row in reader:
            if row and any(field.strip() for field in row):
                rows.append(row)
                lines.append(reader.line_num)
                if limit is not None and len(rows) >= limit:
                    break
    except csv.Error as error:
        raise ValueError(
            f"malformed CSV near line {reader.line_num}: {error}"
        ) from None
    return rows, lines


def read_rows(path, delimiter: str = ","):
    """``(header, rows, lines)`` of a CSV (or ``.csv.gz``) file: the stripped column
    names when its first line looks like a header (else None), the non-blank rows
    after it as lists of strings, and the line number each row ends on. For readers
    that pick columns themselves (``glassnet predict``); ``load_csv`` builds a
    Dataset."""
    path = Path(path)
    rows, lines = _csv_rows(_read_csv_text(path), delimiter)
    if not rows:
        raise ValueError(f"{path} has no data lines")
    if not _looks_like_header(rows):
        return None, rows, lines
    if len(rows) == 1:
        raise ValueError(f"{path} has a header line but no data lines")
    return [name.strip() for name in rows[0]], rows[1:], lines[1:]


def _numeric_table(text: str, delimiter: str, skip: int, n_columns: int):
    """All-numeric files (the common case) in one fast NumPy pass; else None."""
    try:
        table = np.loadtxt(
            io.StringIO(text),
            delimiter=delimiter,
            skiprows=skip,
            ndmin=2,
            comments=None,
            quotechar='"',
            dtype=np.float64,
        )
    except ValueError:
        return None
    if table.shape[1] != n_columns or len(table) == 0:
        return None
    return table


def _column_values(column: np.ndarray, label: str, lines) -> np.ndarray:
    """Parse one feature column as float; empty fields become NaN."""
    try:
        return column.astype(np.float64)
    except ValueError:
        pass
    values = np.empty(len(column))
    missing = 0
    for i, text in enumerate(column.tolist()):
        if not text.strip():
            values[i] = np.nan
            missing += 1
            continue
        try:
            values[i] = float(text)
        except ValueError:
            raise ValueError(
                f"feature column {label} is not numeric: line {lines[i]} holds "
                f"{text!r}; encode it as numbers, drop it, or choose it as the "
                "label_column"
            ) from None
    if missing:
        warnings.warn(
            f"feature column {label} has {missing} empty field(s), read as NaN",
            stacklevel=4,
        )
    return values


def resolve_label_column(label_column, names, n_columns: int) -> int:
    """The index of the label column among ``n_columns`` (``names``: the header's
    column names, or None): ``load_csv``'s rule, also for ``glassnet predict``."""
    if label_column is None:
        if names is not None:
            for j, name in enumerate(names):
                if name.strip().lower() in LABEL_COLUMN_NAMES:
                    return j
        return n_columns - 1
    if isinstance(label_column, str):
        # a name first; text such as "0" or "-1" (the CLI's, a JSON config's) is
        # an index when no column has that name
        stripped = [n.strip() for n in names] if names is not None else []
        for candidates in (stripped, [n.lower() for n in stripped]):
            key = label_column if candidates is stripped else label_column.lower()
            if key in candidates:
                return candidates.index(key)
        try:
            label_column = int(label_column.strip())
        except ValueError:
            if names is None:
                raise ValueError(
                    f"label_column={label_column!r} names a column but the file has "
                    f"no header line; pass an index in [-{n_columns}, {n_columns})"
                ) from None
            raise ValueError(
                f"label_column {label_column!r} is not a column; columns: "
                f"{stripped}, or an index in [-{n_columns}, {n_columns})"
            ) from None
    if isinstance(label_column, (int, np.integer)) and not isinstance(
        label_column, bool
    ):
        if -n_columns <= label_column < n_columns:
            return int(label_column) % n_columns
        raise ValueError(
            f"label_column index must be in [-{n_columns}, {n_columns}); received "
            f"label_column={label_column}"
        )
    raise TypeError(
        f"label_column must be a column name or index; received {label_column!r}"
    )


def _parse_text_table(
    path,
    text,
    delimiter,
    header,
    n_columns,
    feature_index,
    label_index,
    describe,
    task,
):
    """Slow path for files with text labels, empty fields or errors to report."""
    rows, lines = _csv_rows(text, delimiter)
    data, lines = (rows[1:], lines[1:]) if header else (rows, lines)
    if not data:
        raise ValueError(f"{path} has a header line but no data lines")
    for row, line in zip(data, lines, strict=True):
        if len(row) != n_columns:
            raise ValueError(
                f"{path}: line {line} has {len(row)} fields but the first line has "
                f"{n_columns}"
            )
    table = np.array(data, dtype=str)
    features = table[:, feature_index]
    try:
        X = features.astype(np.float64)
    except ValueError:
        X = np.column_stack(
            [_column_values(table[:, j], describe(j), lines) for j in feature_index]
        )
    y_text = np.char.strip(table[:, label_index])
    empty = np.char.str_len(y_text) == 0
    if empty.any():
        raise ValueError(
            f"label column {describe(label_index)} is empty on line "
            f"{lines[int(np.argmax(empty))]}; every example needs a label"
        )
    try:
        y = y_text.astype(np.float64)
    except ValueError:
        if task == "regression":
            raise ValueError(
                f"task 'regression' needs numeric targets but label column "
                f"{describe(label_index)} holds text such as {y_text[0].item()!r}"
            ) from None
        y = y_text
    return X, y


def load_csv(
    path,
    *,
    label_column: str | int | None = None,
    header: bool | None = None,
    delimiter: str = ",",
    task: str | None = None,
) -> Dataset:
    """Read a CSV (or gzip-compressed ``.csv.gz``) file, one example per line.

    ``label_column`` is a column name or index (text that reads as an integer, such
    as ``"0"``, is an index when no column has that name); by default the column named
    ``label``, ``y``, ``target`` or ``class`` (any case), else the last column. Every
    other column must be numeric (a non-numeric one raises ``ValueError`` naming the
    column and a bad value); empty fields become NaN with a warning. ``header=None``
    detects a header line (a line with text where the next line has numbers).
    Numeric labels with few whole values, or text labels, make a classification set
    (``classes`` holds the original labels); pass ``task`` to decide explicitly.
    """
    path = Path(path)
    if header not in (None, True, False):
        raise TypeError(f"header must be None, True or False; received {header!r}")
    text = _read_csv_text(path)
    head, head_lines = _csv_rows(text, delimiter, limit=2)
    if not head:
        raise ValueError(f"{path} has no data lines")
    if header is None:
        header = _looks_like_header(head)
    names = [n.strip() for n in head[0]] if header else None
    n_columns = len(head[0])
    if n_columns < 2:
        raise ValueError(
            f"{path} has {n_columns} column; need features and a label column"
        )
    label_index = resolve_label_column(label_column, names, n_columns)
    feature_index = [j for j in range(n_columns) if j != label_index]

    def describe(j):
        return f"{names[j]!r} (index {j})" if names else f"at index {j}"

    skip = head_lines[0] if header else 0
    table = _numeric_table(text, delimiter, skip, n_columns)
    if table is not None:
        X = np.ascontiguousarray(table[:, feature_index])
        y = table[:, label_index]
    else:
        X, y = _parse_text_table(
            path,
            text,
            delimiter,
            header,
            n_columns,
            feature_index,
            label_index,
            describe,
            task,
        )
    if y.dtype.kind == "f":
        whole = bool(np.isfinite(y).all() and (y == np.round(y)).all())
        resolved = task if task is not None else infer_task(y)
        if resolved in CLASSIFICATION_TASKS and whole:
            y = y.astype(np.int64)
        task = resolved
    return Dataset.from_arrays(
        X,
        y,
        task=task,
        feature_names=[names[j] for j in feature_index] if names else None,
        name=_stem(path),
        description=f"read from {path} (label column {describe(label_index)})",
    )
