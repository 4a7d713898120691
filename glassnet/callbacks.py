"""Callbacks for the fit loop, Keras-style, plus the History every fit returns.

A callback overrides any of ``on_train_begin(logs)``, ``on_epoch_begin(epoch,
logs)``, ``on_batch_begin(batch, logs)``, ``on_batch_end(batch, logs)``,
``on_epoch_end(epoch, logs)``, ``on_train_end(logs)`` and ``on_train_error(error)``
(training stopped with an exception, which is raised again after the callbacks);
``self.model`` is the model being trained and ``self.params`` fit's settings
(``History.params``). Setting ``model.stop_training = True`` ends training after the
current epoch. :class:`~glassnet.tracking.MLflowLogger` (logging to MLflow) is
re-exported here.
"""

from __future__ import annotations

import csv
import math
import time
import warnings
from pathlib import Path

from glassnet.validation import check_choice, check_in_range


class Callback:
    """Base class; every hook is a no-op."""

    model = None
    params = None

    def set_model(self, model) -> None:
        self.model = model

    def set_params(self, params) -> None:
        self.params = params

    def on_train_begin(self, logs=None): ...
    def on_train_end(self, logs=None): ...
    def on_train_error(self, error): ...
    def on_epoch_begin(self, epoch, logs=None): ...
    def on_epoch_end(self, epoch, logs=None): ...
    def on_batch_begin(self, batch, logs=None): ...
    def on_batch_end(self, batch, logs=None): ...


class History(Callback):
    """Per-epoch logs: ``history["cost"][e]``, ``history["val_accuracy"][e]``, ...

    ``params`` holds the run's configuration (everything ``fit`` was given), so a
    History describes its run completely.
    """

    def __init__(self):
        self.history: dict[str, list] = {}
        self.epoch: list[int] = []
        self.params: dict = {}

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            column = self.history.setdefault(key, [math.nan] * (len(self.epoch) - 1))
            column.append(value)
        for column in self.history.values():
            while len(column) < len(self.epoch):
                column.append(math.nan)

    def __getitem__(self, key):
        return self.history[key]

    def __len__(self):
        return len(self.epoch)

    def to_csv(self, path) -> None:
        """Write ``epoch, cost, ...`` one row per epoch."""
        keys = list(self.history)
        with open(path, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["epoch", *keys])
            for row, epoch in enumerate(self.epoch):
                writer.writerow([epoch, *(self.history[k][row] for k in keys)])

    def to_dict(self) -> dict:
        """JSON-compatible ``{"epoch": [...], "history": {...}}``."""
        return {
            "epoch": list(self.epoch),
            "history": {k: [float(v) for v in vs] for k, vs in self.history.items()},
        }

    @classmethod
    def from_dict(cls, record: dict) -> History:
        history = cls()
        history.epoch = [int(e) for e in record.get("epoch", [])]
        history.history = {k: list(v) for k, v in record.get("history", {}).items()}
        return history

    def plot(self, path=None, *, keys=None, title=None, best_epoch=None):
        """Learning curves (cost per epoch, and val_cost when present); PNG if
        path; ``best_epoch`` marked when given."""
        from glassnet.plots import plot_history

        return plot_history(self, path, keys=keys, title=title, best_epoch=best_epoch)

    def __repr__(self):
        from glassnet.notebook import history_repr

        return history_repr(self)

    def _repr_html_(self) -> str:
        """The last epochs as a table and the learning curve as an inline SVG."""
        from glassnet.notebook import history_html

        return history_html(self)


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs.

    ``mode`` is "min", "max" or "auto" (max for names with accuracy/precision/
    recall/f1, else min). A NaN or infinite value counts as the worst value (an
    epoch that diverged is never the best one, and it uses up patience like any
    epoch that did not improve). With ``restore_best_weights`` (default) the model
    ends with the weights of its best epoch, also when training ends without
    triggering. When it stops or restores it says so in one line (``verbose``),
    e.g.::

        early stopping: stopped at epoch 11, best epoch 8 (val_cost 0.2513),
        weights restored from epoch 8

    (epochs counted from 0, as in the History). :meth:`report` gives the same as a
    dict for run folders.
    """

    def __init__(
        self,
        monitor: str = "val_cost",
        *,
        patience: int = 5,
        min_delta: float = 0.0,
        mode: str = "auto",
        restore_best_weights: bool = True,
        verbose: bool = True,
    ):
        self.monitor = monitor
        self.patience = int(check_in_range("patience", patience, 0, None, integer=True))
        self.min_delta = abs(check_in_range("min_delta", min_delta, 0, None))
        check_choice("mode", mode, ("auto", "min", "max"))
        if mode == "auto":
            maximize = any(
                word in monitor for word in ("accuracy", "precision", "recall", "f1")
            )
            mode = "max" if maximize else "min"
        self.mode = mode
        self.restore_best_weights = restore_best_weights
        self.verbose = bool(verbose)
        self.on_train_begin()

    def on_train_begin(self, logs=None):
        self.best, self.best_epoch, self.best_weights = None, None, None
        self.stopped_epoch, self.restored_epoch, self.last_epoch = None, None, None
        self.wait = 0

    @property
    def worst(self) -> float:
        """The value a NaN or infinite monitored value counts as."""
        return math.inf if self.mode == "min" else -math.inf

    def _improved(self, value) -> bool:
        if self.best is None:
            return True
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.monitor not in logs:
            raise ValueError(
                f"EarlyStopping monitors {self.monitor!r} but the logs have only "
                f"{sorted(logs)}; pass validation_data= or monitor one of those"
            )
        value = float(logs[self.monitor])
        if not math.isfinite(value):
            value = self.worst
        self.last_epoch = epoch
        if self._improved(value):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if (
            self.restore_best_weights
            and self.best_weights is not None
            and self.best_epoch != self.last_epoch
        ):
            self.model.set_weights(self.best_weights)
            self.restored_epoch = self.best_epoch
        line = self.message()
        if self.verbose and line is not None:
            _write_line(line)

    def message(self) -> str | None:
        """One line saying where training stopped and which weights it kept; None
        when it neither stopped early nor restored earlier weights."""
        if self.stopped_epoch is None and self.restored_epoch is None:
            return None
        parts = []
        if self.stopped_epoch is not None:
            parts.append(f"stopped at epoch {self.stopped_epoch}")
        parts.append(f"best epoch {self.best_epoch} ({self.monitor} {self.best:.6g})")
        if self.restored_epoch is not None:
            parts.append(f"weights restored from epoch {self.restored_epoch}")
        else:
            parts.append("the last epoch's weights kept")
        return "early stopping: " + ", ".join(parts)

    def report(self) -> dict:
        """What happened, as JSON-compatible values (the run folder's
        ``results.json``): the monitor, patience, best epoch and value, the epoch
        it stopped at (None: it did not trigger) and whether weights were
        restored."""
        return {
            "monitor": self.monitor,
            "mode": self.mode,
            "patience": self.patience,
            "min_delta": self.min_delta,
            "best_epoch": self.best_epoch,
            "best_value": self.best,
            "stopped_epoch": self.stopped_epoch,
            "weights_restored": self.restored_epoch is not None,
            "restored_epoch": self.restored_epoch,
            "message": self.message(),
        }


def _write_line(line: str) -> None:
    """Print ``line`` without breaking an open progress bar (tqdm.write)."""
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover - tqdm is a dependency
        print(line)
        return
    tqdm.write(line)


class ProgressBar(Callback):
    """A tqdm progress bar over mini-batch steps, showing the epoch and its cost."""

    def __init__(self, total_steps: int, *, description: str = "training"):
        self.total_steps = total_steps
        self.description = description
        self.bar = None

    def on_train_begin(self, logs=None):
        from tqdm.auto import tqdm

        self.bar = tqdm(
            total=self.total_steps,
            desc=self.description,
            unit="step",
            leave=True,
            dynamic_ncols=True,
            mininterval=0.2,
        )

    def on_batch_end(self, batch, logs=None):
        self.bar.update(1)

    def on_epoch_end(self, epoch, logs=None):
        shown = {"epoch": epoch + 1}
        for key in ("cost", "accuracy", "val_cost", "val_accuracy"):
            if key in (logs or {}):
                shown[key] = f"{logs[key]:.4g}"
        self.bar.set_postfix(shown, refresh=False)

    def on_train_end(self, logs=None):
        if self.bar is not None:
            self.bar.close()


class Timer(Callback):
    """Records each epoch's wall time in the logs as ``epoch_seconds``."""

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["epoch_seconds"] = time.perf_counter() - self._start


class CSVLogger(Callback):
    """Appends each epoch's logs to a CSV file as training goes."""

    def __init__(self, path):
        self.path = Path(path)
        self._keys = None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        new = self._keys is None
        if new:
            self._keys = list(logs)
        with open(self.path, "w" if new else "a", newline="") as handle:
            writer = csv.writer(handle)
            if new:
                writer.writerow(["epoch", *self._keys])
            writer.writerow([epoch, *(logs.get(k, "") for k in self._keys)])


class CallbackList:
    """Several callbacks called as one, in order: ``callbacks.epoch_end(epoch,
    logs)`` calls ``on_epoch_end(epoch, logs)`` on each."""

    def __init__(self, callbacks, model=None, params=None):
        self.callbacks = list(callbacks)
        for callback in self.callbacks:
            if model is not None:
                callback.set_model(model)
            if params is not None:
                callback.set_params(params)

    def train_begin(self, logs) -> None:
        for callback in self.callbacks:
            callback.on_train_begin(logs)

    def train_end(self, logs) -> None:
        for callback in self.callbacks:
            callback.on_train_end(logs)

    def epoch_begin(self, epoch, logs) -> None:
        for callback in self.callbacks:
            callback.on_epoch_begin(epoch, logs)

    def epoch_end(self, epoch, logs) -> None:
        for callback in self.callbacks:
            callback.on_epoch_end(epoch, logs)

    def batch_begin(self, batch, logs) -> None:
        for callback in self.callbacks:
            callback.on_batch_begin(batch, logs)

    def batch_end(self, batch, logs) -> None:
        for callback in self.callbacks:
            callback.on_batch_end(batch, logs)

    def close_progress_bars(self) -> None:
        """End the progress bars only (training stopped with an error)."""
        for callback in self.callbacks:
            if isinstance(callback, ProgressBar):
                callback.on_train_end({})

    def train_error(self, error: BaseException) -> None:
        """Training stopped with ``error``: the progress bars end, then each
        callback's ``on_train_error(error)`` runs (a tracker marks its run failed);
        a callback failing here is a warning, so ``error`` is what fit raises."""
        self.close_progress_bars()
        for callback in self.callbacks:
            try:
                callback.on_train_error(error)
            except Exception as problem:
                warnings.warn(
                    f"{type(callback).__name__}.on_train_error failed: {problem}",
                    RuntimeWarning,
                    stacklevel=2,
                )


def check_callbacks(callbacks) -> list[Callback]:
    """``callbacks`` as a list of :class:`Callback` (a clear error otherwise)."""
    if isinstance(callbacks, Callback):
        raise TypeError(
            f"callbacks must be a list of Callback objects; received one "
            f"{type(callbacks).__name__}: wrap it as [{type(callbacks).__name__}(...)]"
        )
    try:
        callbacks = list(callbacks)
    except TypeError:
        raise TypeError(
            f"callbacks must be a list of Callback objects; received {callbacks!r}"
        ) from None
    for index, callback in enumerate(callbacks):
        if not isinstance(callback, Callback):
            raise TypeError(
                f"callbacks[{index}] must be a glassnet.callbacks.Callback; received "
                f"{callback!r} of type {type(callback).__name__}"
            )
    return callbacks


# MLflow itself is imported when training begins
from glassnet.tracking import MLflowLogger  # noqa: E402, F401
