"""Rows that stay on disk at the model's boundary: ``fit``, ``evaluate``, ``predict``.

``fit``, ``evaluate`` and ``predict`` take, in place of an array ``X (m, n[0])``,
rows that stay on disk (:mod:`glassnet.data.on_disk`: ``open_rows("X.npy")``, a
folder of ``.npy`` shards, an HDF5 dataset, a split of one by index, or an
``np.load(path, mmap_mode="r")`` memmap). This module is the boundary's side of
it, kept free of imports beyond NumPy so that ``import glassnet`` costs nothing
more (the data package loads only when such rows arrive):

- :func:`is_on_disk` tells such rows from an array;
- :func:`checked_rows` is ``validate_data``'s twin: the model's number of
  features, the labels (in memory: a few bytes an example) of the same length,
  and every value finite, checked in one streaming pass that the source keeps
  (``Standardization.adapt`` on the same rows reuses it);
- :class:`RowsInDtype` gives ``predict``'s chunked loop blocks of rows read and
  converted to the model's dtype, so ``predict`` and ``evaluate`` stream too (the
  outputs, ``n[L]`` values an example, are held in memory).
"""

from __future__ import annotations

import numpy as np

__all__ = ["RowsInDtype", "as_source", "checked_rows", "is_on_disk"]


def is_on_disk(X) -> bool:
    """True for rows that stay on disk: a row source of :mod:`glassnet.data.on_disk`
    or a C-ordered ``np.memmap`` of at least two dimensions."""
    if getattr(X, "on_disk", False) is True:
        return True
    return isinstance(X, np.memmap) and X.ndim >= 2 and X.flags.c_contiguous


def as_source(X):
    """``X`` (rows on disk) as a row source: a memmap is wrapped, not read."""
    from glassnet.data.on_disk import as_row_source

    return as_row_source(X)


def _check_features(model, source, name: str) -> None:
    n = source.shape[1]
    if n != model.n_x:
        raise ValueError(
            f"X{name} ({source.describe()}) has {n} features per example but the "
            f"model was built for {model.n_x}"
        )


def checked_rows(model, X, y, *, name: str = ""):
    """``(source, y)`` for rows on disk ``X`` and labels ``y``, checked as
    :func:`glassnet.evaluation.validate_data` checks arrays: the model's number
    of features, one label per row, finite values (one streaming pass, kept)."""
    from glassnet.data.on_disk import check_finite_rows
    from glassnet.evaluation import validate_labels

    source = as_source(X)
    _check_features(model, source, name)
    if y is None:
        raise ValueError(
            f"y{name} is None; rows on disk take their labels as an array (m,) "
            "(e.g. np.load('y.npy'))"
        )
    y = validate_labels(model, y, name=name)
    if len(y) != len(source):
        raise ValueError(
            f"X{name} and y{name} must have the same number of examples (rows); "
            f"received X{name} ({source.describe()}) has {len(source)} and "
            f"y{name} has {len(y)}"
        )
    check_finite_rows(source, f"X{name}")
    return source, y


class RowsInDtype:
    """Row blocks of a source in the model's dtype: ``rows[start:stop]`` reads
    rows ``start:stop`` and converts them (``predict``'s chunked loop)."""

    def __init__(self, source, dtype):
        self.source, self.dtype = source, np.dtype(dtype)
        self.shape = source.shape

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, rows: slice) -> np.ndarray:
        start, stop, step = rows.indices(self.shape[0])
        if step != 1:
            raise ValueError("rows on disk are read in blocks of consecutive rows")
        raw = np.empty((max(stop - start, 0), self.shape[1]), self.source.dtype)
        if len(raw):
            self.source.read(start, stop, raw)
        return raw.astype(self.dtype, copy=False)


def rows_for_inference(model, X) -> RowsInDtype:
    """Rows on disk checked for ``predict`` (features; finite, streamed) as
    blocks in the model's dtype."""
    from glassnet.data.on_disk import check_finite_rows

    source = as_source(X)
    _check_features(model, source, "")
    check_finite_rows(source, "X")
    return RowsInDtype(source, model.dtype)
