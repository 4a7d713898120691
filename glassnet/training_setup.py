"""Everything ``fit`` checks and prepares before the first epoch.

``prepare_training`` turns fit's arguments into a :class:`TrainingRun`: the model
built (or moved, or restored from a checkpoint), the data checked and turned into
targets, the loss, optimizer, regularizer and schedule resolved, the metrics looked
up, the parameters to train and their learning-rate multipliers, the History and
the callbacks. Whatever could fail at the end of training fails here instead.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np

from glassnet import losses as losses_module
from glassnet import optimizers as optimizers_module
from glassnet import regularizers as regularizers_module
from glassnet import schedules as schedules_module
from glassnet.backend import is_numpy, resolve_dtype, resolve_rng
from glassnet.callbacks import (
    Callback,
    CallbackList,
    History,
    ProgressBar,
    check_callbacks,
)
from glassnet.checkpointing import restore_checkpoint, resume_state
from glassnet.evaluation import validate_data
from glassnet.out_of_core import as_source, is_on_disk
from glassnet.targets import labels_from_targets, prepare_targets
from glassnet.validation import check_array, check_positive_int

__all__ = ["TrainingRun", "prepare_training"]


@dataclasses.dataclass
class TrainingRun:
    """The checked pieces of one call to ``fit``."""

    model: object
    X: np.ndarray  # rows (m, n[0]), C-contiguous, the model's dtype; or on disk
    Y: np.ndarray  # targets (m, n[L]) or class indices (m, 1)
    batch_size: int
    epochs: int
    initial_epoch: int
    loss: losses_module.Loss
    optimizer: optimizers_module.Optimizer
    regularizer: object
    schedule: object
    metrics: list
    validation: tuple | None  # (X_val, Y_val), checked
    params: dict  # the arrays the optimizer updates (trainable layers')
    grads: dict
    multipliers: dict
    history: History
    callbacks: CallbackList
    rng: object
    shuffle: object
    augment: object
    nan_guard: bool
    checkpoint: Path | None
    checkpoint_every: int
    capture: bool
    fast: bool
    labels_true: np.ndarray | None = None  # for training metrics
    distributed: object = None  # a glassnet.distributed.ProcessGroup, or None

    @property
    def writes_files(self) -> bool:
        """Whether this process writes checkpoints and shows progress (process 0
        of a data-parallel run, or the only one)."""
        return self.distributed is None or self.distributed.is_main

    @property
    def m(self) -> int:
        return self.X.shape[0]

    @property
    def n_batches(self) -> int:
        return math.ceil(self.m / self.batch_size)

    @property
    def on_numpy(self) -> bool:
        return is_numpy(self.model.xp)


def _place_model(model, X, rng, dtype, backend, device, restored) -> None:
    """Build the model (for X's features), or move it; refuse a clashing dtype."""
    if not model.built:
        n_x = X.shape[1] if is_on_disk(X) else None  # rows on disk: not read here
        n_x = n_x or check_array(model.as_rows(X), name="X", ndim=2).shape[1]
        model.build(
            n_x,
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


def _check_metrics(metrics) -> list:
    """The metric names, each looked up now (an unknown name fails before
    training starts)."""
    metrics = list(metrics)
    if metrics:
        from glassnet.metrics import get_metric

        for name in metrics:
            get_metric(name)
    return metrics


def _trainable_arrays(model):
    """``(params, grads, multipliers)`` of the trainable layers; refuses a model
    with nothing to train."""
    trainable = model.trainable_keys()
    if not trainable:
        raise ValueError(
            "the model has nothing to train: every layer is frozen; unfreeze a layer "
            "or add a trainable head"
        )
    multipliers = {
        key: layer.learning_rate_multiplier
        for key, (layer, _) in model.buffers.param_keys.items()
        if layer.learning_rate_multiplier != 1.0
    }
    params = {k: v for k, v in model.params.items() if k in trainable}
    grads = {k: v for k, v in model.grads.items() if k in trainable}
    return params, grads, multipliers


def _describe(schedule) -> object:
    if schedule is None:
        return None
    return schedule.get_config() if hasattr(schedule, "get_config") else repr(schedule)


def _history(run: TrainingRun, restored) -> History:
    """A History holding the checkpoint's epochs (when resuming) and the run's
    settings in ``params``."""
    history = History()
    if restored is not None:
        history.epoch = list(restored["history"].epoch)
        history.history = {k: list(v) for k, v in restored["history"].history.items()}
    history.params = {
        "epochs": run.epochs,
        "batch_size": run.batch_size,
        "m": run.m,
        "optimizer": run.optimizer.get_config(),
        "loss": run.loss.name,
        "regularizer": None
        if run.regularizer is None
        else run.regularizer.get_config(),
        "schedule": _describe(run.schedule),
        "metrics": run.metrics,
        "shuffle": run.shuffle if isinstance(run.shuffle, bool) else repr(run.shuffle),
        "fast": run.fast,
    }
    return history


def _prepare_checkpoint(checkpoint) -> Path | None:
    """The checkpoint's path, with temporaries left by a killed writer removed (a
    live writer's are kept)."""
    if checkpoint is None:
        return None
    from glassnet.io import clean_stale_temporaries

    checkpoint = Path(checkpoint)
    clean_stale_temporaries(
        checkpoint.parent,
        min_age_seconds=0,
        target=checkpoint.name,
        dead_writers_only=True,
    )
    return checkpoint


def prepare_training(
    model,
    X,
    y,
    *,
    epochs,
    batch_size,
    optimizer,
    loss,
    regularizer,
    schedule,
    validation_data,
    callbacks,
    metrics,
    rng,
    verbose,
    shuffle,
    augment,
    dtype,
    nan_guard,
    checkpoint,
    checkpoint_every,
    resume,
    backend,
    device,
    capture,
    fast,
    distributed=None,
) -> TrainingRun:
    """Check fit's arguments and prepare everything the epochs need."""
    epochs = check_positive_int("epochs", epochs)
    checkpoint_every = check_positive_int("checkpoint_every", checkpoint_every)
    user_callbacks = check_callbacks(callbacks)
    rng = resolve_rng(rng)
    restored = None if resume is None else restore_checkpoint(model, resume, dtype)
    X = as_source(X) if is_on_disk(X) else X  # rows on disk stay there (D39)
    _place_model(model, X, rng, dtype, backend, device, restored)
    X, y = validate_data(model, X, y)
    m = X.shape[0]
    batch_size = m if batch_size is None else batch_size
    batch_size = min(check_positive_int("batch_size", batch_size), m)
    loss = model.default_loss() if loss is None else losses_module.get(loss)
    Y = np.ascontiguousarray(prepare_targets(model, y))
    optimizer = optimizers_module.get(optimizer)
    initial_epoch = 0
    if restored is not None:
        initial_epoch, rng = resume_state(model, optimizer, restored, rng)
    regularizer = regularizers_module.get(regularizer)
    schedule = schedules_module.get(schedule)
    metrics = _check_metrics(metrics)
    validation = None
    if validation_data is not None:
        X_val, y_val = validate_data(model, *validation_data, name="_val")
        validation = (X_val, prepare_targets(model, y_val))
    params, grads, multipliers = _trainable_arrays(model)
    run = TrainingRun(
        model=model,
        X=X,
        Y=Y,
        batch_size=batch_size,
        epochs=epochs,
        initial_epoch=initial_epoch,
        loss=loss,
        optimizer=optimizer,
        regularizer=regularizer,
        schedule=schedule,
        metrics=metrics,
        validation=validation,
        params=params,
        grads=grads,
        multipliers=multipliers,
        history=History(),
        callbacks=CallbackList([]),
        rng=rng,
        shuffle=shuffle,
        augment=augment,
        nan_guard=nan_guard,
        checkpoint=None,
        checkpoint_every=checkpoint_every,
        capture=bool(capture),
        fast=bool(fast),
        distributed=distributed,
    )
    if run.writes_files:  # only process 0 of a data-parallel run writes one
        run.checkpoint = _prepare_checkpoint(checkpoint)
    run.history = _history(run, restored)
    if run.metrics:
        run.labels_true = labels_from_targets(model, Y)
    every: list[Callback] = [run.history, *user_callbacks]
    if verbose and initial_epoch < epochs and run.writes_files:
        every.append(ProgressBar((epochs - initial_epoch) * run.n_batches))
    run.callbacks = CallbackList(every, model, params=run.history.params)
    return run
