"""Parquet rows that stay on disk, read by row group through a shuffle buffer.

A Parquet file (or a folder of them) stores its rows in *row groups*, each one
compressed column by column: a single row cannot be read without decoding its
group, so the random gathers that ``.npy`` and HDF5 rows allow
(:mod:`glassnet.data.on_disk`) would decode a group for every row. Parquet rows
are therefore *streamed*: :class:`ParquetRows` reads whole row groups (only the
feature columns) and an epoch's order comes from a **shuffle buffer**, as in
``tf.data`` and PyTorch's ``DataPipes``:

1. the row groups are taken in a random order (a permutation from the run's rng);
2. a buffer of ``buffer_rows`` rows is filled from them;
3. each mini-batch draws ``batch_size`` rows uniformly from the buffer (without
   replacement), the last rows of the buffer fill the holes, and the next row
   groups top the buffer up.

Every row is seen exactly once an epoch, the order is reproducible from the seed,
and the memory is the buffer (plus one row group as decoded), whatever the file's
size. The order is *not* the in-memory shuffle's (a uniformly random
permutation): rows of one row group stay closer together than a permutation would
put them, so training from a Parquet file does not give the bits training on the
same array in memory gives (``.npy`` and HDF5 rows do). A buffer at least as
large as the data set is a uniform shuffle of it.

The labels (the label column: one value an example) are read whole, into memory
(:meth:`ParquetRows.labels`), as for the other sources. A row source's other
services work too: ``chunks()`` (the streaming statistics), ``read(start, stop)``
(``predict`` and ``evaluate`` in order) and ``take`` for increasing indices
(each row group read once per call).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from glassnet.data.budgets import DataFileError
from glassnet.data.on_disk import RowSource

__all__ = ["DEFAULT_BUFFER_ROWS", "ParquetRows", "ShufflePlan", "shuffle_plan"]

#: rows the shuffle buffer holds by default
DEFAULT_BUFFER_ROWS = 10_000
PARQUET_SUFFIXES = (".parquet", ".pq")


def _files(path: Path) -> list[Path]:
    if path.is_dir():
        files = sorted(
            p for p in path.iterdir() if p.suffix.lower() in PARQUET_SUFFIXES
        )
        if not files:
            raise DataFileError(
                f"cannot read {path} as Parquet rows: it holds no .parquet files"
            )
        return files
    if not path.exists():
        raise FileNotFoundError(f"no such file: {path}")
    return [path]


def _numeric(kind) -> bool:
    import pyarrow as pa

    return (
        pa.types.is_integer(kind)
        or pa.types.is_floating(kind)
        or pa.types.is_boolean(kind)
    )


class ParquetRows(RowSource):
    """The feature rows of a Parquet file or folder of files (pyarrow), read by
    row group; ``label_column`` as for :func:`glassnet.data.load_dataset` (by
    name or index; by default ``label``, ``y``, ``target`` or ``class``, else the
    last column); every other column (or ``feature_columns``) a feature.
    ``buffer_rows``: the shuffle buffer's size (module docstring)."""

    streamed = True  # an epoch's order comes from the shuffle buffer

    def __init__(
        self,
        path,
        *,
        label_column=None,
        feature_columns=None,
        buffer_rows: int = DEFAULT_BUFFER_ROWS,
    ):
        from glassnet.errors import require

        require("pyarrow", "reading Parquet files", "parquet")
        import pyarrow.parquet as pq

        path = Path(path).expanduser()
        self.path = str(path)
        if isinstance(buffer_rows, bool) or not isinstance(buffer_rows, int):
            raise TypeError(f"buffer_rows must be an int; received {buffer_rows!r}")
        if buffer_rows < 1:
            raise ValueError(f"buffer_rows must be positive; received {buffer_rows}")
        self.buffer_rows = buffer_rows
        from glassnet.data.npy_files import open_regular_file

        self.files, self._handles = [], []
        try:
            for file in _files(path):  # regular files only (no FIFO, no device)
                self._handles.append(open_regular_file(file))
                self.files.append(pq.ParquetFile(self._handles[-1]))
        except (OSError, ValueError) as error:
            self.close()
            if isinstance(error, FileNotFoundError):
                raise
            if isinstance(error, DataFileError):
                raise
            raise DataFileError(
                f"cannot read {path} as Parquet: {str(error).splitlines()[0]}"
            ) from None
        self._columns(label_column, feature_columns)
        groups = [
            (number, group, file.metadata.row_group(group).num_rows)
            for number, file in enumerate(self.files)
            for group in range(file.metadata.num_row_groups)
        ]
        self.groups = [(number, group) for number, group, rows in groups if rows]
        sizes = [rows for _, _, rows in groups if rows]
        self.group_sizes = np.asarray(sizes, dtype=np.intp)
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.intp)
        self.shape = (int(self.offsets[-1]), len(self.feature_columns))
        self.example_shape = (len(self.feature_columns),)
        if not self.shape[0]:
            raise DataFileError(f"cannot read {path} as Parquet rows: it has no rows")
        self._cached = (None, None)

    def _columns(self, label_column, feature_columns) -> None:
        from glassnet.data.csv_files import resolve_label_column

        schema = self.files[0].schema_arrow
        names = [str(name) for name in schema.names]
        for file in self.files[1:]:
            if [str(n) for n in file.schema_arrow.names] != names:
                raise DataFileError(
                    f"{self.path}: the files' columns differ ({file.metadata}); "
                    "every file of a folder needs the same columns"
                )
        label = names[resolve_label_column(label_column, names, len(names))]
        features = [n for n in names if n != label]
        if feature_columns is not None:
            features = [str(n) for n in feature_columns]
            unknown = [n for n in features if n not in names]
            if unknown:
                raise ValueError(
                    f"{self.path}: feature column(s) {unknown} are not columns; "
                    f"columns: {names}"
                )
        kinds = {str(field.name): field.type for field in schema}
        for name in features:
            if not _numeric(kinds[name]):
                raise DataFileError(
                    f"{self.path}: feature column {name!r} holds {kinds[name]} "
                    "values; rows on disk are numbers"
                )
        self.label_column, self.feature_columns = label, features
        types = [np.dtype(kinds[n].to_pandas_dtype()) for n in features]
        self.dtype = np.result_type(*types) if types else np.dtype(np.float64)
        if self.dtype.kind == "b":
            self.dtype = np.dtype(np.uint8)

    def describe(self) -> str:
        return (
            f"{self.path} ({self.shape[0]} rows of {self.shape[1]} columns in "
            f"{len(self.groups)} row groups)"
        )

    def labels(self) -> np.ndarray:
        """The label column, whole (numbers as float64, or text), in file order."""
        import pyarrow as pa

        parts = []
        for file in self.files:
            column = file.read(columns=[self.label_column]).column(0)
            if column.null_count:
                raise DataFileError(
                    f"{self.path}: label column {self.label_column!r} has "
                    f"{column.null_count} empty value(s); every example needs a label"
                )
            if pa.types.is_dictionary(column.type):
                column = column.cast(column.type.value_type)
            if _numeric(column.type):
                parts.append(np.asarray(column.to_numpy(), dtype=np.float64))
            else:
                parts.append(np.array([str(v) for v in column.to_pylist()]))
        return np.concatenate(parts)

    def group(self, number: int) -> np.ndarray:
        """Row group ``number`` (in :attr:`groups`) as rows ``(k, n)``, the last
        one read kept."""
        if self._cached[0] == number:
            return self._cached[1]
        file, group = self.groups[number]
        table = self.files[file].read_row_group(
            group, columns=self.feature_columns, use_threads=False
        )
        rows = np.empty((table.num_rows, self.shape[1]), dtype=self.dtype)
        for j in range(self.shape[1]):
            column = table.column(j)
            values = column.to_numpy(zero_copy_only=False)
            if column.null_count:  # nulls are NaN, refused by the finiteness pass
                values = np.where(
                    column.is_null().to_numpy(zero_copy_only=False), np.nan, values
                )
                if rows.dtype.kind != "f":
                    rows = rows.astype(np.float64)
            rows[:, j] = values
        self._cached = (number, rows)
        return rows

    def take(self, index, out):
        index = np.asarray(index, dtype=np.intp)
        cuts = np.searchsorted(index, self.offsets)
        for number in range(len(self.groups)):
            low, high = cuts[number], cuts[number + 1]
            if low < high:
                rows = self.group(number)
                out[low:high] = rows[index[low:high] - self.offsets[number]]
        return out

    def read(self, start: int, stop: int, out):
        return self.take(np.arange(start, stop, dtype=np.intp), out)

    def chunks(self):
        for number in range(len(self.groups)):
            yield int(self.offsets[number]), self.group(number)

    def close(self) -> None:
        for handle in self._handles:
            handle.close()

    def rows(self, index):
        raise ValueError(
            f"{self.path}: Parquet rows are streamed by row group and cannot be "
            "split by index; split the files (one folder for each of train, dev "
            "and test), or convert the features to .npy shards"
        )


class ShufflePlan:
    """One epoch of a shuffle buffer, planned from the rng before any row is
    read: ``order`` (m,) is the rows in the order the batches take them, and
    each batch's ``steps`` say which row groups to load into which buffer slots,
    which slots to draw and which to move into the holes."""

    def __init__(self, order, steps):
        self.order, self.steps = order, steps


def shuffle_plan(group_sizes, buffer_rows: int, batch_size: int, rng) -> ShufflePlan:
    """The shuffle buffer's epoch (module docstring): row groups in a random
    order, ``buffer_rows`` rows buffered, each batch drawn uniformly from the
    buffer without replacement (``buffer_rows`` is at least ``batch_size``). Only
    indices move here; :class:`glassnet.batches.StreamBatches` replays the steps
    on the rows."""
    group_sizes = np.asarray(group_sizes, dtype=np.intp)
    offsets = np.concatenate([[0], np.cumsum(group_sizes)]).astype(np.intp)
    m = int(offsets[-1])
    capacity = max(buffer_rows, batch_size) + int(group_sizes.max())
    slots = np.empty(capacity, dtype=np.intp)  # the global row in each slot
    groups = iter(rng.permutation(len(group_sizes)).tolist())
    count, emitted, order, steps = 0, 0, [], []
    buffer_rows = max(buffer_rows, batch_size)  # full batches until the last
    while emitted < m:
        loads = []
        while count < buffer_rows:
            group = next(groups, None)
            if group is None:
                break
            size = int(group_sizes[group])
            slots[count : count + size] = np.arange(offsets[group], offsets[group + 1])
            loads.append((group, count))
            count += size
        k = min(batch_size, count)
        drawn = np.asarray(rng.choice(count, size=k, replace=False), dtype=np.intp)
        order.append(slots[drawn])
        tail = np.arange(count - k, count)
        movers = tail[~np.isin(tail, drawn)]  # kept rows of the tail
        holes = np.sort(drawn[drawn < count - k])  # drawn rows before the tail
        slots[holes] = slots[movers]
        steps.append((loads, drawn, holes, movers))
        count -= k
        emitted += k
    return ShufflePlan(np.concatenate(order), steps)
