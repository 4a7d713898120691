"""Log training runs to MLflow: :class:`MLflowLogger`, a callback of ``fit``.

A run logged by glassnet holds

* **parameters**: the ``params`` given (``glassnet train --mlflow``: the run's
  settings, ``config.json``), fit's own settings as ``fit.<name>`` (epochs,
  batch_size, optimizer, loss, ...: ``History.params``) and the model's
  ``model.n_x`` and ``model.layers``;
* **metrics**: every epoch's logs (``cost``, ``val_cost``, ``accuracy``, the
  learning rate, ...) with ``step=epoch`` (epochs counted from 0, as in the
  History), and the final results given to :meth:`MLflowLogger.log_results`
  (``glassnet train``: ``train_cost``, ``dev_accuracy``, ``test_r2``, ...);
* **artifacts**: the trained model as ``model.glassnet`` (``log_model=True``), or
  a whole run folder (:meth:`MLflowLogger.log_artifacts`: ``glassnet train`` logs
  its folder once it is complete: model, config, history, learning curve,
  results and the report when there is one).

Where: ``tracking_uri`` as MLflow takes it (``sqlite:///mlflow.db``,
``file:./mlruns``, ``http://server:5000``); None is MLflow's own default, which is
the environment variable ``MLFLOW_TRACKING_URI``, else ``mlflow.set_tracking_uri``'s,
else MLflow's local default (``sqlite:///mlflow.db`` in the working folder in
MLflow 3). ``experiment`` is a name, created when missing; None is MLflow's:
``MLFLOW_EXPERIMENT_NAME`` or ``MLFLOW_EXPERIMENT_ID``, else the Default experiment.

Which run: when the user has started a run (``with mlflow.start_run():``) and no
``tracking_uri`` is given, glassnet logs into that run and leaves it open, as
MLflow's autologging does; ``nested=True`` logs into a child run of it instead
(tag ``mlflow.parentRunId``). Otherwise the logger starts its own run when training
begins and ends it: ``FINISHED`` after the last epoch, ``FAILED`` when training
raises (``KILLED`` for Ctrl-C). Everything goes through ``MlflowClient`` with the
run's id, so glassnet changes no global MLflow state (no active run, no tracking
URI). MLflow is imported when training begins, never when glassnet is imported.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
import time
import warnings
from pathlib import Path

from glassnet.callbacks import Callback
from glassnet.errors import GlassnetError, require

__all__ = ["MLflowLogger", "TrackingError"]

#: MLflow's limits: a parameter's value (characters), entries per log_batch call
MAX_PARAM_LENGTH = 6000
PARAMS_PER_BATCH = 100
METRICS_PER_BATCH = 1000
_KEY_CHARACTERS = re.compile(r"[^\w.\- /:]")


class TrackingError(GlassnetError, RuntimeError):
    """MLflow refused or failed (a store it will not open, a deleted experiment,
    a server that does not answer): the ``glassnet`` command's one-line error."""


@contextlib.contextmanager
def _mlflow_errors(uri: str):
    """MLflow's own exceptions as :class:`TrackingError` naming the URI (and the
    deprecation warnings of MLflow's libraries silenced: nothing a glassnet user
    can act on)."""
    from mlflow.exceptions import MlflowException

    try:
        with warnings.catch_warnings():  # MLflow's own libraries' deprecations
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", FutureWarning)
            yield
    except MlflowException as error:
        text = str(error).strip().splitlines()
        raise TrackingError(
            f"MLflow at {uri}: {text[0] if text else type(error).__name__}"
        ) from error


def _mlflow():
    """The mlflow package (imported on first use: it takes seconds)."""
    return require("mlflow", "logging to MLflow", "mlflow")


def _key(name) -> str:
    """``name`` as an MLflow key: letters, digits, ``_ - . / :`` and spaces."""
    return _KEY_CHARACTERS.sub("_", str(name))[:250] or "_"


def _param_value(value) -> str:
    """A parameter's value as MLflow stores it: text, JSON for lists and objects,
    shortened to MLflow's 6000 characters."""
    if isinstance(value, (dict, list, tuple)):
        text = json.dumps(value, default=str)
    else:
        text = str(value)
    if len(text) > MAX_PARAM_LENGTH:
        text = text[: MAX_PARAM_LENGTH - 3] + "..."
    return text


def flat_params(values: dict, prefix: str = "") -> dict[str, str]:
    """``{"optimizer": {"name": "adam"}}`` -> ``{"optimizer.name": "adam"}``, each
    value as MLflow's text."""
    flat = {}
    for name, value in values.items():
        key = _key(f"{prefix}{name}")
        if isinstance(value, dict) and value:
            flat.update(flat_params(value, f"{key}."))
        else:
            flat[key] = _param_value(value)
    return flat


def _metric_value(value) -> float | None:
    """A log entry as a metric (a number), None when it is not one."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


class MLflowLogger(Callback):
    """Log a training run to MLflow (module docstring): parameters, every epoch's
    metrics with ``step=epoch``, and the trained model as an artifact.

    ``model.fit(X, y, epochs=20, callbacks=[MLflowLogger("sqlite:///mlflow.db",
    experiment="digits", params={"data": "digits"})])``; ``logger.run_id`` is the
    run's id afterwards. ``finish_on_train_end=False`` keeps the run open after
    the last epoch, for :meth:`log_results`, :meth:`log_artifacts` and
    :meth:`end` (what ``glassnet train --mlflow`` does once its run folder is
    written). ``log_model`` logs the model file (``model.glassnet``) when
    training ends. :meth:`connect` opens the store ahead of training (else the
    run's start does, when training begins).
    """

    def __init__(
        self,
        tracking_uri: str | None = None,
        *,
        experiment: str | None = None,
        run_name: str | None = None,
        params: dict | None = None,
        tags: dict | None = None,
        nested: bool = False,
        log_model: bool = True,
        finish_on_train_end: bool = True,
    ):
        if tracking_uri is not None and not isinstance(tracking_uri, str | Path):
            raise TypeError(
                f"tracking_uri must be an MLflow tracking URI (text) or None; "
                f"received {tracking_uri!r}"
            )
        for name, value in (("params", params), ("tags", tags)):
            if value is not None and not isinstance(value, dict):
                raise TypeError(f"{name} must be a dict; received {value!r}")
        if experiment is not None and (
            not isinstance(experiment, str) or not experiment
        ):
            raise ValueError(
                f"experiment must be a non-empty name; received {experiment!r}"
            )
        self.tracking_uri = None if tracking_uri is None else str(tracking_uri)
        self.experiment = experiment
        self.run_name = run_name
        self.user_params = dict(params or {})
        self.tags = {str(k): str(v) for k, v in (tags or {}).items()}
        self.nested = bool(nested)
        self.log_model = bool(log_model)
        self.finish_on_train_end = bool(finish_on_train_end)
        self.client = None
        self.run_id: str | None = None
        self.experiment_id: str | None = None
        #: True when this logger started the run (and so ends it)
        self.owns_run = False
        self.status: str | None = None

    # -- the run ----------------------------------------------------------------
    @property
    def resolved_uri(self) -> str:
        """The tracking URI the run is logged to (MLflow's default resolved)."""
        if self.client is not None:
            return self.client.tracking_uri
        return self.tracking_uri or _mlflow().get_tracking_uri()

    @property
    def experiment_name(self) -> str | None:
        """The name of the run's experiment (None before the run starts)."""
        if self.experiment_id is None:
            return None
        with _mlflow_errors(self.resolved_uri):
            return self.client.get_experiment(self.experiment_id).name

    def _experiment_id(self) -> str:
        """The experiment's id: ``experiment`` (created when missing), else
        MLflow's ``MLFLOW_EXPERIMENT_NAME`` / ``MLFLOW_EXPERIMENT_ID``, else the
        Default experiment ("0")."""
        name = self.experiment or os.environ.get("MLFLOW_EXPERIMENT_NAME")
        if name is None:
            return os.environ.get("MLFLOW_EXPERIMENT_ID") or "0"
        found = self.client.get_experiment_by_name(name)
        if found is not None:
            if found.lifecycle_stage == "deleted":
                raise ValueError(
                    f"MLflow experiment {name!r} is deleted at {self.resolved_uri}; "
                    "restore it or choose another name"
                )
            return found.experiment_id
        return self.client.create_experiment(name)

    def connect(self):
        """Open the tracking store now and return MLflow's client: MLflow
        imported, the store opened (seconds for a new sqlite database), so that
        this cost and its errors (MLflow not installed, a store it refuses) come
        before training rather than inside its first epoch's time. ``start``
        connects when this was not called."""
        if self.client is None:
            mlflow = _mlflow()
            uri = self.tracking_uri or mlflow.get_tracking_uri()
            with _mlflow_errors(uri):
                from mlflow.tracking import MlflowClient

                self.client = MlflowClient(uri)
        return self.client

    def start(self) -> str:
        """Start (or join) the run now; returns its id. Training calls this."""
        if self.run_id is not None and self.status is None:
            return self.run_id  # still open: the next fit logs on
        self.connect()
        with _mlflow_errors(self.resolved_uri):
            return self._start(_mlflow())

    def _start(self, mlflow) -> str:
        from glassnet import __version__

        active = mlflow.active_run() if self.tracking_uri is None else None
        tags = {"glassnet.version": __version__, **self.tags}
        self.status = None
        if active is not None and not self.nested:
            self.run_id, self.owns_run = active.info.run_id, False
            self.experiment_id = active.info.experiment_id
            for key, value in tags.items():
                self.client.set_tag(self.run_id, key, value)
            return self.run_id
        if active is not None:  # a child run of the user's
            self.experiment_id = active.info.experiment_id
            tags["mlflow.parentRunId"] = active.info.run_id
        else:
            self.experiment_id = self._experiment_id()
        run = self.client.create_run(
            self.experiment_id, run_name=self.run_name, tags=tags
        )
        self.run_id, self.owns_run = run.info.run_id, True
        return self.run_id

    def end(self, status: str = "FINISHED") -> None:
        """End the run this logger started with ``status`` (FINISHED, FAILED or
        KILLED); a run the user started is left open. Idempotent."""
        if self.run_id is None or self.status is not None:
            return
        self.status = status
        if self.owns_run:
            with _mlflow_errors(self.resolved_uri):
                self.client.set_terminated(self.run_id, status)

    # -- what is logged ---------------------------------------------------------
    def log_params(self, values: dict, prefix: str = "") -> None:
        """Log ``values`` (nested dicts flattened to ``a.b``) as parameters. In
        a run the user started, a parameter it already holds is left as it is
        (MLflow refuses to change one), with a warning when the value differs
        (a second fit in the same run)."""
        from mlflow.entities import Param

        flat = flat_params(values, prefix)
        if not self.owns_run:
            with _mlflow_errors(self.resolved_uri):
                held = self.client.get_run(self.run_id).data.params
            changed = sorted(k for k in flat if k in held and held[k] != flat[k])
            if changed:
                warnings.warn(
                    f"MLflow run {self.run_id} already holds parameter(s) "
                    f"{changed[:5]} with other values; they are kept as they are "
                    "(MLflow does not change a parameter; nested=True logs each "
                    "fit to a run of its own)",
                    RuntimeWarning,
                    stacklevel=3,
                )
            flat = {k: v for k, v in flat.items() if k not in held}
        items = [Param(k, v) for k, v in flat.items()]
        with _mlflow_errors(self.resolved_uri):
            for start in range(0, len(items), PARAMS_PER_BATCH):
                self.client.log_batch(
                    self.run_id, params=items[start : start + PARAMS_PER_BATCH]
                )

    def log_metrics(self, values: dict, step: int = 0) -> None:
        """Log the numbers of ``values`` as metrics at ``step``."""
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        items = []
        for name, value in values.items():
            number = _metric_value(value)
            if number is not None:
                items.append(Metric(_key(name), number, now, int(step)))
        with _mlflow_errors(self.resolved_uri):
            for start in range(0, len(items), METRICS_PER_BATCH):
                self.client.log_batch(
                    self.run_id, metrics=items[start : start + METRICS_PER_BATCH]
                )

    def log_results(self, results: dict) -> None:
        """Log final results as metrics: ``{"test": {"accuracy": 0.97}}`` ->
        ``test_accuracy``; a flat ``{"seconds": 3.1}`` as it is."""
        flat = {}
        for name, value in results.items():
            if isinstance(value, dict):
                flat.update({f"{name}_{key}": v for key, v in value.items()})
            else:
                flat[name] = value
        self.log_metrics(
            {k: v for k, v in flat.items() if _metric_value(v) is not None}
        )

    def log_artifacts(self, folder) -> None:
        """Log the files of ``folder`` (a run folder) as the run's artifacts, at
        its top level; hidden files (the folder's lock, temporaries) are left
        out."""
        folder = Path(folder)
        with _mlflow_errors(self.resolved_uri):
            for path in sorted(folder.iterdir()):
                if path.name.startswith("."):
                    continue
                if path.is_dir():
                    self.client.log_artifacts(self.run_id, str(path), path.name)
                elif path.is_file():
                    self.client.log_artifact(self.run_id, str(path))

    def log_model_file(self) -> None:
        """Save the model being trained as ``model.glassnet`` and log it."""
        with tempfile.TemporaryDirectory(prefix="glassnet-mlflow-") as folder:
            path = Path(folder) / "model.glassnet"
            self.model.save(path)
            with _mlflow_errors(self.resolved_uri):
                self.client.log_artifact(self.run_id, str(path))

    def _model_params(self) -> dict:
        model = self.model
        if model is None or not getattr(model, "built", False):
            return {}
        layers = [type(layer).__name__ for layer in model.layers]
        return {"n_x": model.n_x, "layers": ", ".join(layers)}

    # -- the callback -----------------------------------------------------------
    def on_train_begin(self, logs=None):
        fresh = self.run_id is None or self.status is not None
        self.start()
        if not fresh:
            return
        self.log_params(self.user_params)
        self.log_params(dict(self.params or {}), "fit.")
        self.log_params(self._model_params(), "model.")

    def on_epoch_end(self, epoch, logs=None):
        self.log_metrics(dict(logs or {}), step=epoch)

    def on_train_end(self, logs=None):
        if not self.finish_on_train_end:
            return
        if self.log_model:
            self.log_model_file()
        self.end("FINISHED")

    def on_train_error(self, error):
        if self.run_id is None:
            return
        interrupted = isinstance(error, KeyboardInterrupt)
        self.end("KILLED" if interrupted else "FAILED")
