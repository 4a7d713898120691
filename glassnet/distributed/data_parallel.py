"""One epoch of data-parallel training: every process steps on its shard of every
global mini-batch, and one ``all_reduce`` makes their gradients the global batch's.

The notes' mini-batch step on a global batch of M examples (columns), split over
N processes into contiguous shards of m_r examples (``sum_r m_r = M``; sizes differ
by one at most, the first processes taking the extra ones, so an uneven last batch
is split too)::

    process r:  A[L]_r = forward(X_r)              its m_r columns of the batch
                J_r, dW_r = (1/m_r) dZ_r A_r^T ...  glassnet's own engine, as in fit
                dW_r *= m_r / M                     weighted by its examples
    all:        dW = sum_r dW_r                     one all_reduce (SUM) over the
                   = (1/M) dZ A^T                   flat gradient buffer, in place
                update(params, dW)                  the same step on every process

so the weights after each step are the single process's for the same global batch
(up to the rounding of the products: tested to 1e-12 relative in float64 after 50
Adam steps). The regularizer's term ``(lambda/m) W`` is the same on every shard, so
only process 0 adds it (``(lambda/m_0) W * m_0/M = (lambda/M) W``), and only
process 0's cost carries it; the epoch's cost is ``sum_r sum_t J_rt m_rt / m``, one
more all_reduce an epoch.

Rows that stay on disk (an ``.npy`` file or folder, HDF5: :mod:`glassnet.data.on_disk`)
are read shard by shard, each process reading only its rows; rows streamed through a
Parquet shuffle buffer are refused (their order is not a permutation to shard).

Every process draws the epoch's order from the same stream (``fit``'s rng, seeded
alike), checked at the start with the weights and the data's size: processes that
disagree stop with :class:`~glassnet.distributed.group.DistributedError` instead of
training different models.

Random streams of their own (:func:`rank_generator`): each Dropout layer's masks and
the augmentation come, in epoch ``e`` on process ``r``, from a generator seeded by
``(the layer's saved stream, r, e)``, so masks differ by process and are
reproducible from the seed and the rank; the saved streams never advance, so a
checkpoint holds nothing rank-specific and a run resumes with any N.

Batch norm: **per-process statistics**. Each process normalizes its shard with the
shard's own mean and variance (PyTorch DistributedDataParallel's default; the
gradients of gamma and beta are averaged like every other), so with batch norm the
result depends on N, as the batch size does. The running statistics each process
keeps are averaged over the processes at the end of every epoch, so that every
process, the validation scores and the checkpoint see the same ones.
"""

from __future__ import annotations

import contextlib
import copy
import json
import zlib

import numpy as np

from glassnet import _kernels
from glassnet.backend import to_namespace, to_numpy
from glassnet.distributed.group import DistributedError
from glassnet.layers import BatchNorm, Dense, Dropout
from glassnet.training import step_on_rows

__all__ = ["DataParallelEpochs", "rank_generator", "shard_bounds"]


def shard_bounds(size: int, rank: int, world_size: int) -> tuple[int, int]:
    """``(start, stop)`` of process ``rank``'s contiguous shard of ``size``
    examples: ``size // N`` each, the first ``size % N`` processes one more."""
    quotient, remainder = divmod(size, world_size)
    start = rank * quotient + min(rank, remainder)
    return start, start + quotient + (1 if rank < remainder else 0)


def _stream_key(rng) -> int:
    """A 63-bit number drawn from a copy of ``rng`` (``rng`` itself does not move)."""
    twin = copy.deepcopy(rng)
    if isinstance(twin, np.random.RandomState):
        return int(twin.randint(0, 2**31 - 1))
    return int(twin.integers(0, 2**63 - 1))


def rank_generator(rng, rank: int, epoch: int) -> np.random.Generator:
    """The generator process ``rank`` uses in ``epoch`` for a stream whose saved
    state is ``rng``: seeded by ``SeedSequence(key(rng), spawn_key=(rank, epoch))``,
    so it differs by process and by epoch and is the same in every run."""
    sequence = np.random.SeedSequence(_stream_key(rng), spawn_key=(rank, epoch))
    return np.random.default_rng(sequence)


def _crc(data: bytes) -> int:
    return zlib.crc32(data) & 0xFFFFFFFF


class DataParallelEpochs:
    """``runner(epoch, order) -> (total cost, first learning rate, predictions,
    their order)``, the epoch runner ``fit`` uses when given ``distributed=group``
    (see the module)."""

    def __init__(self, run, group):
        self.run, self.group = run, group
        model = run.model
        if run.capture:
            raise ValueError(
                "capture=True (a CUDA graph of the whole step) is not available in "
                "data-parallel training; leave it False"
            )
        self._check_device(model)
        self.on_disk = getattr(run.X, "on_disk", False) is True  # a row source (D39)
        if getattr(run.X, "streamed", False):
            raise ValueError(
                f"data-parallel training shards an order of the rows, which rows "
                f"streamed through a shuffle buffer ({run.X.describe()}) do not "
                "have; convert them to .npy or HDF5, or train in one process"
            )
        self.xp, self.dtype = model.xp, model.dtype
        self.X, self.Y = run.X, run.Y
        if not run.on_numpy:
            if not self.on_disk:  # the data go to the device once, as in fit
                self.X = to_namespace(run.X, model.xp, model.device)
            self.Y = to_namespace(run.Y, model.xp, model.device)
            if not run.multipliers and len(run.params) == len(model.params):
                run.optimizer.bind(
                    run.params, run.grads, model.flat_params, model.flat_grads
                )
        size = shard_bounds(run.batch_size, 0, group.world_size)
        size = size[1] - size[0]
        self.X_buffer = np.empty((size, run.X.shape[1]), dtype=self.dtype)
        self.Y_buffer = np.empty((size, run.Y.shape[1]), dtype=run.Y.dtype)
        self.dropouts = [layer for layer in model.layers if isinstance(layer, Dropout)]
        self.batchnorms = [
            layer
            for layer in model.layers
            if isinstance(layer, BatchNorm)
            and layer.trainable
            and layer.use_batch_statistics is not False
        ]
        self._check_agreement()

    def _check_device(self, model) -> None:
        if self.group.backend == "nccl" and model.backend != "torch":
            raise ValueError(
                f"the process group uses nccl, which carries CUDA tensors, but the "
                f"model is on the {model.backend} backend; train with "
                "fit(backend='torch', device=group.device, distributed=group), or "
                "join with glassnet.distributed.init() (gloo) for NumPy models"
            )

    def _fingerprint(self) -> dict:
        """What every process must agree on before the first step."""
        run = self.run
        weights = to_numpy(run.model.flat_params)
        rows = np.ascontiguousarray(run.X[: min(run.m, 64)])  # a row source reads
        last = np.ascontiguousarray(run.X[max(run.m - 64, 0) : run.m])  # them too
        return {
            "the number of examples": run.m,
            "the number of features": run.X.shape[1],
            "the batch size": run.batch_size,
            "the number of epochs": run.epochs,
            "the epoch to start from": run.initial_epoch,
            "the weights": _crc(np.ascontiguousarray(weights).tobytes()),
            "the data's first and last rows": _crc(rows.tobytes() + last.tobytes()),
            "the targets": _crc(np.ascontiguousarray(run.Y).tobytes()),
            "the shuffling stream (seed)": _crc(
                json.dumps(_stream_key(run.rng)).encode()
            ),
            "the optimizer's step count": run.optimizer.t,
        }

    def _check_agreement(self) -> None:
        fingerprint = self._fingerprint()
        values = np.array(list(fingerprint.values()), dtype=np.float64)
        low, high = self.group.all_reduce_extremes(values)
        differing = [
            name for name, a, b in zip(fingerprint, low, high, strict=True) if a != b
        ]
        if differing:
            raise DistributedError(
                f"the {self.group.world_size} processes of this data-parallel run do "
                f"not agree on {', '.join(differing)}; every process must build the "
                "same model from the same seed and read the same data and settings"
            )

    def _check_order(self, order, epoch: int) -> None:
        """Every process shards the same order (a user's ``shuffle(epoch, m)`` must
        give the same permutation everywhere): two tiny all_reduces an epoch."""
        fingerprint = _crc(np.ascontiguousarray(order, dtype=np.int64).tobytes())
        low, high = self.group.all_reduce_extremes(
            [fingerprint], "the epoch's order check"
        )
        if low[0] != high[0]:
            raise DistributedError(
                f"the processes of this data-parallel run drew different orders of "
                f"the examples for epoch {epoch}; shuffle(epoch, m) must return the "
                "same permutation in every process (seed it from the epoch)"
            )

    # -- one epoch ---------------------------------------------------------------
    def __call__(self, epoch: int, order):
        run, group = self.run, self.group
        if order is None:
            order = np.arange(run.m)
        self._check_order(order, epoch)
        saved = [layer.rng for layer in self.dropouts]
        try:
            for layer in self.dropouts:
                layer.rng = rank_generator(layer.rng, group.rank, epoch)
                layer._device_generator = None  # reseeded from the new stream
            augment_rng = rank_generator(run.rng, group.rank, epoch)
            with self._regularizers_on_main():
                total, rate, seen = self._steps(epoch, order, augment_rng)
        finally:
            for layer, rng in zip(self.dropouts, saved, strict=True):
                layer.rng = rng
                layer._device_generator = None
        total = self._sum([float(to_numpy(total))])[0]
        self._average_running_statistics()
        predictions, seen_order = None, None
        if seen is not None:
            predictions, seen_order = self._gather_predictions(seen)
        return total, rate, predictions, seen_order

    @contextlib.contextmanager
    def _regularizers_on_main(self):
        """On processes other than 0, the layers' own regularizers are off during
        the steps (process 0 adds every regularization term; see the module)."""
        if self.group.is_main:
            yield
            return
        dense = [layer for layer in self.run.model.layers if isinstance(layer, Dense)]
        own = [layer.regularizer for layer in dense]
        try:
            for layer in dense:
                layer.regularizer = None
            yield
        finally:
            for layer, regularizer in zip(dense, own, strict=True):
                layer.regularizer = regularizer

    def _shard(self, index, rng):
        """This process's rows of the global batch ``index`` (rows of X, Y)."""
        run, device = self.run, self.run.model.device
        count = len(index)
        if self.on_disk:  # the source reads them in increasing order (D39)
            X_rows = self.X_buffer[:count]
            X_rows[...] = run.X[index]  # to the model's dtype, value by value
            Y_rows = _kernels.gather_rows(run.Y, index, self.Y_buffer[:count])
            if not run.on_numpy:
                X_rows = to_namespace(X_rows, self.xp, device)
                Y_rows = self.Y[to_namespace(index.astype(np.int64), self.xp, device)]
        elif run.on_numpy:
            X_rows = _kernels.gather_rows(run.X, index, self.X_buffer[:count])
            Y_rows = _kernels.gather_rows(run.Y, index, self.Y_buffer[:count])
        else:
            device_index = to_namespace(index.astype(np.int64), self.xp, device)
            X_rows, Y_rows = self.X[device_index], self.Y[device_index]
        if run.augment is not None:
            augmented = np.asarray(run.augment(to_numpy(X_rows), rng), self.dtype)
            X_rows = (
                augmented
                if run.on_numpy
                else to_namespace(augmented, self.xp, device, self.dtype)
            )
        return X_rows, Y_rows

    def _steps(self, epoch: int, order, augment_rng):
        run, group = self.run, self.group
        total = 0.0
        learning_rate = run.optimizer.learning_rate
        seen = ([], []) if run.metrics else None
        for batch, start in enumerate(range(0, run.m, run.batch_size)):
            index = order[start : min(start + run.batch_size, run.m)]
            low, high = shard_bounds(len(index), group.rank, group.world_size)
            batch_logs = {"batch": batch, "size": len(index)}
            run.callbacks.batch_begin(batch, batch_logs)
            if run.schedule is not None:
                run.optimizer.learning_rate = run.schedule(epoch, run.optimizer.t)
            if batch == 0:
                learning_rate = run.optimizer.learning_rate
            if high > low:
                cost = self._step(index[low:high], len(index), augment_rng, seen)
                total = total + cost * (high - low)
            else:  # no examples here: a zero contribution to the all_reduce
                self._empty_step()
            run.callbacks.batch_end(batch, batch_logs)
        return total, learning_rate, seen

    def _reducer(self, local: int, size: int):
        """The hook ``train_step`` calls between backward and the update: weight
        this process's gradients by its share of the batch, then sum them all."""
        grads = self.run.model.flat_grads
        share = local / size

        def reduce_gradients(model) -> None:
            if share != 1.0:
                grads[...] *= share
            self.group.all_reduce_sum(grads)

        return reduce_gradients

    def _step(self, index, size: int, augment_rng, seen):
        run = self.run
        X_rows, Y_rows = self._shard(index, augment_rng)
        on_output = None
        if seen is not None:

            def on_output(AL) -> None:
                seen[0].append(np.array(index))
                seen[1].append(run.model.outputs_to_predictions(to_numpy(AL).T))

        return step_on_rows(
            run,
            X_rows,
            Y_rows,
            on_output,
            with_regularizer=self.group.is_main,
            reduce_gradients=self._reducer(len(index), size),
        )

    def _empty_step(self) -> None:
        run = self.run
        grads = run.model.flat_grads
        grads[...] = 0
        self.group.all_reduce_sum(grads)
        with contextlib.nullcontext() if run.fast else _kernels.reference_only():
            run.optimizer.update(
                run.params,
                run.grads,
                multipliers=run.multipliers,
                reference=not run.fast,
            )

    # -- after the steps -----------------------------------------------------------
    def _sum(self, values) -> np.ndarray:
        """The sums over the processes of a few float64 numbers."""
        import torch

        tensor = torch.tensor(values, dtype=torch.float64)
        if self.group.backend == "nccl":
            tensor = tensor.to(self.group.device)
        self.group.all_reduce_sum(tensor, "the epoch's cost all_reduce")
        return tensor.cpu().numpy()

    def _average_running_statistics(self) -> None:
        """Batch norm's running mean and variance, averaged over the processes."""
        if not self.batchnorms:
            return
        xp = self.xp
        arrays = [
            layer.state[name]
            for layer in self.batchnorms
            for name in ("running_mean", "running_var")
        ]
        flat = xp.concat([xp.reshape(array, (-1,)) for array in arrays])
        if not isinstance(flat, np.ndarray):
            flat = flat.contiguous()
        self.group.all_reduce_sum(flat, "averaging batch norm's running statistics")
        flat /= self.group.world_size
        offset = 0
        for array in arrays:
            size = int(np.prod(array.shape))
            array[...] = xp.reshape(flat[offset : offset + size], array.shape)
            offset += size

    def _gather_predictions(self, seen):
        """Every process's (rows, predictions) of the epoch, as one list of
        predictions and the rows they are for."""
        mine = (
            np.concatenate(seen[0]) if seen[0] else np.empty(0, dtype=np.int64),
            np.concatenate(seen[1]) if seen[1] else None,
        )
        everyone = self.group.all_gather_object(mine)
        order = np.concatenate([rows for rows, _ in everyone])
        predictions = [labels for _, labels in everyone if labels is not None]
        return predictions, order
