"""Checks on the label arrays that metrics read.

``y_true`` and ``y_pred`` arrive as 1-D arrays of class labels (ints, strings or
bools; an ``(m, 1)`` column is flattened); continuous values, NaN, mixed kinds and
mismatched lengths raise a ValueError that names the argument. A user-given
``labels`` list must match the kind of the labels in the data. (In a multi-label
matrix ``Y (m, k)`` an entry is missing when it is ``NaN`` or ``-1``:
:func:`glassnet.targets.label_present`.) Used by
:mod:`glassnet.metrics`, :mod:`glassnet._estimator_checks` and
:mod:`glassnet.strategy.error_analysis`.
"""

from __future__ import annotations

import numbers

import numpy as np


def _as_labels(y, name: str) -> np.ndarray:
    """Return ``y`` as a 1-D array of discrete labels, or raise a clear ValueError."""
    try:
        array = np.asarray(y)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} could not be read as an array: {error}") from None
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1:
        hint = ""
        if array.ndim == 2:
            hint = (
                "; for one-hot or probability rows pass y.argmax(axis=1), "
                "for a (1, m) row of labels pass y.ravel()"
            )
        raise ValueError(
            f"{name} must be a 1-D array of class labels of shape (m,); "
            f"received an array of shape {array.shape}{hint}"
        )
    if array.size == 0:
        raise ValueError(f"{name} is empty; metrics need at least one example")
    if array.dtype.kind == "O":
        values = array.tolist()
        if all(isinstance(v, (bool, np.bool_)) for v in values):
            array = array.astype(bool)
        elif all(isinstance(v, numbers.Real) for v in values):
            array = array.astype(np.float64)
        elif all(isinstance(v, str) for v in values):
            array = array.astype(str)
        else:
            kinds = sorted({type(v).__name__ for v in values})
            raise ValueError(
                f"{name} must hold labels of one kind (numbers, strings or bools); "
                f"received a mix of {', '.join(kinds)}"
            )
    if array.dtype.kind == "S":
        array = array.astype(str)
    kind = array.dtype.kind
    if kind == "f":
        if not np.isfinite(array).all():
            raise ValueError(f"{name} contains NaN or infinity; labels must be finite")
        fractional = array != np.round(array)
        if fractional.any():
            raise ValueError(
                f"{name} holds continuous values (e.g. {array[fractional][0]!r}); "
                "metrics take class labels: threshold probabilities first, e.g. "
                "(p > 0.5).astype(int), or take p.argmax(axis=1)"
            )
    elif kind not in "biuU":
        raise ValueError(
            f"{name} must hold class labels (ints, strings or bools); "
            f"received dtype {array.dtype}"
        )
    return array


def _is_text(array: np.ndarray) -> bool:
    return array.dtype.kind == "U"


def _check_targets(y_true, y_pred):
    """Validate both label arrays; return them and the sorted union of their labels."""
    y_true = _as_labels(y_true, "y_true")
    y_pred = _as_labels(y_pred, "y_pred")
    if len(y_true) != len(y_pred):
        raise ValueError(
            "y_true and y_pred must have the same number of examples; received "
            f"y_true with {len(y_true)} and y_pred with {len(y_pred)}"
        )
    if _is_text(y_true) != _is_text(y_pred):
        kinds = {True: "strings", False: "numbers"}
        raise ValueError(
            f"y_true holds {kinds[_is_text(y_true)]} but y_pred holds "
            f"{kinds[_is_text(y_pred)]}; labels must be of the same kind"
        )
    return y_true, y_pred, np.union1d(y_true, y_pred)


def _check_label_list(labels, present: np.ndarray) -> list:
    """Validate a user-given ``labels`` list against the labels in the data."""
    array = np.asarray(labels)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(
            f"labels must be a non-empty 1-D list of class labels; received {labels!r}"
        )
    if array.dtype.kind == "S":
        array = array.astype(str)
    if _is_text(array) != _is_text(present):
        raise ValueError(
            f"labels {array.tolist()!r} are not of the same kind as the labels in "
            f"y_true and y_pred ({present.tolist()[:10]!r})"
        )
    values = array.tolist()
    if len(set(values)) != len(values):
        raise ValueError(f"labels must not repeat; received labels={values!r}")
    return values
