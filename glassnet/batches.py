"""Mini-batches: the epoch's order of the examples and the batches cut from it.

The notes' mini-batch gradient descent shuffles the m examples each epoch and cuts
them into ``ceil(m / batch_size)`` batches, the last one smaller when batch_size
does not divide m. Data arrive as rows ``X (m, n[0])``; a batch reaches the
engine as its transpose ``X_batch.T (n[0], size)`` (a view), examples as columns.

Two sources of batches, one per kind of array:

- :class:`HostBatches` (NumPy): each batch is a row gather into a buffer reused
  every step (``_kernels.gather_rows``, compiled and threaded when available);
- :class:`DeviceBatches` (torch, cupy): the data go to the device once per ``fit``
  and each batch is gathered there;
- :class:`DiskBatches` (rows that stay on disk, :mod:`glassnet.data.on_disk`):
  each batch's indices are sorted, the rows read in increasing order (what a
  disk and HDF5's chunks are good at), converted to the model's dtype and put
  back in the batch's order, so the batch equals the in-memory gather bit for bit;
- :class:`StreamBatches` (Parquet rows, :mod:`glassnet.data.streams`): row groups
  through a shuffle buffer, in an order of their own (not the in-memory one).
"""

from __future__ import annotations

import numpy as np

from glassnet import _kernels
from glassnet.backend import permutation, to_namespace, to_numpy

__all__ = [
    "DeviceBatches",
    "DiskBatches",
    "HostBatches",
    "StreamBatches",
    "batch_order",
]


def _check_order(order, m: int, epoch: int):
    """``order`` as an array if it is a permutation of ``range(m)``, else raise."""
    order = np.asarray(order)
    problem = None
    if order.shape != (m,):
        problem = f"shape {order.shape}"
    elif order.dtype.kind not in "iu":
        problem = f"dtype {order.dtype}"
    elif m and (order.min() < 0 or order.max() >= m):
        problem = f"values from {order.min()} to {order.max()}"
    elif m and not np.all(np.bincount(order, minlength=m) == 1):
        problem = "repeated indices"
    if problem is not None:
        raise ValueError(
            f"shuffle(epoch, m) must return a permutation of range({m}); "
            f"received {problem} in epoch {epoch}"
        )
    return order


def batch_order(shuffle, rng, m: int, epoch: int):
    """The epoch's order of the m examples: a new permutation from ``rng`` when
    ``shuffle`` is True, None (the given order) when False, or a user's
    ``shuffle(epoch, m)``, checked to be a permutation of ``range(m)``."""
    if callable(shuffle):
        return _check_order(shuffle(epoch, m), m, epoch)
    if shuffle:
        return permutation(rng, m)
    return None


class HostBatches:
    """Batches of NumPy rows ``X (m, n[0])``, ``Y (m, n[L])``, gathered into two
    buffers reused every step (a batch is valid until the next one is drawn)."""

    def __init__(self, X, Y, batch_size: int, augment=None):
        self.X, self.Y, self.batch_size = X, Y, batch_size
        self.m = X.shape[0]
        self.augment = augment
        self.X_buffer = np.empty((batch_size, X.shape[1]), dtype=X.dtype)
        self.Y_buffer = np.empty((batch_size, Y.shape[1]), dtype=Y.dtype)

    def epoch(self, order, rng):
        """Yield ``(X_batch, Y_batch)`` rows for each batch of the epoch; with
        ``augment``, ``X_batch = augment(X_batch, rng)``."""
        for start in range(0, self.m, self.batch_size):
            stop = min(start + self.batch_size, self.m)
            if order is None:
                X_batch, Y_batch = self.X[start:stop], self.Y[start:stop]
            else:  # the order is a checked permutation
                index = order[start:stop]
                X_batch = _kernels.gather_rows(
                    self.X, index, self.X_buffer[: len(index)]
                )
                Y_batch = _kernels.gather_rows(
                    self.Y, index, self.Y_buffer[: len(index)]
                )
            if self.augment is not None:
                X_batch = np.asarray(self.augment(X_batch, rng), dtype=self.X.dtype)
            yield X_batch, Y_batch


class DeviceBatches:
    """Batches of rows held on a device (torch or cupy arrays ``X``, ``Y``, moved
    there once); ``order`` is moved there once per epoch."""

    def __init__(self, X, Y, batch_size: int, xp, device, augment=None):
        self.xp, self.device, self.dtype = xp, device, X.dtype
        self.X = to_namespace(X, xp, device)
        self.Y = to_namespace(Y, xp, device)
        self.batch_size = batch_size
        self.m = X.shape[0]
        self.augment = augment

    def device_order(self, order):
        """The epoch's order as a device int64 array (all rows when None)."""
        if order is None:
            return self.xp.arange(self.m, device=self.device)
        return to_namespace(order.astype(np.int64), self.xp, self.device)

    def epoch(self, order, rng):
        """Yield ``(X_batch, Y_batch)`` device rows for each batch of the epoch;
        ``augment`` runs on a host copy of the batch."""
        rows = None if order is None else self.device_order(order)
        for start in range(0, self.m, self.batch_size):
            stop = min(start + self.batch_size, self.m)
            if rows is None:
                X_batch, Y_batch = self.X[start:stop], self.Y[start:stop]
            else:
                index = rows[start:stop]
                X_batch, Y_batch = self.X[index], self.Y[index]
            if self.augment is not None:
                augmented = self.augment(to_numpy(X_batch), rng)
                X_batch = to_namespace(augmented, self.xp, self.device, self.dtype)
            yield X_batch, Y_batch


class DiskBatches:
    """Batches of rows read from a row source (:mod:`glassnet.data.on_disk`):
    ``X`` stays on disk, the targets ``Y (m, n[L])`` are in memory. For a batch
    ``index (k,)`` of the epoch's order::

        p      = argsort(index)            the batch's rows in increasing order
        R      = X[index[p]]               read from disk, then as the model's dtype
        X_b[p] = R,  i.e. X_b = R[q] with q[p] = 0..k-1

    which is ``X[index]``, the in-memory gather, bit for bit (the dtype
    conversion is per value, the same whether made on the whole array or a row).
    Buffers are reused every step (a batch is valid until the next one is drawn).
    ``device``: ``(xp, device)`` to move each batch to (torch, cupy), or None."""

    def __init__(self, source, Y, batch_size: int, dtype, augment=None, device=None):
        self.source, self.Y, self.batch_size = source, Y, batch_size
        self.m = source.shape[0]
        self.dtype = np.dtype(dtype)
        self.augment, self.device = augment, device
        n = source.shape[1]
        # two read buffers: the next batch is read while this one trains
        self.raws = [np.empty((batch_size, n), dtype=source.dtype) for _ in "ab"]
        self.raw = self.raws[0]
        self.sorted = np.empty((batch_size, n), dtype=self.dtype)
        self.X_buffer = np.empty((batch_size, n), dtype=self.dtype)
        self.Y_buffer = np.empty((batch_size, Y.shape[1]), dtype=Y.dtype)

    def _read(self, start: int, stop: int, index, raw):
        """Read the batch's rows into ``raw`` in increasing order; returns the
        sorting permutation p (None for rows ``start:stop`` in order)."""
        k = stop - start
        if index is None:
            self.source.read(start, stop, raw[:k])
            return None
        p = np.argsort(index, kind="stable")
        self.source.take(index[p], raw[:k])
        return p

    def _convert(self, raw, p, k: int):
        """The rows read, as the model's dtype, back in the batch's order."""
        converted = self.sorted[:k]
        np.copyto(converted, raw[:k], casting="unsafe")
        if p is None:
            return converted
        q = np.empty(k, dtype=np.intp)
        q[p] = np.arange(k)
        return _kernels.gather_rows(converted, q, self.X_buffer[:k])

    def epoch(self, order, rng):
        """Yield ``(X_batch, Y_batch)`` for each batch of the epoch; with
        ``augment``, ``X_batch = augment(X_batch, rng)``. One reader thread
        reads batch t + 1 (the GIL is released while the file is read) while
        batch t trains; the batches do not depend on it."""
        from concurrent.futures import ThreadPoolExecutor

        starts = range(0, self.m, self.batch_size)

        def read(number, reader):
            start = starts[number]
            stop = min(start + self.batch_size, self.m)
            index = None if order is None else order[start:stop]
            raw = self.raws[number % 2]
            return reader.submit(self._read, start, stop, index, raw)

        with ThreadPoolExecutor(1, thread_name_prefix="glassnet-reader") as reader:
            pending = read(0, reader) if len(starts) else None
            for number, start in enumerate(starts):
                p = pending.result()
                if number + 1 < len(starts):
                    pending = read(number + 1, reader)
                stop = min(start + self.batch_size, self.m)
                X_batch = self._convert(self.raws[number % 2], p, stop - start)
                yield self._finish(X_batch, start, stop, order, rng)

    def _finish(self, X_batch, start: int, stop: int, order, rng):
        """``(X_batch, Y_batch)``: the targets gathered, the augmentation, the
        move to the device."""
        if order is None:
            Y_batch = self.Y[start:stop]
        else:
            index = order[start:stop]
            Y_batch = _kernels.gather_rows(self.Y, index, self.Y_buffer[: len(index)])
        if self.augment is not None:
            X_batch = np.asarray(self.augment(X_batch, rng), dtype=self.dtype)
        if self.device is not None:
            xp, device = self.device
            X_batch = to_namespace(X_batch, xp, device)
            Y_batch = to_namespace(Y_batch, xp, device)
        return X_batch, Y_batch


class StreamBatches(DiskBatches):
    """Batches of Parquet rows (:class:`glassnet.data.streams.ParquetRows`) drawn
    through a shuffle buffer: :meth:`epoch_order` plans the epoch from the rng
    (:func:`glassnet.data.streams.shuffle_plan`: the order the rows come in,
    which the labels and the training metrics follow), :meth:`epoch` replays the
    plan on the rows: load the row groups into the buffer, gather the drawn
    slots, move the tail's rows into the holes. Without shuffling, the rows come
    in the file's order."""

    def __init__(self, source, Y, batch_size: int, dtype, augment=None, device=None):
        super().__init__(source, Y, batch_size, dtype, augment, device)
        capacity = max(source.buffer_rows, batch_size) + int(source.group_sizes.max())
        self.buffer = np.empty((capacity, source.shape[1]), dtype=source.dtype)
        self.plan = None

    def epoch_order(self, order, rng):
        """None (the file's order) when ``order`` is None, else the shuffle
        buffer's order for this epoch, planned from ``rng``."""
        from glassnet.data.streams import shuffle_plan

        self.plan = None
        if order is None:
            return None
        source = self.source
        self.plan = shuffle_plan(
            source.group_sizes, source.buffer_rows, self.batch_size, rng
        )
        return self.plan.order

    def _drawn_rows(self, step, k: int):
        """Replay one planned step on the buffer; the drawn rows in the model's
        dtype."""
        loads, drawn, holes, movers = step
        for group, slot in loads:
            rows = self.source.group(group)
            self.buffer[slot : slot + len(rows)] = rows
        raw = _kernels.gather_rows(self.buffer, drawn, self.raw[:k])
        self.buffer[holes] = self.buffer[movers]
        converted = self.X_buffer[:k]
        np.copyto(converted, raw, casting="unsafe")
        return converted

    def epoch(self, order, rng):
        if self.plan is None:
            yield from super().epoch(None, rng)
            return
        for step, start in zip(
            self.plan.steps, range(0, self.m, self.batch_size), strict=True
        ):
            stop = min(start + self.batch_size, self.m)
            X_batch = self._drawn_rows(step, stop - start)
            yield self._finish(X_batch, start, stop, order, rng)
