"""Scoring a model on rows: the input checks shared with ``fit``, the cost and the
metrics, ``evaluate`` and the validation scores ``fit`` logs after each epoch.

``evaluate(model, X, y)`` gives ``{"cost": J, metric: value}``, with J the loss at
``A = model.predict_proba(X)`` plus the term of every layer's own regularizer
(inference mode: no dropout, batch norm with its running statistics). A
cross-entropy is computed from the logits ``Z[L]`` (``model.predict_with_logits``),
the same stable cost training reports. The validation
scores ``fit`` logs add fit's ``regularizer`` too, so ``val_cost`` and ``cost`` are
the same function J on two data sets. For a regression model with a target scale
(D29) the cost is on standardized targets, the units it trains in, and the metrics
(R^2, RMSE, MAE) compare values in the user's units.
"""

from __future__ import annotations

import numpy as np

from glassnet import losses as losses_module
from glassnet.out_of_core import is_on_disk
from glassnet.targets import TEXT_LABELS_HINT, labels_from_targets, prepare_targets
from glassnet.validation import check_array, check_consistent_length

__all__ = ["evaluate"]


def validate_data(model, X, y, *, name=""):
    """``X`` as a C-contiguous array of the model's dtype and ``y``, checked: ranks,
    finite values, one example per row in both, the model's number of features.
    Image-shaped ``X`` is flattened by the model's Flatten layer; labels ``y`` of a
    model with ``classes`` become their output indices. Rows on disk
    (:mod:`glassnet.out_of_core`) are checked in one streaming pass and stay there.
    """
    if is_on_disk(X):
        from glassnet.out_of_core import checked_rows

        return checked_rows(model, X, y, name=name)
    X = check_array(model.as_rows(X), name=f"X{name}", ndim=2, dtype=model.dtype)
    y = validate_labels(model, y, name=name)
    check_consistent_length(X, y, names=(f"X{name}", f"y{name}"))
    if X.shape[1] != model.n_x:
        raise ValueError(
            f"X{name} has {X.shape[1]} features per example but the model was built "
            f"for {model.n_x}"
        )
    return np.ascontiguousarray(X), y


def validate_labels(model, y, *, name=""):
    """``y`` checked (ranks, numbers), labels of a model with ``classes`` as their
    output indices."""
    if getattr(model, "classes", None) is not None and _single_label(model, y):
        y = model.class_codes(y)
    return check_array(
        y,
        name=f"y{name}",
        ndim=(1, 2),
        allow_nonfinite=True,
        non_numeric_hint=TEXT_LABELS_HINT,
    )


def _single_label(model, y) -> bool:
    """True for one label per example (not one-hot rows) of a softmax or one-unit
    sigmoid output: the labels ``classes`` names."""
    shape = np.shape(y)
    one_column = len(shape) == 1 or (len(shape) == 2 and shape[1] == 1)
    if model.output_activation == "softmax":
        return one_column
    return model.output_activation == "sigmoid" and model.n_out == 1 and one_column


def metric_values(names, y_true, y_pred) -> dict:
    """``{name: metric(y_true, y_pred)}`` for the named metrics."""
    from glassnet.metrics import get_metric

    return {name: float(get_metric(name)(y_true, y_pred)) for name in names}


def _scores(model, X, Y, loss, metrics, regularizer=None) -> dict:
    """Cost and metrics of the model on checked rows ``X`` and targets ``Y``."""
    Z, A = model.predict_with_logits(X)  # the cost from Z[L], as in training
    logits = None if Z is None else Z.T
    cost = model.compute_cost(A.T, Y.T, loss, regularizer=regularizer, logits=logits)
    results = {"cost": cost}
    if metrics:
        results.update(
            metric_values(
                metrics, labels_from_targets(model, Y), model.outputs_to_predictions(A)
            )
        )
    return results


def evaluate(model, X, y, *, metrics=None, loss=None) -> dict:
    """``{"cost": J, metric: value}`` for rows ``X``, ``y`` (inference mode).

    ``metrics`` (names or callables; None: accuracy for a classifier, and r2,
    rmse and mae, :data:`glassnet.metrics.REGRESSION_METRICS`, for a linear
    output). A linear output is scored by the metrics of values only: the label
    metrics' names are skipped for it."""
    model._require_built()
    X, y = validate_data(model, X, y)
    loss = model.default_loss() if loss is None else losses_module.get(loss)
    Y = prepare_targets(model, y)
    return _scores(model, X, Y, loss, _metrics_for(model, metrics))


def _metrics_for(model, metrics) -> tuple:
    """The metrics ``evaluate`` reports for ``model`` (see :func:`evaluate`)."""
    from glassnet.metrics import REGRESSION_METRICS

    linear = model.output_activation == "linear"
    if metrics is None:
        return REGRESSION_METRICS if linear else ("accuracy",)
    if linear:
        return tuple(m for m in metrics if callable(m) or m in REGRESSION_METRICS)
    return tuple(metrics)


def validation_logs(model, X_val, Y_val, loss, metrics, regularizer=None) -> dict:
    """``val_cost`` and ``val_<metric>`` on checked validation rows and targets
    (the cost with fit's ``regularizer`` term, as the training cost has it)."""
    scores = _scores(model, X_val, Y_val, loss, metrics, regularizer)
    return {f"val_{key}": value for key, value in scores.items()}
