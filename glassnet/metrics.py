"""Classification metrics (accuracy, precision, recall, F1, the confusion matrix) and
regression metrics (R^2, RMSE, MAE).

The notes' "single number evaluation metric": with TP, FP, FN the true positives,
false positives and false negatives of one class,

    precision P = TP / (TP + FP)          (of the predicted positives, how many are)
    recall    R = TP / (TP + FN)          (of the real positives, how many were found)
    F1          = 2 P R / (P + R) = 2 TP / (2 TP + FP + FN)   (harmonic mean)

Arguments follow scikit-learn: ``(y_true, y_pred)``, ``labels``, ``pos_label=1``,
``average="binary" | "macro" | "micro" | "weighted" | None`` (None gives one value per
class) and ``zero_division="warn" | 0 | 1 | nan``. Inputs are 1-D arrays of class
labels (ints, strings or bools; an ``(m, 1)`` column is accepted and flattened);
probabilities must be thresholded (or arg-maxed) first. When a denominator is 0 the
metric takes the ``zero_division`` value and, with ``"warn"``, an
:class:`UndefinedMetricWarning` says which labels were affected, as in scikit-learn.

:data:`METRICS` maps names to ``callable(y_true, y_pred)`` so a training loop can log
metrics by name (see :func:`get_metric`; :data:`REGRESSION_METRICS` are the names
for values rather than labels); :func:`multilabel_report` scores each task
of a multi-label problem with one of them, skipping the missing labels. The checks
on the label arrays live in :mod:`glassnet._label_checks`.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Callable

import numpy as np

from glassnet.targets import label_present

from ._label_checks import _check_label_list, _check_targets, _is_text
from .validation import check_choice

AVERAGES = ("binary", "macro", "micro", "weighted", None)


class UndefinedMetricWarning(UserWarning):
    """A metric's denominator was 0, so its ``zero_division`` value was returned."""


# ----------------------------------------------------------------------------- inputs


def _check_zero_division(zero_division) -> float:
    """Return the value used for an undefined metric (0.0 for ``"warn"``)."""
    if isinstance(zero_division, str) and zero_division == "warn":
        return 0.0
    if isinstance(zero_division, numbers.Real):
        if math.isnan(zero_division):
            return math.nan
        if zero_division in (0, 1):
            return float(zero_division)
    raise ValueError(
        "zero_division must be 'warn', 0, 1 or nan; "
        f"received zero_division={zero_division!r}"
    )


# ----------------------------------------------------------------------------- counts


def _class_counts(y_true, y_pred, present):
    """Per-class TP, predicted and true counts, indexed like ``present``."""
    k = len(present)
    true_index = np.searchsorted(present, y_true)
    pred_index = np.searchsorted(present, y_pred)
    true_count = np.bincount(true_index, minlength=k)
    pred_count = np.bincount(pred_index, minlength=k)
    tp_count = np.bincount(true_index[true_index == pred_index], minlength=k)
    return tp_count, pred_count, true_count


def _for_labels(counts: np.ndarray, present: np.ndarray, labels: list) -> np.ndarray:
    """Pick the counts of ``labels`` (0 for a label absent from the data)."""
    position = {value: i for i, value in enumerate(present.tolist())}
    rows = [position.get(label) for label in labels]
    return np.array([0 if r is None else counts[r] for r in rows], dtype=np.int64)


def _resolve_labels(present, average, labels, pos_label) -> list:
    """The labels a set-wise metric scores, following scikit-learn's rules."""
    check_choice("average", average, AVERAGES)
    if average == "binary":
        if len(present) > 2:
            shown = present.tolist()[:10]
            raise ValueError(
                f"average='binary' needs at most two classes, but y_true and y_pred "
                f"hold {len(present)} ({shown}); choose average='macro', 'micro', "
                "'weighted' or None"
            )
        if len(present) == 2 and pos_label not in present.tolist():
            raise ValueError(
                f"pos_label={pos_label!r} is not one of the labels "
                f"{present.tolist()}; set pos_label to the positive class"
            )
        return [pos_label]
    if pos_label not in (None, 1):
        warnings.warn(
            f"pos_label={pos_label!r} is ignored when average={average!r}; use "
            "labels=[pos_label] to score a single class",
            UserWarning,
            stacklevel=4,
        )
    return present.tolist() if labels is None else _check_label_list(labels, present)


def _divide(numerator, denominator, metric, missing, labels, average, zero_division):
    """``numerator / denominator`` with the ``zero_division`` value where it is 0."""
    value = _check_zero_division(zero_division)
    numerator = np.asarray(numerator, dtype=np.float64)
    mask = denominator == 0
    result = numerator / np.where(mask, 1, denominator)
    if mask.any():
        result[mask] = value
        if isinstance(zero_division, str):
            where = (
                "in the micro average"
                if average == "micro"
                else f"for label(s) {[labels[i] for i in np.flatnonzero(mask)]!r}"
            )
            warnings.warn(
                f"{metric} is ill-defined and set to 0.0 {where} with no {missing}; "
                "pass zero_division=0 or 1 to choose the value and silence this",
                UndefinedMetricWarning,
                stacklevel=4,
            )
    return result


def _average(values: np.ndarray, weights: np.ndarray, average):
    """Average per-class values (skipping NaN), or return them when average=None."""
    if average is None:
        return values
    keep = ~np.isnan(values)
    if not keep.any():
        return math.nan
    if average == "weighted" and weights[keep].sum() > 0:
        return float(np.average(values[keep], weights=weights[keep]))
    return float(values[keep].mean())


def _set_wise(metric, y_true, y_pred, labels, pos_label, average, zero_division):
    """Shared body of precision, recall and F1."""
    _check_zero_division(zero_division)
    y_true, y_pred, present = _check_targets(y_true, y_pred)
    scored = _resolve_labels(present, average, labels, pos_label)
    counts = _class_counts(y_true, y_pred, present)
    tp, predicted, true = (_for_labels(c, present, scored) for c in counts)
    if average == "micro":
        tp, predicted, true = (np.array([c.sum()]) for c in (tp, predicted, true))
    numerator, denominator, missing = {
        "precision": (tp, predicted, "predicted examples"),
        "recall": (tp, true, "true examples"),
        "F1": (2 * tp, true + predicted, "true nor predicted examples"),
    }[metric]
    values = _divide(
        numerator, denominator, metric, missing, scored, average, zero_division
    )
    return _average(values, true, average)


# ------------------------------------------------------------------- public metrics


def accuracy_score(y_true, y_pred) -> float:
    """Fraction of correct predictions: ``accuracy = (1/m) sum_i 1[y_pred_i == y_i]``.

    ``y_true`` and ``y_pred`` are label arrays of shape ``(m,)``.
    """
    y_true, y_pred, _ = _check_targets(y_true, y_pred)
    return float(np.mean(y_true == y_pred))


def error_rate(y_true, y_pred) -> float:
    """Fraction of wrong predictions: ``error = 1 - accuracy``."""
    return 1.0 - accuracy_score(y_true, y_pred)


def precision_score(
    y_true, y_pred, *, labels=None, pos_label=1, average="binary", zero_division="warn"
):
    """Precision ``P = TP / (TP + FP)``: of the examples predicted as a class, the
    fraction that truly are.

    ``average="binary"`` scores ``pos_label`` only (the data must have at most two
    classes); ``"macro"`` is the unweighted mean over classes, ``"weighted"`` the mean
    weighted by each class's support, ``"micro"`` pools TP and FP over classes, and
    ``None`` returns one value per label (in ``labels`` order, default: sorted).
    Undefined when nothing was predicted as the class (``TP + FP = 0``).
    """
    return _set_wise(
        "precision", y_true, y_pred, labels, pos_label, average, zero_division
    )


def recall_score(
    y_true, y_pred, *, labels=None, pos_label=1, average="binary", zero_division="warn"
):
    """Recall ``R = TP / (TP + FN)``: of the examples of a class, the fraction found.

    Averaging as in :func:`precision_score`. Undefined when the class never occurs in
    ``y_true`` (``TP + FN = 0``).
    """
    return _set_wise(
        "recall", y_true, y_pred, labels, pos_label, average, zero_division
    )


def f1_score(
    y_true, y_pred, *, labels=None, pos_label=1, average="binary", zero_division="warn"
):
    """F1, the harmonic mean of precision and recall:

        F1 = 2 P R / (P + R) = 2 TP / (2 TP + FP + FN)

    computed from the counts, so it is 0 (not undefined) when only one of P and R is
    undefined. Averaging as in :func:`precision_score` (macro F1 is the mean of the
    per-class F1 values). Undefined only when a class is neither true nor predicted.
    """
    return _set_wise("F1", y_true, y_pred, labels, pos_label, average, zero_division)


def confusion_matrix(y_true, y_pred, labels=None) -> np.ndarray:
    """Counts ``C[i, j]`` of examples of true class ``labels[i]`` predicted as
    ``labels[j]`` (rows: truth, columns: prediction), shape ``(k, k)``.

    ``labels`` (default: the sorted labels of both arrays) chooses and orders the
    classes; examples whose true or predicted label is not listed are left out.
    """
    y_true, y_pred, present = _check_targets(y_true, y_pred)
    if labels is None:
        labels = present.tolist()
    else:
        labels = _check_label_list(labels, present)
        if not set(labels) & set(np.unique(y_true).tolist()):
            raise ValueError(
                f"none of labels={labels!r} occurs in y_true "
                f"(which holds {np.unique(y_true).tolist()[:10]!r})"
            )
    k = len(labels)
    where = {value: i for i, value in enumerate(labels)}
    position = np.array([where.get(v, -1) for v in present.tolist()], dtype=np.int64)
    true_index = position[np.searchsorted(present, y_true)]
    pred_index = position[np.searchsorted(present, y_pred)]
    keep = (true_index >= 0) & (pred_index >= 0)
    flat = true_index[keep] * k + pred_index[keep]
    return np.bincount(flat, minlength=k * k).reshape(k, k)


# ------------------------------------------------------------------- regression


def _check_values(y_true, y_pred):
    """``y_true`` and ``y_pred`` as float64 ``(m, k)`` arrays of the same shape
    (``(m,)`` and ``(m, 1)`` are one output), finite, m >= 1."""
    arrays = []
    for name, values in (("y_true", y_true), ("y_pred", y_pred)):
        values = np.asarray(values)
        if values.dtype.kind not in "biuf" or values.ndim not in (1, 2):
            raise ValueError(
                f"{name} must be numeric values (m,) or (m, k); received "
                f"{values.dtype} of shape {values.shape}"
            )
        values = values.astype(np.float64)
        arrays.append(values.reshape(-1, 1) if values.ndim == 1 else values)
    Y, P = arrays
    if Y.shape != P.shape or len(Y) == 0:
        raise ValueError(
            f"y_true and y_pred must have the same shape, with at least one example; "
            f"received {np.shape(y_true)} and {np.shape(y_pred)}"
        )
    if not (np.isfinite(Y).all() and np.isfinite(P).all()):
        raise ValueError("y_true and y_pred must be finite values")
    return Y, P


def r2(y_true, y_pred) -> float:
    """The coefficient of determination, for values (regression)::

        SS_res = sum_i (y(i) - y_hat(i))^2
        SS_tot = sum_i (y(i) - y_bar)^2,     y_bar = (1/m) sum_i y(i)
        R^2    = 1 - SS_res / SS_tot

    1 for perfect predictions, 0 for always predicting ``y_bar`` (the mean of
    ``y_true`` itself), negative for worse. E.g. y = (1, 2, 3, 4), y_hat = (1, 2,
    3, 6): SS_res = 4, SS_tot = 5, R^2 = 0.2. For ``(m, k)`` values it is computed
    per output and averaged; an output whose ``y_true`` is constant (SS_tot = 0)
    scores 1 if predicted exactly, else 0 (as scikit-learn's ``r2_score``).
    """
    Y, P = _check_values(y_true, y_pred)
    residual = np.sum((Y - P) ** 2, axis=0)
    total = np.sum((Y - Y.mean(axis=0)) ** 2, axis=0)
    constant = total == 0
    scores = np.where(
        constant,
        (residual == 0).astype(np.float64),
        1.0 - residual / np.where(constant, 1.0, total),
    )
    return float(scores.mean())


def rmse(y_true, y_pred) -> float:
    """The root mean squared error, in the units of ``y``::

        RMSE = sqrt((1/m) sum_i (y(i) - y_hat(i))^2)

    E.g. y = (1, 2, 3, 4), y_hat = (1, 2, 3, 6): sqrt(4 / 4) = 1. For ``(m, k)``
    values, per output and averaged (as scikit-learn's
    ``root_mean_squared_error``). A linear output's cost ``1/(2m) sum ||a -
    y||^2`` is RMSE^2 / 2 on the same values.
    """
    Y, P = _check_values(y_true, y_pred)
    return float(np.mean(np.sqrt(np.mean((Y - P) ** 2, axis=0))))


def mae(y_true, y_pred) -> float:
    """The mean absolute error, in the units of ``y``::

        MAE = (1/m) sum_i |y(i) - y_hat(i)|

    E.g. y = (1, 2, 3, 4), y_hat = (1, 2, 3, 6): 2 / 4 = 0.5. For ``(m, k)``
    values, per output and averaged.
    """
    Y, P = _check_values(y_true, y_pred)
    return float(np.mean(np.abs(Y - P)))


#: the metrics of values (a linear output), reported for regression by ``evaluate``,
#: ``glassnet train`` and ``glassnet evaluate``; the others score labels
REGRESSION_METRICS = ("r2", "rmse", "mae")


# ----------------------------------------------------------------------- registry


def _is_zero_one(y_true, y_pred) -> bool:
    """True when every label is 0 or 1 (or a bool), the case "binary" scores."""
    _, _, present = _check_targets(y_true, y_pred)
    return not _is_text(present) and set(present.tolist()) <= {0, 1}


def _named(name: str, function: Callable, average: str | None) -> Callable:
    """A ``callable(y_true, y_pred)`` for the registry, with a readable name."""

    def metric(y_true, y_pred):
        chosen = average
        if chosen is None:
            chosen = "binary" if _is_zero_one(y_true, y_pred) else "macro"
        return function(y_true, y_pred, average=chosen)

    metric.__name__ = metric.__qualname__ = name
    metric.__doc__ = (
        f"{function.__name__} with average={average!r}"
        if average
        else f"{function.__name__}: binary (positive class 1) for 0/1 labels, "
        "otherwise macro-averaged"
    )
    return metric


METRICS: dict[str, Callable] = {
    "accuracy": accuracy_score,
    "error": error_rate,
    "precision": _named("precision", precision_score, None),
    "recall": _named("recall", recall_score, None),
    "f1": _named("f1", f1_score, None),
    "precision_macro": _named("precision_macro", precision_score, "macro"),
    "recall_macro": _named("recall_macro", recall_score, "macro"),
    "f1_macro": _named("f1_macro", f1_score, "macro"),
    "f1_micro": _named("f1_micro", f1_score, "micro"),
    "r2": r2,
    "rmse": rmse,
    "mae": mae,
}
"""Metric name -> ``callable(y_true, y_pred) -> float``.

"precision", "recall" and "f1" score the positive class 1 when every label is 0/1
(or a bool) and fall back to the macro average otherwise (multi-class or string
labels), so a training loop can log them on any classification data. "r2",
"rmse" and "mae" (:data:`REGRESSION_METRICS`) score values.
"""


def metric_names() -> tuple[str, ...]:
    """Names accepted by :func:`get_metric`."""
    return tuple(METRICS)


def get_metric(name) -> Callable:
    """Return the metric ``callable(y_true, y_pred) -> float`` called ``name``.

    A callable is returned unchanged, so user metrics can be passed where names are.
    """
    if callable(name):
        return name
    return METRICS[check_choice("metric", name, METRICS)]


def score_model(model, X, y, metric="accuracy") -> float:
    """Score ``model.predict(X)`` against ``y`` with ``metric`` (a name or callable).

    ``model`` is anything with ``predict(X) -> labels (m,)``; ``X`` is ``(m, n)``.
    """
    predict = getattr(model, "predict", None)
    if not callable(predict):
        raise TypeError(
            "model must have a predict(X) method; received an object of type "
            f"{type(model).__name__}"
        )
    return float(get_metric(metric)(y, predict(X)))


def multilabel_report(y_true, y_pred, metric="accuracy") -> dict[int, float]:
    """Per-task scores for multi-label targets, skipping the missing labels.

    ``y_true (m, k)`` holds 0/1 with ``NaN`` or ``-1`` for a missing label;
    ``y_pred (m, k)`` holds predicted 0/1 labels. For task ``j``::

        present_j  = {i : y_true[i, j] is neither NaN nor -1}
        report[j]  = metric(y_true[present_j, j], y_pred[present_j, j])

    ``metric`` is a name from :data:`METRICS` ("accuracy", "f1", ...) or a
    callable ``(y_true, y_pred) -> float``. A task with no labels present gets NaN.
    """
    from sklearn.utils.validation import check_array

    score = get_metric(metric)
    Y = check_array(
        y_true, dtype=np.float64, ensure_all_finite="allow-nan", input_name="y_true"
    )
    P = check_array(y_pred, dtype=None, input_name="y_pred")
    if P.shape != Y.shape:
        raise ValueError(
            f"y_true and y_pred must have the same shape (m, k); received "
            f"{Y.shape} and {P.shape}"
        )
    present = label_present(Y)
    report = {}
    for j in range(Y.shape[1]):
        rows = present[:, j]
        if not rows.any():
            report[j] = float("nan")
            continue
        report[j] = float(score(Y[rows, j].astype(np.int64), P[rows, j]))
    return report
