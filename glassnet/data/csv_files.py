"""Read a CSV file (or a gzip-compressed ``.csv.gz``) into a :class:`Dataset`.

One example per line, a label column and feature columns of numbers or text
(categories, kept as text for the model's table layers, D40); the header line is
detected (or forced with ``header=True/False``). :func:`load_csv` is re-exported by
:mod:`glassnet.data.loaders`, which picks it for ``.csv``/``.csv.gz`` paths.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import io
import os
import struct
import warnings
import zlib
from pathlib import Path

import numpy as np

from glassnet.data.budgets import DataFileError, Meter, describe_bytes
from glassnet.data.columns import Table, parse_text_column
from glassnet.data.datasets import CLASSIFICATION_TASKS, Dataset, infer_task
from glassnet.data.npy_files import open_regular_file

__all__ = ["load_csv", "read_rows", "check_unique_names", "finish_labels"]

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


_CHUNK = 2**20
# what reading a CSV file can raise for a file that is not CSV text
_READ_ERRORS = (OSError, UnicodeDecodeError, EOFError, zlib.error)


@contextlib.contextmanager
def _open_binary(path: Path):
    """The file's bytes, inflated for ``.csv.gz`` (a FIFO or folder refused)."""
    with open_regular_file(path) as raw:
        if _suffix(path) != ".csv.gz":
            yield raw
            return
        with gzip.GzipFile(fileobj=raw, mode="rb") as inflated:
            yield inflated


@contextlib.contextmanager
def _text_stream(path: Path):
    with _open_binary(path) as binary:
        text = io.TextIOWrapper(binary, encoding="utf-8-sig", newline="")
        try:
            yield text
        finally:
            text.detach()


def _measure(path: Path, meter: Meter) -> tuple[int, int]:
    """``(bytes, lines)`` of the file's text, counted in one bounded pass (a
    ``.csv.gz`` inflated into nothing, member by member): its text may take at
    most the budget's ``max_array_bytes``."""
    limit = meter.budget.max_array_bytes
    verb = "inflates to" if _suffix(path) == ".csv.gz" else "takes"
    try:
        _check_declared_size(path, limit, verb, meter)
        with open_regular_file(path) as raw:
            chunks = iter(lambda: raw.read(_CHUNK), b"")
            if _suffix(path) == ".csv.gz":
                chunks = _inflated(chunks)
            size = lines = 0
            for chunk in chunks:
                size += len(chunk)
                if size > limit:
                    raise meter.error(_too_long(verb, size, limit))
                lines += chunk.count(b"\n")
    except _READ_ERRORS as error:
        raise ValueError(f"cannot read {path} as CSV: {error}") from None
    return size, lines + 1


def _inflated(chunks):
    """The inflated pieces (at most _CHUNK bytes each) of gzip data given in
    compressed ``chunks``, members one after another, as GzipFile reads them."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    for pending in chunks:
        while pending:
            yield inflater.decompress(pending, _CHUNK)
            pending = inflater.unconsumed_tail
            if inflater.eof:
                pending = inflater.unused_data
                if not pending.strip(b"\0"):
                    break  # zero padding after the last member
                inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    if not inflater.eof:
        raise EOFError("Compressed file ended before the end-of-stream marker")


def _check_declared_size(path: Path, limit: int, verb: str, meter: Meter) -> None:
    """Refuse at once a file larger than ``limit``, or a ``.csv.gz`` whose last
    member's trailer declares more (its size modulo 2**32, so a lower bound)."""
    with open_regular_file(path) as raw:
        size = os.fstat(raw.fileno()).st_size
        if _suffix(path) == ".csv.gz" and size >= 18:
            raw.seek(size - 4)
            size = struct.unpack("<I", raw.read(4))[0]
    if size > limit:
        raise meter.error(_too_long(verb, size, limit))


def _too_long(verb: str, size: int, limit: int) -> str:
    return (
        f"its text {verb} more than {describe_bytes(limit)} (at least "
        f"{describe_bytes(size)}), the data budget's max_array_bytes; pass "
        f"budget={{'max_array_bytes': ...}} to read it"
    )


def _read_csv_text(path: Path) -> str:
    try:
        with _text_stream(path) as handle:
            return handle.read()
    except _READ_ERRORS as error:
        raise ValueError(f"cannot read {path} as CSV: {error}") from None


def _head_rows(path: Path, delimiter: str):
    """The first two non-blank rows and their line numbers, read from the start."""
    try:
        with _text_stream(path) as handle:
            return _csv_rows(handle, delimiter, limit=2)
    except _READ_ERRORS as error:
        raise ValueError(f"cannot read {path} as CSV: {error}") from None


def check_unique_names(names, path) -> None:
    """A header must name each column once: ``a,a,a,label`` would otherwise feed
    one column three times wherever columns are picked by name (``predict``)."""
    seen = {}
    for index, name in enumerate(names):
        seen.setdefault(name, []).append(index)
    repeated = {name: where for name, where in seen.items() if len(where) > 1}
    if repeated:
        listed = "; ".join(
            f"{name!r} at columns {', '.join(map(str, where))}"
            for name, where in list(repeated.items())[:5]
        )
        raise DataFileError(
            f"{path}: the header line repeats column name(s): {listed}; give every "
            "column its own name (columns are picked by name)"
        )


def _csv_rows(text, delimiter: str, limit: int | None = None):
    """Non-blank rows of ``text`` (a str or a text stream) and the line number
    each one ends on."""
    rows, lines = [], []
    if isinstance(text, str):
        text = io.StringIO(text, newline="")
    reader = csv.reader(text, delimiter=delimiter)
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


def read_rows(path, delimiter: str = ",", *, budget=None):
    """``(header, rows, lines)`` of a CSV (or ``.csv.gz``) file: the stripped column
    names when its first line looks like a header (else None), the non-blank rows
    after it as lists of strings, and the line number each row ends on. For readers
    that pick columns themselves (``glassnet predict``); ``load_csv`` builds a
    Dataset. A header that repeats a name is an error; the file's text and fields
    are checked against the data ``budget`` before they are parsed."""
    path = Path(path)
    meter = Meter(path, budget)
    size, lines = _measure(path, meter)
    head, _ = _head_rows(path, delimiter)
    fields = lines * max(len(head[0]) if head else 1, 1)
    meter.add_bytes(f"its {fields} fields as text", _text_bytes(size, fields))
    rows, lines = _csv_rows(_read_csv_text(path), delimiter)
    if not rows:
        raise ValueError(f"{path} has no data lines")
    if not _looks_like_header(rows):
        return None, rows, lines
    if len(rows) == 1:
        raise ValueError(f"{path} has a header line but no data lines")
    names = [name.strip() for name in rows[0]]
    check_unique_names(names, path)
    return names, rows[1:], lines[1:]


def _text_bytes(size: int, fields: int) -> int:
    """What parsing ``fields`` fields of ``size`` bytes as Python strings holds:
    the text twice (bytes, str) and about 64 bytes a field."""
    return 2 * size + 64 * fields


def _numeric_table(path: Path, delimiter: str, skip: int, n_columns: int):
    """All-numeric files (the common case) in one fast NumPy pass over the file;
    else None."""
    try:
        with _text_stream(path) as handle:
            table = np.loadtxt(
                handle,
                delimiter=delimiter,
                skiprows=skip,
                ndmin=2,
                comments=None,
                quotechar='"',
                dtype=np.float64,
            )
    except (ValueError, *_READ_ERRORS):
        return None
    if table.shape[1] != n_columns or len(table) == 0:
        return None
    return table


def _column_values(column: list, label: str) -> np.ndarray:
    """Parse one feature column (a list of str): float64 when every non-empty
    field is a number (empty fields NaN, with a warning), else the column's text
    (stripped; empty fields None), a categorical column for the model's table
    layers (:mod:`glassnet.data.columns`, architecture D40)."""
    try:
        return np.array(column, dtype=np.float64)
    except ValueError:
        pass
    values = parse_text_column(column)
    if values.dtype == object:
        return values
    missing = int(np.isnan(values).sum())
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
    meter,
    delimiter,
    header,
    n_columns,
    feature_index,
    label_index,
    describe,
    task,
):
    """Slow path for files with text labels, empty fields or errors to report."""
    rows, lines = _csv_rows(_read_csv_text(path), delimiter)
    data, lines = (rows[1:], lines[1:]) if header else (rows, lines)
    if not data:
        raise ValueError(f"{path} has a header line but no data lines")
    for row, line in zip(data, lines, strict=True):
        if len(row) != n_columns:
            raise ValueError(
                f"{path}: line {line} has {len(row)} fields but the first line has "
                f"{n_columns}"
            )
    columns = [
        _column_values([row[j] for row in data], describe(j)) for j in feature_index
    ]
    X = Table([str(j) for j in feature_index], columns).to_rows()  # text: objects
    labels = [row[label_index].strip() for row in data]
    if not all(labels):
        line = lines[labels.index("")]
        raise ValueError(
            f"label column {describe(label_index)} is empty on line {line}; every "
            "example needs a label"
        )
    try:
        y = np.array(labels, dtype=np.float64)
    except ValueError:
        if task == "regression":
            raise ValueError(
                f"task 'regression' needs numeric targets but label column "
                f"{describe(label_index)} holds text such as {labels[0]!r}"
            ) from None
        longest = max(map(len, labels))
        meter.add_bytes("its text labels", 4 * longest * len(labels))
        y = np.array(labels, dtype=str)
    return X, y


def finish_labels(y: np.ndarray, task: str | None):
    """``(y, task)`` of a table's label column (CSV, Parquet): numeric labels
    decide the task when it is not given (:func:`infer_task`), and whole numbers
    of a classification set become int64 class labels; text labels are kept."""
    if y.dtype.kind == "f":
        whole = bool(np.isfinite(y).all() and (y == np.round(y)).all())
        resolved = task if task is not None else infer_task(y)
        if resolved in CLASSIFICATION_TASKS and whole:
            y = y.astype(np.int64)
        task = resolved
    return y, task


def load_csv(
    path,
    *,
    label_column: str | int | None = None,
    header: bool | None = None,
    delimiter: str = ",",
    task: str | None = None,
    budget=None,
) -> Dataset:
    """Read a CSV (or gzip-compressed ``.csv.gz``) file, one example per line.

    ``label_column`` is a column name or index (text that reads as an integer, such
    as ``"0"``, is an index when no column has that name); by default the column named
    ``label``, ``y``, ``target`` or ``class`` (any case), else the last column. A
    column of numbers is read as float64 (empty fields NaN, with a warning); a
    column with text is kept as text (stripped, empty fields None) and ``X`` is
    then an object array: the roles of the columns and the model's table layers
    take it from there (:mod:`glassnet.data.columns`, architecture D40). ``header=None``
    detects a header line (a line with text where the next line has numbers).
    Numeric labels with few whole values, or text labels, make a classification set
    (``classes`` holds the original labels); pass ``task`` to decide explicitly.
    A header must name each column once. The text is measured first (a ``.csv.gz``
    inflated into nothing) and checked against the data ``budget``
    (:mod:`glassnet.data.budgets`): at most ``max_array_bytes`` of text, and 16
    bytes per field (the values and their features' copy; 64 more per field, and
    the text twice, when fields must be parsed as text) within ``max_total_bytes``.
    """
    path = Path(path)
    if header not in (None, True, False):
        raise TypeError(f"header must be None, True or False; received {header!r}")
    meter = Meter(path, budget)
    size, lines = _measure(path, meter)
    head, head_lines = _head_rows(path, delimiter)
    if not head:
        raise ValueError(f"{path} has no data lines")
    fields = lines * len(head[0])
    meter.add_bytes(f"its {fields} fields as float64", 16 * fields)
    if header is None:
        header = _looks_like_header(head)
    names = [n.strip() for n in head[0]] if header else None
    if names:
        check_unique_names(names, path)
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
    table = _numeric_table(path, delimiter, skip, n_columns)
    if table is not None:
        X = np.ascontiguousarray(table[:, feature_index])
        y = table[:, label_index]
    else:
        meter.add_bytes(f"its {fields} fields as text", _text_bytes(size, fields))
        X, y = _parse_text_table(
            path,
            meter,
            delimiter,
            header,
            n_columns,
            feature_index,
            label_index,
            describe,
            task,
        )
    y, task = finish_labels(y, task)
    return Dataset.from_arrays(
        X,
        y,
        task=task,
        feature_names=[names[j] for j in feature_index] if names else None,
        name=_stem(path),
        description=f"read from {path} (label column {describe(label_index)})",
    )
