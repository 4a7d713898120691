"""Rows that stay on disk: ``.npy`` files, folders of ``.npy`` shards, HDF5 datasets.

A data set larger than memory is trained on where it lies. A *row source* is the
rows ``X (m, n)`` of a file (image-shaped examples ``(m, h, w[, c])`` are rows of
``n = h*w*c`` values in C order) that reads only the rows asked for:

* :class:`NpyRows`: one ``.npy`` file (C order), its rows read with ``pread``;
* :class:`NpyShards`: a folder of ``.npy`` files, one array of their rows in the
  order of their names (``part-00000.npy``, ``part-00001.npy``, ...), all of one
  dtype and row shape;
* :class:`H5Rows`: one HDF5 dataset (``X`` by default), read by ``h5py``
  selections, the checks of :class:`glassnet.data.h5_files.H5Reader` included
  (no external storage, links or plugin filters);
* :class:`RowSubset`: the rows of a source at increasing indices (a train, dev or
  test split taken by index: nothing is copied).

Every source gives ``take(index, out)``: the rows at *increasing* ``index (k,)``
written into ``out (k, n)`` of the source's dtype, and ``chunks()``: the rows in
the file's order, about 4 MiB (as float64) at a time. Reading rows in increasing
order is what a disk (and HDF5's chunk cache: each chunk a batch touches is read
and decompressed once) is good at; :class:`glassnet.batches.DiskBatches` sorts each
mini-batch's indices, reads, and puts the rows back in the batch's order, so a
batch is the same, bit for bit, as the in-memory gather ``X[index]``.

Memory: rows are read with ``pread`` straight into the caller's buffers (the
batch buffers, a streaming pass's block), so nothing of the file is mapped into
the process: its resident memory is the model, the buffers and the labels,
whatever the file's size, and the file's pages are the kernel's page cache. (A
memory map was tried first: on Linux with large page-cache folios a read of one
3 kB row mapped about 280 kB, so the resident memory reached the file's size
within an epoch, and giving the pages back with ``madvise`` cost as much as
``pread``.) An ``np.memmap`` passed as ``X`` is gathered from as it is: its pages
count in the process's resident memory; :func:`open_rows` on the file does not.
These sources are not counted against the data budget
(:mod:`glassnet.data.budgets`): they never load the file; their header, shape
and size are checked as every loader checks them.

:func:`scan_rows` is the one streaming pass over a source: finiteness (the first
NaN or infinite value named by row and feature), and per feature the count,
mean, sum of squared deviations (Chan et al.'s pairwise merge, float64), minimum
and maximum, from which the Standardization layer's statistics follow
(:class:`glassnet.layers.preprocessing.RunningMoments`). The result is kept on the
source, so ``adapt``, ``fit``'s checks and a split's statistics share one pass.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from glassnet import _kernels
from glassnet.data.budgets import DataFileError, Meter, describe_bytes

__all__ = [
    "H5Rows",
    "NpyRows",
    "NpyShards",
    "RowScan",
    "RowSource",
    "RowSubset",
    "as_row_source",
    "is_row_source",
    "open_rows",
    "scan_rows",
]

#: bytes of rows a streaming pass reads at a time (as float64: its working copy)
CHUNK_BYTES = 4 * 2**20
_NUMBERS = "biuf"


class RowScan:
    """What one streaming pass over a source found (:func:`scan_rows`).

    ``moments``: a :class:`~glassnet.layers.preprocessing.RunningMoments` of the
    rows (count, mean, squared deviations, minimum, maximum per feature, float64);
    ``bad``: ``(row, feature, value)`` of the first NaN or infinite value, or None.
    """

    def __init__(self, moments, bad):
        self.moments, self.bad = moments, bad


class RowSource:
    """Rows ``(m, n)`` read from disk on demand (module docstring). Subclasses
    set ``path``, ``shape``, ``dtype``, ``example_shape`` and implement
    :meth:`take` (and :meth:`read` when contiguous rows are cheaper)."""

    ndim = 2
    on_disk = True  # what glassnet.out_of_core.is_on_disk looks for
    path: str
    shape: tuple
    dtype: np.dtype
    example_shape: tuple

    def __len__(self) -> int:
        return self.shape[0]

    @property
    def nbytes(self) -> int:
        return self.shape[0] * self.row_bytes

    @property
    def row_bytes(self) -> int:
        return self.shape[1] * self.dtype.itemsize

    def describe(self) -> str:
        return f"{self.path} ({self.shape[0]} rows of {self.shape[1]} {self.dtype})"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.describe()})"

    def take(self, index, out):
        """``out[j] = X[index[j]]`` for increasing ``index (k,)``; returns ``out``."""
        raise NotImplementedError

    def __getitem__(self, rows) -> np.ndarray:
        """Rows in memory: ``X[i]``, ``X[start:stop]`` or ``X[index]`` (any order)
        as a new array ``(k, n)`` of the source's dtype."""
        if isinstance(rows, slice):
            rows = np.arange(*rows.indices(self.shape[0]))
        index = np.asarray(rows)
        if index.dtype.kind not in "iu" or index.ndim > 1:
            raise IndexError(
                f"rows on disk are indexed by row numbers; received {rows!r}"
            )
        flat = np.where(index < 0, index + self.shape[0], index).reshape(-1)
        if len(flat) and (flat.min() < 0 or flat.max() >= self.shape[0]):
            raise IndexError(f"row index out of range for {self.describe()}")
        p = np.argsort(flat, kind="stable")
        unique, inverse = np.unique(flat[p], return_inverse=True)
        out = np.empty((len(unique), self.shape[1]), dtype=self.dtype)
        self.take(unique, out)
        result = np.empty((len(flat), self.shape[1]), dtype=self.dtype)
        result[p] = out[inverse]
        return result[0] if index.ndim == 0 else result

    def __array__(self, dtype=None, copy=None):
        """All the rows in memory, when they fit the data budget's
        ``max_array_bytes`` (:mod:`glassnet.data.budgets`); else DataFileError."""
        Meter(self.path).array(
            f"rows on disk ({self.describe()}) read into memory",
            self.shape,
            self.dtype,
            copy=False,
        )
        rows = self[0 : self.shape[0]]
        return rows if dtype is None else rows.astype(dtype, copy=False)

    def read(self, start: int, stop: int, out):
        """Rows ``start:stop`` into ``out (stop - start, n)``; returns ``out``."""
        return self.take(np.arange(start, stop, dtype=np.intp), out)

    def rows(self, index) -> RowSubset:
        """The rows at ``index`` (any order: they are sorted), without a copy."""
        return RowSubset(self, index)

    def chunk_rows(self) -> int:
        """Rows per block of a streaming pass: about :data:`CHUNK_BYTES` as float64."""
        return max(1, CHUNK_BYTES // max(1, self.shape[1] * 8))

    def chunks(self):
        """``(start, rows)`` blocks in the file's order (``rows`` is a buffer
        reused from one block to the next)."""
        size = min(self.chunk_rows(), max(1, self.shape[0]))
        buffer = np.empty((size, self.shape[1]), dtype=self.dtype)
        for start in range(0, self.shape[0], size):
            stop = min(start + size, self.shape[0])
            yield start, self.read(start, stop, buffer[: stop - start])

    def scan(self) -> RowScan:
        """The streaming pass (:func:`scan_rows`), made once and kept."""
        found = getattr(self, "_scan", None)
        if found is None:
            found = self._scan = scan_rows(self)
        return found

    def close(self) -> None:
        """Release the file (the source cannot read afterwards)."""


# ----------------------------------------------------------------------- .npy


class _RowFile:
    """Rows stored one after another in a file from ``offset``, read with
    ``pread``: rows go straight from the file (the page cache) into the caller's
    buffer; nothing of the file is mapped, so the process's resident memory does
    not grow with what it reads. (A ``.npy`` file after its header; an HDF5
    dataset stored contiguous and uncompressed.)"""

    def _set_layout(self, handle, offset: int, shape, dtype, meter) -> None:
        self.handle, self.meter = handle, meter
        self.fd, self.offset = handle.fileno(), int(offset)
        self.shape, self.dtype = tuple(int(d) for d in shape), np.dtype(dtype)
        self.m, self.n = self.shape[0], math.prod(self.shape[1:])
        self.row_bytes = self.n * self.dtype.itemsize
        self._views = {}

    def _row_views(self, out) -> list:
        """One writable byte view per row of ``out`` (kept for a reused buffer)."""
        key = (out.__array_interface__["data"][0], len(out))
        views = self._views.get(key)
        if views is None:
            whole = memoryview(out.reshape(-1).view(np.uint8))
            size = self.row_bytes
            views = [[whole[j * size : (j + 1) * size]] for j in range(len(out))]
            if len(self._views) >= 4:  # a batch source's two buffers, a last batch
                self._views.clear()
            self._views[key] = views
        return views

    def _short(self, count: int, wanted: int) -> DataFileError:
        return self.meter.error(
            f"it gave {count} of {wanted} bytes: the file changed while being read"
        )

    def take(self, index, out):
        offsets = np.asarray(index, dtype=np.int64) * self.row_bytes + self.offset
        preadv, fd, size = os.preadv, self.fd, self.row_bytes
        for view, position in zip(self._row_views(out), offsets.tolist(), strict=True):
            count = preadv(fd, view, position)
            if count != size:
                raise self._short(count, size)
        return out

    def read(self, start: int, stop: int, out):
        wanted = (stop - start) * self.row_bytes
        view = memoryview(out.reshape(-1).view(np.uint8))
        count = os.preadv(self.fd, [view], self.offset + start * self.row_bytes)
        if count != wanted:
            raise self._short(count, wanted)
        return out

    def close(self) -> None:
        self.handle.close()

    def __del__(self):
        handle = getattr(self, "handle", None)
        if handle is not None:
            handle.close()


class _NpyFile(_RowFile):
    """The rows of one ``.npy`` file (C order), its header checked first."""

    def __init__(self, path):
        from glassnet.data.npy_files import open_regular_file, read_header

        meter = Meter(path)
        what = f"array {os.path.basename(str(path))!r}"
        handle = open_regular_file(path)
        try:
            size = os.fstat(handle.fileno()).st_size
            shape, fortran, dtype, header = read_header(handle, what, meter)
            problem = _npy_problem(shape, fortran, dtype, header, size)
        except BaseException:
            handle.close()
            raise
        if problem is not None:
            handle.close()
            raise meter.error(problem)
        self._set_layout(handle, header, shape, dtype, meter)


class _H5File(_RowFile):
    """An HDF5 dataset stored contiguous and uncompressed: its rows read with
    ``pread`` at the dataset's offset in the file, as a ``.npy`` file's are."""

    def __init__(self, path, dataset, meter):
        from glassnet.data.npy_files import open_regular_file

        handle = open_regular_file(path)
        self._set_layout(
            handle, dataset.id.get_offset(), dataset.shape, dataset.dtype, meter
        )


def _npy_problem(shape, fortran, dtype, header, size) -> str | None:
    """Why a ``.npy`` file cannot be read as rows on disk, or None."""
    nbytes = math.prod(shape) * dtype.itemsize
    if dtype.kind not in _NUMBERS:
        return f"it holds {dtype} values; training rows are numbers"
    if len(shape) < 2:
        return (
            f"it holds an array of shape {shape}; rows on disk are (m, n) or "
            "image-shaped (m, h, w[, c]) (save one feature as X.reshape(-1, 1))"
        )
    if fortran and len(shape) > 1 and shape[0] > 1 and nbytes:
        return (
            "it is stored in Fortran (column) order, where a row's values lie far "
            "apart; save it in C order: np.save(path, np.ascontiguousarray(X))"
        )
    if header + nbytes != size:
        return (
            f"it declares shape {shape} of {dtype} ({describe_bytes(nbytes)}) but "
            f"holds {describe_bytes(max(size - header, 0))} of data"
        )
    if not nbytes:
        return f"it holds no rows (shape {shape})"
    return None


class NpyRows(RowSource):
    """The rows of one ``.npy`` file (C order), read with ``pread``."""

    def __init__(self, path):
        self.path = str(path)
        self._file = _NpyFile(path)
        self.shape = (self._file.m, self._file.n)
        self.dtype = self._file.dtype
        self.example_shape = self._file.shape[1:]

    def take(self, index, out):
        return self._file.take(index, out)

    def read(self, start: int, stop: int, out):
        return self._file.read(start, stop, out)

    def close(self) -> None:
        self._file.close()


class NpyShards(RowSource):
    """The rows of a folder of ``.npy`` files, one after the other in the order
    of the files' names; each file is read as :class:`NpyRows` reads one."""

    def __init__(self, folder):
        folder = Path(folder)
        self.path = str(folder)
        names = sorted(p.name for p in folder.iterdir() if p.name.endswith(".npy"))
        if not names:
            raise DataFileError(
                f"cannot read {folder} as rows on disk: it holds no .npy files "
                "(a folder of shards holds part-00000.npy, part-00001.npy, ...)"
            )
        self.shards = []
        for name in names:  # each checked as it is opened; all closed on an error
            try:
                self.shards.append(_NpyFile(folder / name))
            except BaseException:
                self.close()
                raise
        self.names = names
        self._check_alike(folder)
        sizes = [shard.m for shard in self.shards]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.intp)
        first = self.shards[0]
        self.shape = (int(self.offsets[-1]), first.n)
        self.dtype = first.dtype
        self.example_shape = first.shape[1:]

    def _check_alike(self, folder) -> None:
        first, names = self.shards[0], self.names
        for name, shard in zip(names, self.shards, strict=True):
            if shard.dtype != first.dtype or shard.shape[1:] != first.shape[1:]:
                self.close()
                raise DataFileError(
                    f"cannot read {folder} as one array: {name} holds rows of shape "
                    f"{shard.shape[1:]} of {shard.dtype} but {names[0]} holds "
                    f"{first.shape[1:]} of {first.dtype}; every shard needs the same"
                )

    def take(self, index, out):
        index = np.asarray(index, dtype=np.intp)
        cuts = np.searchsorted(index, self.offsets)
        for number, shard in enumerate(self.shards):
            low, high = cuts[number], cuts[number + 1]
            if low < high:
                shard.take(index[low:high] - self.offsets[number], out[low:high])
        return out

    def read(self, start: int, stop: int, out):
        written = 0
        for number, shard in enumerate(self.shards):
            first, last = self.offsets[number], self.offsets[number + 1]
            low, high = max(start, first), min(stop, last)
            if low < high:
                part = out[written : written + high - low]
                shard.read(int(low - first), int(high - first), part)
                written += high - low
        return out

    def close(self) -> None:
        for shard in self.shards:
            shard.close()


# ----------------------------------------------------------------------- HDF5


class H5Rows(RowSource):
    """The rows of one HDF5 dataset (``key``: ``X`` or ``x`` by default), checked
    as every HDF5 loader checks it, read by increasing selections."""

    def __init__(self, path, key: str | None = None):
        from glassnet.data.h5_files import H5Reader

        self.path = str(path)
        self._reader = H5Reader(path, Meter(path))
        try:
            self._open(key)
        except BaseException:
            self._reader.close()
            raise

    def _open(self, key) -> None:
        reader = self._reader
        if key is None:
            key = next((k for k in ("X", "x") if k in reader.keys), None)
            if key is None:
                raise reader.meter.error(
                    f"it has no dataset X (or x); found {sorted(reader.keys)}: pass "
                    "the features' name as key="
                )
        elif key not in reader.keys:
            raise reader.meter.error(f"it has no dataset {key!r}")
        dataset = reader.dataset(key)
        shape, dtype = dataset.shape, dataset.dtype
        what = f"dataset {key!r}"
        if shape is None or len(shape) < 2 or not shape[0]:
            raise reader.meter.error(
                f"{what} has shape {shape}; rows on disk are (m, n) or (m, h, w[, c])"
            )
        if dtype.kind not in _NUMBERS or dtype.subdtype is not None or dtype.names:
            raise reader.meter.error(f"{what} holds {dtype} values, not numbers")
        if dataset.id.get_storage_size() == 0:
            raise reader.meter.error(f"{what} holds no data (nothing was written)")
        if dataset.chunks is not None:
            reader.meter.array(f"a chunk of {what}", dataset.chunks, dtype, copy=False)
            _warn_about_chunks(self.path, what, dataset)
        self.key, self.dataset = key, dataset
        self.shape = (int(shape[0]), math.prod(shape[1:]))
        # h5py's dtypes name their byte order ('<f4'); a native one is said '='
        self.dtype = dtype.newbyteorder("=") if dtype.isnative else np.dtype(dtype)
        self.example_shape = tuple(int(d) for d in shape[1:])
        self._direct = None
        stored = dataset.id.get_storage_size()
        if dataset.chunks is None and stored == self.shape[0] * self.row_bytes:
            # contiguous, uncompressed: read like a .npy file, one pread a row
            self._direct = _H5File(self.path, dataset, reader.meter)

    def describe(self) -> str:
        return f"{self.path}:{self.key} ({self.shape[0]} rows of {self.shape[1]})"

    def take(self, index, out):
        if self._direct is not None:
            return self._direct.take(index, out)
        values = self.dataset[np.asarray(index, dtype=np.intp)]
        np.copyto(out, values.reshape(len(out), -1))
        return out

    def read(self, start: int, stop: int, out):
        if self._direct is not None:
            return self._direct.read(start, stop, out)
        view = out.reshape((stop - start, *self.example_shape))
        self.dataset.read_direct(view, np.s_[start:stop])
        return out

    def close(self) -> None:
        if self._direct is not None:
            self._direct.close()
        self._reader.close()


def _warn_about_chunks(path: str, what: str, dataset) -> None:
    """A PerformanceWarning when a shuffled batch would decompress far more than
    it reads: HDF5 decodes a compressed chunk whole for any row of it, and the
    rows of a shuffled batch lie in different chunks."""
    import warnings

    from glassnet._kernels import PerformanceWarning

    rows = dataset.chunks[0]
    if dataset.compression is None or rows <= 8:
        return
    warnings.warn(
        f"{path}: {what} is stored in {dataset.compression} chunks of {rows} rows, "
        f"so each row of a shuffled mini-batch decompresses {rows} rows; for "
        "training from disk store it uncompressed (h5py's create_dataset without "
        "chunks and compression: read like a .npy file) or in chunks of one row",
        PerformanceWarning,
        stacklevel=5,  # the caller of open_rows
    )


# --------------------------------------------------------------------- subsets


class RowSubset(RowSource):
    """The rows of ``source`` at ``index`` (sorted into increasing order): a
    split by index, nothing copied. Row ``i`` of the subset is row
    ``index[i]`` of the source."""

    def __init__(self, source, index):
        index = np.asarray(index)
        if index.ndim != 1 or index.dtype.kind not in "iu":
            raise ValueError(
                f"a subset's index must be 1-D integers; received {index.dtype} "
                f"of shape {index.shape}"
            )
        index = np.unique(index.astype(np.intp))
        if len(index) and (index[0] < 0 or index[-1] >= len(source)):
            raise ValueError(
                f"a subset's index must lie in 0..{len(source) - 1}; received "
                f"{index[0]}..{index[-1]}"
            )
        self.source, self.index = source, index
        self.path = source.path
        self.shape = (len(index), source.shape[1])
        self.dtype = source.dtype
        self.example_shape = source.example_shape

    def describe(self) -> str:
        return f"{len(self.index)} rows of {self.source.describe()}"

    def take(self, index, out):
        return self.source.take(self.index[index], out)

    def read(self, start: int, stop: int, out):
        rows = self.index[start:stop]
        if len(rows) and rows[-1] - rows[0] == len(rows) - 1:  # contiguous
            return self.source.read(int(rows[0]), int(rows[-1]) + 1, out)
        return self.source.take(rows, out)

    def rows(self, index) -> RowSubset:
        return RowSubset(self.source, self.index[np.asarray(index)])


# ----------------------------------------------------------------- entry points


def open_rows(path, key: str | None = None) -> RowSource:
    """The row source of ``path``: a ``.npy`` file (:class:`NpyRows`), a folder of
    ``.npy`` shards (:class:`NpyShards`) or an HDF5 file's dataset ``key``
    (:class:`H5Rows`; ``X`` or ``x`` by default)."""
    path = Path(path).expanduser()
    if path.is_dir():
        return NpyShards(path)
    suffix = path.suffix.lower()
    if suffix == ".npy":
        return NpyRows(path)
    if suffix in (".h5", ".hdf5"):
        return H5Rows(path, key)
    if not path.exists():
        raise FileNotFoundError(f"no such file: {path}")
    raise DataFileError(
        f"cannot read {path} as rows on disk: its type is {suffix or '(none)'!r}; "
        "rows on disk are a .npy file, a folder of .npy shards or an .h5/.hdf5 file"
    )


class _ArrayRows(RowSource):
    """A memory-mapped array (``np.load(path, mmap_mode="r")``) as a source."""

    def __init__(self, array):
        self.path = str(getattr(array, "filename", None) or "a memory-mapped array")
        self.example_shape = tuple(array.shape[1:])
        self.array = array.reshape(len(array), -1)
        self.shape, self.dtype = self.array.shape, self.array.dtype
        if self.dtype.kind not in _NUMBERS:
            raise ValueError(f"{self.path} holds {self.dtype} values, not numbers")

    def take(self, index, out):
        return _kernels.gather_rows(self.array, index, out)

    def read(self, start: int, stop: int, out):
        np.copyto(out, self.array[start:stop])
        return out


def is_row_source(X) -> bool:
    """True for rows that stay on disk: a :class:`RowSource` or a C-ordered
    ``np.memmap`` of at least two dimensions."""
    if isinstance(X, RowSource):
        return True
    return isinstance(X, np.memmap) and X.ndim >= 2 and X.flags.c_contiguous


def as_row_source(X) -> RowSource:
    """``X`` as a :class:`RowSource` (a memmap is wrapped, not read)."""
    return X if isinstance(X, RowSource) else _ArrayRows(X)


def _first_nonfinite(rows) -> tuple[int, int] | None:
    """``(row, feature)`` of the first NaN or infinite value of a block, or None
    (one float64 sum when every value is finite)."""
    if rows.dtype.kind != "f" or np.isfinite(rows.sum(dtype=np.float64)):
        return None
    found = np.argwhere(~np.isfinite(rows))
    return None if not len(found) else (int(found[0][0]), int(found[0][1]))


def scan_rows(source: RowSource) -> RowScan:
    """One pass over ``source`` in the file's order: the first NaN or infinite
    value (the pass stops there), and the per-feature moments of the rows
    (:class:`~glassnet.layers.preprocessing.RunningMoments`, float64)."""
    from glassnet.layers.preprocessing import RunningMoments

    moments = RunningMoments(source.shape[1])
    for start, rows in source.chunks():
        bad = _first_nonfinite(rows)
        if bad is not None:
            row, feature = bad
            value = rows[row, feature]
            return RowScan(moments, (start + row, feature, float(value)))
        moments.add(rows)
    return RowScan(moments, None)


def check_finite_rows(source: RowSource, name: str = "X") -> None:
    """Refuse a source holding NaN or infinity, naming the row (counting from 0
    in the source's order) and the feature."""
    bad = source.scan().bad
    if bad is not None:
        row, feature, value = bad
        raise ValueError(
            f"{name} ({source.describe()}): example {row}, feature {feature} is "
            f"{value}; clean or impute the data first"
        )
