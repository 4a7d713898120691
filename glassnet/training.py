"""The fit loop: mini-batches, shuffling, schedules, callbacks, the divergence guard.

``fit(model, X, y, ...)`` takes rows (``X (m, n[0])``, ``y (m,)``); every mini-batch
is a row gather into a reusable buffer and reaches the engine as its transpose (a
view), so examples are columns inside, as in the notes. One step is::

    AL   = model.forward(X_batch.T, training=True)
    cost = model.compute_cost(AL, Y_batch.T)          # + regularization
    model.backward(AL, Y_batch.T)                     # fills grads
    optimizer.update(params, grads)                   # the one place params change

The epoch's cost is the mean over the epoch's examples of the per-batch costs
(``sum_t cost_t m_t / m``; with one full batch it is exactly the course's printed
cost at that iteration, computed before the update).
"""

from __future__ import annotations

import contextlib
import math
from pathlib import Path

import numpy as np

from glassnet import _kernels
from glassnet import losses as losses_module
from glassnet import optimizers as optimizers_module
from glassnet import regularizers as regularizers_module
from glassnet import schedules as schedules_module
from glassnet.backend import (
    is_numpy,
    permutation,
    resolve_dtype,
    resolve_rng,
    to_namespace,
    to_numpy,
)
from glassnet.callbacks import Callback, History, ProgressBar, check_callbacks
from glassnet.checkpointing import restore_checkpoint, resume_state, write_checkpoint
from glassnet.evaluation import evaluate, metric_values, validate_data, validation_logs
from glassnet.guard import DivergenceError, DivergenceGuard, gradient_norms
from glassnet.layers import Dense
from glassnet.targets import labels_from_targets, prepare_targets
from glassnet.validation import check_array, check_positive_int

# DivergenceError (guard.py) and evaluate (evaluation.py) are re-exported here
__all__ = ["DivergenceError", "evaluate", "fit"]


def _batch_orders(shuffle, rng, m, epoch):
    if callable(shuffle):
        order = np.asarray(shuffle(epoch, m))
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
    if shuffle:
        return permutation(rng, m)
    return None


def _end_fast_path(model) -> None:
    """Drop the training buffers and caches; forward allocates again."""
    for layer in model.layers:
        layer.clear_cache()
        if isinstance(layer, Dense):
            layer.reuse_buffers = False


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
) -> History:
    """Train ``model`` on rows ``X (m, n[0])``, ``y``; return the History.

    ``batch_size``: examples per mini-batch (``None`` or >= m: full batch; 1:
    stochastic). ``optimizer``: a name ("gd", "momentum", "rmsprop", "adam") or an
    Optimizer. ``loss``: inferred from the output activation when None.
    ``regularizer``: L2/L1 for every Dense layer without its own. ``schedule``: a
    callable ``(epoch, step) -> learning_rate``. ``shuffle``: True (a new permutation
    from ``rng`` each epoch), False, or a callable ``(epoch, m) -> order``.
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
    """
    epochs = check_positive_int("epochs", epochs)
    checkpoint_every = check_positive_int("checkpoint_every", checkpoint_every)
    callbacks = check_callbacks(callbacks)
    rng = resolve_rng(rng)
    restored = None
    if resume is not None:
        restored = restore_checkpoint(model, resume, dtype)
    if not model.built:
        X_checked = check_array(X, name="X", ndim=2)
        model.build(
            X_checked.shape[1],
            rng=rng,
            dtype=dtype or "float32",
            backend=backend or "numpy",
            device=device,
        )
    elif backend is not None and (backend != model.backend or device is not None):
        model.to(backend, device)
    if dtype is not None and resolve_dtype(dtype) != model.dtype:
        raise ValueError(
            f"dtype={dtype!r} applies when fit builds the model, but this one is "
            f"already built in {model.dtype}; build a new model, or call "
            f"model.build(n_x, dtype={dtype!r}) first"
        )
    xp = model.xp
    on_numpy = is_numpy(xp)
    X, y = validate_data(model, X, y)
    m = X.shape[0]
    if batch_size is None:
        batch_size = m
    batch_size = min(check_positive_int("batch_size", batch_size), m)
    loss = model.default_loss() if loss is None else losses_module.get(loss)
    Y = np.ascontiguousarray(prepare_targets(model, y))
    optimizer = optimizers_module.get(optimizer)
    initial_epoch = 0
    if restored is not None:
        initial_epoch, rng = resume_state(model, optimizer, restored, rng)
    regularizer = regularizers_module.get(regularizer)
    schedule = schedules_module.get(schedule)
    metrics = list(metrics)
    if metrics:
        from glassnet.metrics import get_metric

        for name in metrics:  # unknown names fail before training starts
            get_metric(name)
    if validation_data is not None:
        X_val, y_val = validate_data(model, *validation_data, name="_val")
        Y_val = prepare_targets(model, y_val)

    trainable = model.trainable_keys()
    if not trainable:
        raise ValueError(
            "the model has nothing to train: every layer is frozen; unfreeze a layer "
            "or add a trainable head"
        )
    multipliers = {
        key: layer.learning_rate_multiplier
        for key, (layer, _) in model._param_keys.items()
        if layer.learning_rate_multiplier != 1.0
    }
    params = {k: v for k, v in model.params.items() if k in trainable}
    grads = {k: v for k, v in model.grads.items() if k in trainable}
    first_trainable = next(
        i for i, layer in enumerate(model.layers) if layer.trainable and layer.params
    )
    for index, layer in enumerate(model.layers):
        if isinstance(layer, Dense):
            layer.active_regularizer = layer.regularizer or regularizer
            layer.need_input_gradient = index > first_trainable
            layer.reuse_buffers = on_numpy  # the buffered fast path is NumPy's

    history = History()
    if restored is not None:
        history.epoch = list(restored["history"].epoch)
        history.history = {k: list(v) for k, v in restored["history"].history.items()}
    if checkpoint is not None:
        from glassnet.io import clean_stale_temporaries

        checkpoint = Path(checkpoint)
        clean_stale_temporaries(  # left by a killed run; a live writer's are kept
            checkpoint.parent,
            min_age_seconds=0,
            target=checkpoint.name,
            dead_writers_only=True,
        )
    history.params = {
        "epochs": epochs,
        "batch_size": batch_size,
        "m": m,
        "optimizer": optimizer.get_config(),
        "loss": loss.name,
        "regularizer": None if regularizer is None else regularizer.get_config(),
        "schedule": (
            schedule.get_config() if hasattr(schedule, "get_config") else repr(schedule)
        )
        if schedule is not None
        else None,
        "metrics": metrics,
        "shuffle": shuffle if isinstance(shuffle, bool) else repr(shuffle),
    }
    n_batches = math.ceil(m / batch_size)
    all_callbacks: list[Callback] = [history, *callbacks]
    if verbose and initial_epoch < epochs:
        all_callbacks.append(ProgressBar((epochs - initial_epoch) * n_batches))
    for callback in all_callbacks:
        callback.set_model(model)
    model.stop_training = False

    if on_numpy:
        X_buffer = np.empty((batch_size, X.shape[1]), dtype=X.dtype)
        Y_buffer = np.empty((batch_size, Y.shape[1]), dtype=Y.dtype)
    else:  # the data go to the device once; batches are gathered there
        X_device = to_namespace(X, xp, model.device)
        Y_device = to_namespace(Y, xp, model.device)
    keep_labels = bool(metrics)
    labels_true = labels_from_targets(model, Y) if keep_labels else None
    guard = DivergenceGuard(model) if nan_guard else None
    step = optimizer.t

    if not on_numpy and not multipliers and len(params) == len(model.params):
        # every parameter trains: the optimizer sweeps the model's flat buffers
        optimizer.bind(params, grads, model.flat_params, model.flat_grads)
    captured = None
    if capture:
        from glassnet.capture import CapturedStep, check_capturable

        check_capturable(model, augment=augment, multipliers=multipliers)
        if m >= batch_size:
            captured = CapturedStep(
                model, loss, optimizer, params, grads, X_device, Y_device, batch_size
            )
            all_rows = xp.arange(m, device=model.device)
    for callback in all_callbacks:
        callback.on_train_begin({})
    # float32 on NumPy: the products and the compiled passes share glassnet's
    # threads, BLAS held to one (glassnet._kernels.parallel)
    pooled = on_numpy and X.dtype == np.float32
    with _kernels.parallel() if pooled else contextlib.nullcontext():
        for epoch in range(initial_epoch, epochs):
            logs: dict = {}
            for callback in all_callbacks:
                callback.on_epoch_begin(epoch, logs)
            if guard is not None:
                guard.start_epoch()
            order = _batch_orders(shuffle, rng, m, epoch)
            if order is not None and not on_numpy:
                order_device = to_namespace(order.astype(np.int64), xp, model.device)
            total_cost = 0.0
            device_total = 0.0
            predictions = [] if keep_labels else None
            learning_rate = optimizer.learning_rate
            for batch in range(n_batches):
                start = batch * batch_size
                stop = min(start + batch_size, m)
                size = stop - start
                if captured is not None and size == batch_size:
                    rows = all_rows if order is None else order_device
                    if schedule is not None:
                        optimizer.learning_rate = schedule(epoch, step)
                    if batch == 0:
                        learning_rate = optimizer.learning_rate
                    batch_logs = {"batch": batch, "size": size}
                    for callback in all_callbacks:
                        callback.on_batch_begin(batch, batch_logs)
                    captured.run(rows[start:stop], optimizer.learning_rate)
                    step += 1
                    for callback in all_callbacks:
                        callback.on_batch_end(batch, batch_logs)
                    continue
                if not on_numpy:
                    if order is None:
                        X_batch, Y_batch = X_device[start:stop], Y_device[start:stop]
                    else:
                        index = order_device[start:stop]
                        X_batch, Y_batch = X_device[index], Y_device[index]
                    if augment is not None:
                        augmented = augment(to_numpy(X_batch), rng)
                        X_batch = to_namespace(augmented, xp, model.device, X.dtype)
                elif order is None:
                    X_batch, Y_batch = X[start:stop], Y[start:stop]
                else:
                    index = order[start:stop]
                    # the order is a checked permutation
                    X_batch = _kernels.gather_rows(X, index, X_buffer[:size])
                    Y_batch = _kernels.gather_rows(Y, index, Y_buffer[:size])
                if augment is not None and on_numpy:
                    X_batch = np.asarray(augment(X_batch, rng), dtype=X.dtype)
                batch_logs = {"batch": batch, "size": size}
                for callback in all_callbacks:
                    callback.on_batch_begin(batch, batch_logs)
                AL = model.forward(X_batch.T, training=True)
                if on_numpy:
                    cost = model.compute_cost(AL, Y_batch.T, loss)
                else:  # summed on the device: no device-to-host wait per step
                    device_total = (
                        device_total + model.cost_array(AL, Y_batch.T, loss) * size
                    )
                    cost = None
                if keep_labels:
                    predictions.append(model.outputs_to_predictions(to_numpy(AL).T))
                model.backward(AL, Y_batch.T, loss, inplace=True)  # AL becomes dZ[L]
                if schedule is not None:
                    optimizer.learning_rate = schedule(epoch, step)
                if batch == 0:
                    learning_rate = optimizer.learning_rate
                optimizer.update(params, grads, multipliers=multipliers)
                step += 1
                if cost is not None:
                    total_cost += cost * size
                    if nan_guard and math.isnan(cost):
                        break
                    batch_logs["cost"] = cost
                for callback in all_callbacks:
                    callback.on_batch_end(batch, batch_logs)
            if not on_numpy:
                total_cost += float(device_total)  # one device-to-host copy an epoch
            if captured is not None:
                total_cost += captured.take_total()
                if keep_labels:  # measured after the epoch: the graph keeps no outputs
                    predictions = [model.outputs_to_predictions(model.predict_proba(X))]
                    order = None
            epoch_cost = total_cost / m
            error = (
                None
                if guard is None
                else guard.check(epoch, epoch_cost, learning_rate, history)
            )
            if error is not None:
                _end_fast_path(model)
                for callback in all_callbacks:
                    if isinstance(callback, ProgressBar):
                        callback.on_train_end({})
                raise error
            logs["cost"] = epoch_cost
            logs["learning_rate"] = learning_rate
            if keep_labels:
                seen = labels_true if order is None else labels_true[order]
                logs.update(metric_values(metrics, seen, np.concatenate(predictions)))
            logs.update(gradient_norms(model))
            if validation_data is not None:
                logs.update(validation_logs(model, X_val, Y_val, loss, metrics))
            for callback in all_callbacks:
                callback.on_epoch_end(epoch, logs)
            last = epoch == epochs - 1 or model.stop_training
            if checkpoint is not None and ((epoch + 1) % checkpoint_every == 0 or last):
                write_checkpoint(model, checkpoint, optimizer, history, rng, epoch)
            if model.stop_training:
                break
    _end_fast_path(model)
    for callback in all_callbacks:
        callback.on_train_end({})
    return history
