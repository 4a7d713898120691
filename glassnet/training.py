"""``fit``: epochs of mini-batch steps, with callbacks, validation and checkpoints.

``fit(model, X, y, ...)`` takes rows (``X (m, n[0])``, ``y (m,)``). The pieces:

- :func:`glassnet.training_setup.prepare_training` checks every argument and
  prepares the run before the first epoch;
- each epoch cuts the data into mini-batches (:mod:`glassnet.batches`) and takes one
  :func:`glassnet.step.train_step` per batch, the notes' step::

      AL = model.forward(X_batch.T, training=True)
      J  = model.compute_cost(AL, Y_batch.T, loss, regularizer=regularizer)
      model.backward(AL, Y_batch.T, loss, regularizer=regularizer)
      optimizer.update(params, grads)

  (with ``capture=True`` on a CUDA device, full batches replay that step recorded
  as a CUDA graph, :mod:`glassnet.capture`);
- after each epoch: the divergence guard (:mod:`glassnet.guard`), the logs (cost,
  learning rate, gradient norms, metrics, validation scores), the callbacks, and a
  checkpoint (:mod:`glassnet.checkpointing`).

The epoch's cost is the mean over the epoch's examples of the per-batch costs
(``sum_t J_t m_t / m``; with one full batch it is exactly the course's printed cost
at that iteration, computed before the update). ``fast=False`` runs the notes'
reference path: nothing compiled, no threads of glassnet's own, fresh arrays in
every pass and each optimizer's ``reference_step``.
"""

from __future__ import annotations

import contextlib
import math

import numpy as np

from glassnet import _kernels
from glassnet.backend import to_numpy
from glassnet.batches import (
    DeviceBatches,
    DiskBatches,
    HostBatches,
    StreamBatches,
    batch_order,
)
from glassnet.checkpointing import write_checkpoint
from glassnet.evaluation import metric_values, validation_logs
from glassnet.guard import DivergenceGuard, gradient_norms
from glassnet.out_of_core import is_on_disk
from glassnet.step import fast_path, train_step
from glassnet.training_setup import TrainingRun, prepare_training

__all__ = ["fit"]


def fit(
    model,
    X,
    y,
    *,
    epochs: int = 1,
    batch_size: int | None = 64,
    optimizer="gd",
    loss=None,
    regularizer=None,
    schedule=None,
    validation_data=None,
    callbacks=(),
    metrics=(),
    rng=None,
    verbose: bool = True,
    shuffle=True,
    augment=None,
    dtype=None,
    nan_guard: bool = True,
    checkpoint=None,
    checkpoint_every: int = 1,
    resume=None,
    backend: str | None = None,
    device=None,
    capture: bool = False,
    fast: bool = True,
    distributed=None,
):
    """Train ``model`` on rows ``X (m, n[0])``, ``y``; return the History.

    ``X`` may stay on disk: ``glassnet.data.open_rows(path)`` (a ``.npy`` file, a
    folder of ``.npy`` shards, an HDF5 dataset), a split of one (``rows(index)``),
    ``ParquetRows`` or an ``np.memmap``; each batch is read from the file, with
    the bits of the in-memory run (Parquet: a shuffle buffer's order instead;
    architecture D39).

    ``batch_size``: examples per mini-batch (``None`` or >= m: full batch; 1:
    stochastic). ``optimizer``: a name ("gd", "momentum", "rmsprop", "adam") or an
    Optimizer. ``loss``: inferred from the output activation when None.
    ``regularizer``: L2/L1 for every Dense layer without its own (it applies to
    this fit only: nothing stays attached to the layers). ``schedule``: a callable
    ``(epoch, step) -> learning_rate``. ``shuffle``: True (a new permutation from
    ``rng`` each epoch), False, or a callable ``(epoch, m) -> order``.
    ``augment``: a callable ``(X_batch, rng) -> X_batch`` applied in training only.
    ``dtype`` ("float32" by default, or "float64") is the one the model is built in
    when fit builds it; a model already built in another dtype is refused.
    ``rng`` seeds the weights (if the model is not built yet), the shuffling and the
    augmentation. ``nan_guard`` stops with :class:`DivergenceError` when parameters
    become NaN/inf, keeping the weights from the start of that epoch.

    ``checkpoint=PATH`` writes a checkpoint (weights, optimizer moments and step
    count, rng states, epoch, History) atomically every ``checkpoint_every`` epochs
    and after the last one. ``resume=PATH`` continues from such a checkpoint: then
    ``epochs`` is the total (Keras' convention), training starts after the
    checkpoint's epoch, and the result is bitwise what an uninterrupted run gives.
    The optimizer given here supplies the hyperparameters (resume with a new
    learning rate, the "babysitting" workflow); its moments and step count come from
    the checkpoint when it is of the same kind.

    ``backend`` ("numpy", "torch", "cupy") and ``device`` move the model there first
    (it is built there if new); the data then go to the device once, mini-batches
    are gathered there, and dropout masks are drawn there. ``capture=True`` (torch
    on CUDA) records one whole step as a CUDA graph and replays it
    (:mod:`glassnet.capture`); training metrics are then measured after each epoch.

    ``fast=False`` runs the notes' reference path (slower; the same numbers up to
    the last bits of the products, see ``docs/architecture.md``); the default runs
    the accelerations, which ``glassnet.show_config()`` lists.

    ``distributed``: a :class:`glassnet.distributed.ProcessGroup`
    (``glassnet.distributed.init()``) to train data-parallel: every process of the
    group calls ``fit`` with the same model, seed and data, steps on its shard of
    each mini-batch, and the gradients are summed over the processes before the
    same update everywhere (:mod:`glassnet.distributed.data_parallel`); only
    process 0 writes the checkpoint and shows the progress bar.
    """
    run = prepare_training(
        model,
        X,
        y,
        epochs=epochs,
        batch_size=batch_size,
        optimizer=optimizer,
        loss=loss,
        regularizer=regularizer,
        schedule=schedule,
        validation_data=validation_data,
        callbacks=callbacks,
        metrics=metrics,
        rng=rng,
        verbose=verbose,
        shuffle=shuffle,
        augment=augment,
        dtype=dtype,
        nan_guard=nan_guard,
        checkpoint=checkpoint,
        checkpoint_every=checkpoint_every,
        resume=resume,
        backend=backend,
        device=device,
        capture=capture,
        fast=fast,
        distributed=distributed,
    )
    return _train(run)


def _accelerations(run: TrainingRun):
    """The context the epochs run in: the reference path (nothing compiled) when
    ``fast=False``; glassnet's threads for the products and the compiled passes on
    float32 NumPy data (``_kernels.parallel``); else nothing."""
    if not run.fast:
        return _kernels.reference_only()
    if run.on_numpy:
        _kernels.warn_if_unavailable()
        if run.model.dtype == np.float32:  # (rows on disk keep the file's dtype)
            return _kernels.parallel()
    return contextlib.nullcontext()


def _epoch_runner(run: TrainingRun):
    """``runner(epoch, order) -> (total cost, first learning rate, predictions,
    their order)`` for the run's kind of arrays: NumPy batches, device batches, or
    device batches with the full ones replayed from a captured CUDA graph."""
    model = run.model
    if run.distributed is not None:  # shards of each batch, gradients summed
        from glassnet.distributed.data_parallel import DataParallelEpochs

        return DataParallelEpochs(run, run.distributed)
    if run.capture:
        from glassnet.capture import check_capturable

        check_capturable(model, augment=run.augment, multipliers=run.multipliers)
    if is_on_disk(run.X):  # read batch by batch (D39); no captured graph
        if run.capture:
            raise ValueError(
                "capture=True replays a graph over data held on the device; rows on "
                f"disk ({run.X.describe()}) are read batch by batch: drop capture"
            )
        device = None if run.on_numpy else (model.xp, model.device)
        if getattr(run.X, "streamed", False):  # Parquet: a shuffle buffer's order
            if callable(run.shuffle):
                raise ValueError(
                    "Parquet rows come in their shuffle buffer's order; "
                    "shuffle=callable needs rows read by index (.npy, HDF5)"
                )
            batches = StreamBatches(
                run.X, run.Y, run.batch_size, model.dtype, run.augment, device
            )
            return lambda epoch, order: _eager_epoch(
                run, epoch, batches.epoch_order(order, run.rng), batches
            )
        batches = DiskBatches(
            run.X, run.Y, run.batch_size, model.dtype, run.augment, device
        )
        return lambda epoch, order: _eager_epoch(run, epoch, order, batches)
    if run.on_numpy:
        batches = HostBatches(run.X, run.Y, run.batch_size, run.augment)
        return lambda epoch, order: _eager_epoch(run, epoch, order, batches)
    batches = DeviceBatches(
        run.X, run.Y, run.batch_size, model.xp, model.device, run.augment
    )
    if not run.multipliers and len(run.params) == len(model.params):
        # every parameter trains: the optimizer sweeps the model's flat buffers
        run.optimizer.bind(run.params, run.grads, model.flat_params, model.flat_grads)
    if not run.capture:
        return lambda epoch, order: _eager_epoch(run, epoch, order, batches)
    from glassnet.capture import CapturedStep

    captured = None
    if run.m >= run.batch_size:
        captured = CapturedStep(
            model,
            run.loss,
            run.optimizer,
            run.params,
            run.grads,
            batches.X,
            batches.Y,
            run.batch_size,
            regularizer=run.regularizer,
        )
    return lambda epoch, order: _captured_epoch(run, epoch, order, batches, captured)


def _train(run: TrainingRun):
    """The epochs; the layers' training buffers are dropped however they end."""
    model = run.model
    runner = _epoch_runner(run)
    guard = DivergenceGuard(model) if run.nan_guard else None
    model.stop_training = False
    run.callbacks.train_begin({})
    try:
        with _accelerations(run), fast_path(model, run.fast):
            for epoch in range(run.initial_epoch, run.epochs):
                _epoch(run, epoch, runner, guard)
                if model.stop_training:
                    break
    except BaseException as error:
        run.callbacks.train_error(error)  # progress bars closed, trackers told
        raise
    run.callbacks.train_end({})
    return run.history


def _epoch(run: TrainingRun, epoch: int, runner, guard) -> None:
    """One epoch: the steps, then the guard, the logs, the callbacks and the
    checkpoint."""
    model = run.model
    logs: dict = {}
    run.callbacks.epoch_begin(epoch, logs)
    if guard is not None:
        guard.start_epoch()
    order = batch_order(run.shuffle, run.rng, run.m, epoch)
    total, learning_rate, predictions, seen_order = runner(epoch, order)
    epoch_cost = total / run.m
    if guard is not None:
        error = guard.check(epoch, epoch_cost, learning_rate, run.history)
        if error is not None:
            raise error
    logs["cost"] = epoch_cost
    logs["learning_rate"] = learning_rate
    if run.metrics:
        labels = run.labels_true if seen_order is None else run.labels_true[seen_order]
        logs.update(metric_values(run.metrics, labels, np.concatenate(predictions)))
    logs.update(gradient_norms(model))
    if run.validation is not None:
        X_val, Y_val = run.validation
        logs.update(
            validation_logs(model, X_val, Y_val, run.loss, run.metrics, run.regularizer)
        )
    run.callbacks.epoch_end(epoch, logs)
    last = epoch == run.epochs - 1 or model.stop_training
    if run.checkpoint is not None and ((epoch + 1) % run.checkpoint_every == 0 or last):
        write_checkpoint(
            model, run.checkpoint, run.optimizer, run.history, run.rng, epoch
        )


def _learning_rate(run: TrainingRun, epoch: int) -> float:
    """Set the optimizer's rate for the next step from the schedule (if any)."""
    if run.schedule is not None:
        run.optimizer.learning_rate = run.schedule(epoch, run.optimizer.t)
    return run.optimizer.learning_rate


def step_on_rows(
    run: TrainingRun,
    X_rows,
    Y_rows,
    on_output=None,
    *,
    with_regularizer: bool = True,
    reduce_gradients=None,
):
    """:func:`train_step` on a mini-batch of rows (the engine takes their
    transposes: examples as columns) with the run's model, optimizer, loss and
    buffers. Data-parallel training (D38) passes ``reduce_gradients`` and leaves
    the regularizer's term to process 0 (``with_regularizer=False`` elsewhere)."""
    return train_step(
        run.model,
        X_rows.T,
        Y_rows.T,
        run.optimizer,
        loss=run.loss,
        regularizer=run.regularizer if with_regularizer else None,
        params=run.params,
        grads=run.grads,
        multipliers=run.multipliers,
        fast=run.fast,
        on_output=on_output,
        reduce_gradients=reduce_gradients,
    )


def _eager_epoch(run: TrainingRun, epoch: int, order, batches):
    """One :func:`train_step` per mini-batch. On NumPy a batch whose cost is NaN
    ends the epoch (the guard then restores the weights)."""
    total = 0.0
    learning_rate = run.optimizer.learning_rate
    predictions = [] if run.metrics else None

    def keep_predictions(AL) -> None:
        predictions.append(run.model.outputs_to_predictions(to_numpy(AL).T))

    for batch, (X_batch, Y_batch) in enumerate(batches.epoch(order, run.rng)):
        size = X_batch.shape[0]
        batch_logs = {"batch": batch, "size": size}
        run.callbacks.batch_begin(batch, batch_logs)
        rate = _learning_rate(run, epoch)
        learning_rate = rate if batch == 0 else learning_rate
        cost = step_on_rows(
            run, X_batch, Y_batch, None if predictions is None else keep_predictions
        )
        total = total + cost * size  # on a device: summed there, one copy an epoch
        if run.on_numpy:
            if run.nan_guard and math.isnan(cost):
                break
            batch_logs["cost"] = cost
        run.callbacks.batch_end(batch, batch_logs)
    return float(total), learning_rate, predictions, order


def _captured_epoch(run: TrainingRun, epoch: int, order, batches, captured):
    """Full batches replay the captured step; the partial last one runs eagerly.
    Training metrics are measured after the epoch (the graph keeps no outputs)."""
    rows = batches.device_order(order)
    total = 0.0
    learning_rate = run.optimizer.learning_rate
    for batch, start in enumerate(range(0, run.m, run.batch_size)):
        stop = min(start + run.batch_size, run.m)
        batch_logs = {"batch": batch, "size": stop - start}
        rate = _learning_rate(run, epoch)
        learning_rate = rate if batch == 0 else learning_rate
        run.callbacks.batch_begin(batch, batch_logs)
        if captured is not None and stop - start == run.batch_size:
            captured.run(rows[start:stop], rate)
        else:
            index = rows[start:stop]
            cost = step_on_rows(run, batches.X[index], batches.Y[index])
            total = total + cost * (stop - start)
        run.callbacks.batch_end(batch, batch_logs)
    if captured is not None:
        total = total + captured.take_total()
    predictions = None
    if run.metrics:
        outputs = run.model.predict_proba(run.X)
        predictions = [run.model.outputs_to_predictions(outputs)]
    return float(total), learning_rate, predictions, None
